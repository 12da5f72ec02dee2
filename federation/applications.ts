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
import type { FederationConnectorFactory } from './connector.js';
import { peerError } from './errors.js';

/** The path of the upper platform's route that takes forwarded applications. */
export const FORWARDED_APPLICATIONS_PATH = '/v1/federation/applications';
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

  async set(peer: string, peerApplicationId: string, id: string): Promise<void> {
    await this.redis.set(this.key(peer, peerApplicationId), id);
  }
}
