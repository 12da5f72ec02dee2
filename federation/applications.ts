/**
 * Forwarded applications (province ↔ city cascade): an application for a federated resource, filed and
 * checked on the lower platform, is forwarded to the upper platform's procedure as a signed call of the
 * lower platform (the original department, system and official in signed origin headers, the correlation
 * id both platforms audit every transition under). The upper platform records it once per lower-platform
 * application id (`ForwardedApplications`), and tells the outcome back by signed webhooks (notifications/),
 * which the lower platform applies once per transition (policies/applications/service.ts).
 */
import { type Static, Type } from '@sinclair/typebox';
import type { RedisClient } from '../platform/redis.js';
import type { Application } from '../policies/applications/schema.js';
import { ApplicationRequest } from '../policies/applications/schema.js';
import type { UpperWithdrawal } from '../policies/applications/service.js';
import type { FederationConnectorFactory } from './connector.js';
import { type PeerPlatformError, peerError } from './errors.js';

/** The path of the upper platform's route that takes forwarded applications. */
export const FORWARDED_APPLICATIONS_PATH = '/v1/federation/applications';
/** The path of the upper platform's route that takes a lower platform's withdrawal of one it forwarded. */
export const FORWARDED_WITHDRAWALS_PATH = '/v1/federation/applications/withdrawals';
/** The path of the lower platform's route that takes the upper platform's application events. */
export const APPLICATION_EVENTS_PATH = '/v1/federation/applications/events';

/** The event types the upper platform sends back: the decisions on a forwarded application. */
export const FORWARDED_EVENT_TYPES = [
  'application.received',
  'application.checked',
  'application.granted',
  'application.authorized',
  'application.refused',
  'application.closed',
] as const;

/** What the lower platform sends: the application as filed there, and its id there. */
export const ForwardedApplication = Type.Composite(
  [
    Type.Omit(ApplicationRequest, ['deptCode', 'renews']),
    Type.Object({
      peerApplicationId: Type.String({
        pattern: '^APP-[0-9]{8}-[0-9]{6,}$',
        description: "The application's id on the lower platform (events name it back)",
      }),
    }),
  ],
  { additionalProperties: false },
);
export type ForwardedApplication = Static<typeof ForwardedApplication>;

/** What the lower platform sends when its consumer withdrew an application it forwarded. */
export const ForwardedWithdrawal = Type.Object(
  {
    peerApplicationId: Type.String({
      pattern: '^APP-[0-9]{8}-[0-9]{6,}$',
      description: "The application's id on the lower platform, as it was forwarded",
    }),
    reason: Type.String({
      minLength: 1,
      maxLength: 2000,
      description:
        "The consumer's stated reason on the lower platform, or the platform's note that none was given",
    }),
  },
  { additionalProperties: false },
);
export type ForwardedWithdrawal = Static<typeof ForwardedWithdrawal>;

/** What became of a withdrawal sent upstream (policies/applications/service.ts records it). */
export type WithdrawalOutcome = UpperWithdrawal;

const OFFICIAL = /^[\x20-\x7e]{1,128}$/;

/** The official as an x-user-id value: the account name, percent-encoded when it is not plain ASCII. */
export function officialHeader(name: string): string {
  if (OFFICIAL.test(name)) return name;
  let encoded = '';
  for (const char of name) {
    const next = encodeURIComponent(char);
    if (encoded.length + next.length > 128) break;
    encoded += next;
  }
  return encoded || 'unknown';
}

/**
 * Forwards an application accepted by this platform's bureau to the upper platform its federated entry
 * names; resolves to the upper platform's id and state of it. Throws UPSTREAM_PLATFORM_* when the upper
 * platform is unreachable (retried) or refuses it (final: the caller refuses the application here).
 */
export async function forwardApplication(
  factory: FederationConnectorFactory,
  app: Application,
): Promise<{ id: string; state: string; agreementId: string }> {
  const federation = app.federation;
  if (federation?.role !== 'forwarded') throw new RangeError(`application ${app.id} is not a forwarded one`);
  const link = await factory.offering(federation.peerPlatformId, app.resourceCode);
  const payload: ForwardedApplication = {
    peerApplicationId: app.id,
    systemId: app.systemId,
    resourceCode: app.resourceCode,
    items: [...app.items],
    purposes: [...app.purposes],
    reason: app.reason,
    modes: [...app.modes],
    ...(app.validFrom ? { validFrom: app.validFrom } : {}),
    validTo: app.validTo,
  };
  const answer = (await factory.send(link, {
    path: FORWARDED_APPLICATIONS_PATH,
    payload,
    origin: {
      deptCode: app.consumerDept,
      systemId: app.systemId,
      purpose: app.purposes[0]!,
      userId: officialHeader(app.submittedBy.name),
    },
    correlationId: federation.correlationId,
    signedResponse: true,
  })) as { id?: unknown; state?: unknown };
  if (typeof answer.id !== 'string' || !/^APP-[0-9]{8}-[0-9]{6,}$/.test(answer.id)) {
    throw peerError(
      'UPSTREAM_PLATFORM_UNAVAILABLE',
      federation.peerPlatformId,
      'took the application without answering its id',
    );
  }
  return { id: answer.id, state: String(answer.state ?? ''), agreementId: link.agreementId };
}

/** Answers after which a withdrawal is not sent again (the agreement ended, the upper platform refused it). */
const FINAL_WITHDRAWAL_REFUSALS = new Set([
  'UPSTREAM_PLATFORM_REFUSED',
  'FEDERATION_AGREEMENT_INACTIVE',
  'FEDERATION_AGREEMENT_NOT_FOUND',
]);

/**
 * Tells the upper platform that this platform's consumer withdrew a forwarded application (by this
 * platform's id of it, so it reaches the upper platform even when its answer to the forwarding was lost).
 * Throws UPSTREAM_PLATFORM_UNAVAILABLE / _TIMEOUT / _SIGNATURE_INVALID while it cannot be told (retried);
 * resolves to what became of it otherwise.
 */
export async function withdrawForwardedApplication(
  factory: FederationConnectorFactory,
  app: Application,
  reason: string,
): Promise<WithdrawalOutcome> {
  const federation = app.federation;
  if (federation?.role !== 'forwarded') throw new RangeError(`application ${app.id} is not a forwarded one`);
  const payload: ForwardedWithdrawal = { peerApplicationId: app.id, reason };
  try {
    // The agreement in force with the peer, whatever it offers now: a withdrawal is always let through.
    const link = await factory.peers.activeWith(federation.peerPlatformId);
    const answer = (await factory.send(link, {
      path: FORWARDED_WITHDRAWALS_PATH,
      payload,
      origin: {
        deptCode: app.consumerDept,
        systemId: app.systemId,
        purpose: app.purposes[0]!,
        userId: officialHeader(withdrawnBy(app)),
      },
      correlationId: federation.correlationId,
      signedResponse: true,
    })) as { id?: unknown; state?: unknown };
    const upperId = typeof answer.id === 'string' && APPLICATION_ID.test(answer.id) ? answer.id : undefined;
    return {
      outcome: 'withdrawn',
      ...(upperId ? { upperId } : {}),
      said: `withdrawn on ${federation.peerPlatformId}${upperId ? ` as ${upperId}` : ''}`,
    };
  } catch (err) {
    const error = err as PeerPlatformError;
    if (!error.code || !FINAL_WITHDRAWAL_REFUSALS.has(error.code)) throw err;
    if (error.upstreamCode === 'APPLICATION_ALREADY_DECIDED')
      return { outcome: 'decided', said: error.message.slice(0, 1000) };
    if (error.upstreamCode === 'APPLICATION_NOT_FOUND')
      return { outcome: 'unknown', said: error.message.slice(0, 1000) };
    return { outcome: 'undelivered', said: error.message.slice(0, 1000) };
  }
}

const APPLICATION_ID = /^APP-[0-9]{8}-[0-9]{6,}$/;

/** The name of whoever withdrew the application here (its last withdraw entry), else its applicant. */
function withdrawnBy(app: Application): string {
  const entry = app.history.findLast((h) => h.action === 'withdraw');
  return entry?.by.name ?? app.submittedBy.name;
}

/**
 * Which application of this platform a lower platform's application became, so forwarding it again
 * (a retry after a lost answer) returns the one recorded. Keys share the {federation} hash tag.
 */
export class ForwardedApplications {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(peer: string, peerApplicationId: string): string {
    return `${this.prefix}{federation}:fapp:${peer}:${peerApplicationId}`;
  }

  async get(peer: string, peerApplicationId: string): Promise<string | undefined> {
    return (await this.redis.get(this.key(peer, peerApplicationId))) ?? undefined;
  }

  /**
   * Records the application a forwarding became. Returns false, recording nothing, when the lower
   * platform withdrew it meanwhile (markWithdrawnBeforeTaken came first): the caller withdraws it here.
   */
  async set(peer: string, peerApplicationId: string, id: string): Promise<boolean> {
    const key = this.key(peer, peerApplicationId);
    const previous = (await this.redis.set(key, id, 'GET')) as string | null;
    if (previous !== WITHDRAWN_BEFORE_TAKEN) return true;
    await this.redis.set(key, WITHDRAWN_BEFORE_TAKEN);
    return false;
  }

  /**
   * A withdrawal of an application never taken here (its forwarding may still be under way): marked, so
   * that forwarding it afterwards is refused rather than leaving an application nobody wants. Returns the
   * application id when a forwarding recorded one first, else undefined.
   */
  async markWithdrawnBeforeTaken(peer: string, peerApplicationId: string): Promise<string | undefined> {
    // SET NX GET: marks an absent key, or reads what a forwarding recorded first, in one command.
    const previous = (await this.redis.set(
      this.key(peer, peerApplicationId),
      WITHDRAWN_BEFORE_TAKEN,
      'NX',
      'GET',
    )) as string | null;
    return previous === null || previous === WITHDRAWN_BEFORE_TAKEN ? undefined : previous;
  }
}

/** The value of a ForwardedApplications key whose application was withdrawn before it was taken here. */
export const WITHDRAWN_BEFORE_TAKEN = 'withdrawn-before-taken';
