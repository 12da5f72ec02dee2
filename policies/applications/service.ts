/**
 * The application workflow ([HB-S] 11–13, 19–22): a consumer department applies; unconditional resources
 * without control parameters are granted by the platform at once and the provider is informed; the rest
 * are checked by the bureau (accept and forward, or reject with a reason) and then authorized by the
 * provider (possibly narrowed) or refused with a reason, and the consumer is told. The grant is made
 * through the GrantStore with the application as its source.
 */
import { randomUUID } from 'node:crypto';
import type { ActorRef, PublishedEntry } from '../../catalog/records.js';
import { cstDate } from '../../platform/plain-date.js';
import type { WorkdayCalendar } from '../calendar/calendar.js';
import type { StatutoryLimits } from '../calendar/limits.js';
import { type Grant, type GrantSource, validateGrantCreation } from '../grant.js';
import type { GrantStore } from '../grant-store.js';
import {
  ApplicationWriter,
  actorRecord,
  completeStage,
  grantActor,
  PLATFORM,
  PLATFORM_GRANTOR,
  type Plan,
  record,
} from './commit.js';
import {
  APPLICATION_ALREADY_DECIDED,
  APPLICATION_FORBIDDEN,
  APPLICATION_INVALID,
  APPLICATION_NOT_FOUND,
  APPLICATION_RESOURCE_UNAVAILABLE,
  APPLICATION_RESOURCE_UNKNOWN,
  APPLICATION_SYSTEM_UNKNOWN,
} from './errors.js';
import { applicationData, BUREAU_RECIPIENT, grantData, grantEvent, makeEvent, stageData } from './events.js';
import { type ApplicationPage, type ApplicationQuery, canView, listApplications } from './listing.js';
import type {
  Application,
  ApplicationFederation,
  ApplicationRequest,
  AuthorizationTerms,
  CheckDecision,
  OutboxEntry,
  Timer,
} from './schema.js';
import { currentStage, newStage, stageStart, stageTimers } from './stages.js';
import { isOpen, nextState, requireReason, type TransitionAction } from './state-machine.js';
import type { ApplicationStore } from './store.js';
import {
  authorizedGrant,
  checkItems,
  checkModesAndValidity,
  checkResourceOpen,
  consumerDeptOf,
  isDirectPath,
  requestedGrant,
} from './validation.js';

export interface ApplicationServiceDeps {
  store: ApplicationStore;
  grants: GrantStore;
  catalog: { publishedEntry(code: string): Promise<PublishedEntry | null> };
  systems: { getSystem(deptCode: string, systemId: string): Promise<unknown | null> };
  calendar: WorkdayCalendar;
  limits: StatutoryLimits;
  now: () => Date;
  /** Runs after every committed change (the gateway drains the outbox there). */
  afterCommit?: () => Promise<void>;
  /**
   * Applications for federated resources (service connector `federation`): throws unless an agreement in
   * force with the upper platform offers the resource to this one. Without it they are refused.
   */
  federation?: { admit(peerPlatformId: string, resourceCode: string): Promise<void> };
}

/** What the lower platform says of an application it forwards (verified by its signature upstream). */
export interface ReceivedApplication {
  peerPlatformId: string;
  agreementId: string;
  correlationId: string;
  /** The application's id on the lower platform. */
  peerApplicationId: string;
  /** The original department and system, and the official who filed it there. */
  deptCode: string;
  systemId: string;
  official: string;
  request: Omit<ApplicationRequest, 'deptCode' | 'renews'>;
}

/** A decision of the upper platform on a forwarded application, as its signed webhook states it. */
export interface PeerOutcome {
  peerPlatformId: string;
  peerApplicationId: string;
  transition: 'received' | 'accept' | 'reject' | 'authorize' | 'grant' | 'refuse' | 'close';
  reason?: string;
  /** The terms the upper platform granted (authorize, grant): never wider than what was applied for. */
  terms?: Pick<AuthorizationTerms, 'items' | 'modes' | 'validFrom' | 'validTo'>;
}

/** A lower platform's word that its consumer withdrew an application it forwarded here. */
export interface PeerWithdrawal {
  peerPlatformId: string;
  /** The application's id on the lower platform. */
  peerApplicationId: string;
  /** Who withdrew it there (the signed x-user-id). */
  official: string;
  reason: string;
}

/**
 * What became of a withdrawal sent to the upper platform: `withdrawn` there (now or before), `decided`
 * there before it arrived (a grant made there is revoked), `unknown` there (never taken: a forwarding still
 * under way is refused), or `undelivered` (the agreement ended, or the upper platform refused it outright).
 */
export interface UpperWithdrawal {
  outcome: 'withdrawn' | 'decided' | 'unknown' | 'undelivered';
  /** The upper platform's application, when it names it. */
  upperId?: string;
  /** What the upper platform said, for the history and the audit record. */
  said: string;
}

/** What a peer's withdrawal did here: withdrew the application now, or found it withdrawn already. */
export interface PeerWithdrawalResult {
  application: Application;
  applied: boolean;
}

/**
 * The source of a grant an application makes. An application a peer platform forwarded names that peer:
 * the grant then serves only calls the same peer forwards, never a department's own calls here.
 */
function applicationSource(app: Application): GrantSource {
  return {
    kind: 'application',
    applicationId: app.id,
    ...(app.federation?.role === 'received' ? { peerPlatformId: app.federation.peerPlatformId } : {}),
  };
}

/** The endpoint of a federated data service: `<peer platform id>/<resource code>`. */
function federatedPeer(entry: PublishedEntry['entry']): string | undefined {
  if (entry.service?.connector !== 'federation') return undefined;
  return entry.service.endpoint.slice(0, Math.max(0, entry.service.endpoint.indexOf('/'))) || undefined;
}

export class ApplicationService {
  readonly writer: ApplicationWriter;
  readonly #deps: ApplicationServiceDeps;

  constructor(deps: ApplicationServiceDeps) {
    this.#deps = deps;
    this.writer = new ApplicationWriter(deps.store, deps.now, deps.afterCommit ?? (async () => undefined));
  }

  get store(): ApplicationStore {
    return this.#deps.store;
  }

  /**
   * Validates and records an application; on the direct path the platform grants it at once. An
   * application for a federated resource always goes to this platform's bureau, then to the upper platform.
   */
  async submit(actor: ActorRef, request: ApplicationRequest): Promise<Application> {
    const deptCode = consumerDeptOf(actor, request);
    if ((await this.#deps.systems.getSystem(deptCode, request.systemId)) === null) {
      throw new APPLICATION_SYSTEM_UNKNOWN(
        `system ${request.systemId} is not registered under department ${deptCode}; ask the security administrator to register it first`,
      );
    }
    return this.#file(actor, deptCode, request);
  }

  /**
   * Records an application a lower platform forwarded, for the original department and system it names
   * (they are the lower platform's, not registered here): it starts at this platform's bureau with this
   * platform's clocks.
   */
  async receive(received: ReceivedApplication): Promise<Application> {
    const actor: ActorRef = {
      role: 'system',
      name: `${received.peerPlatformId}: ${received.official}`.slice(0, 200),
    };
    return this.#file(
      actor,
      received.deptCode,
      { ...received.request, deptCode: received.deptCode },
      {
        role: 'received',
        peerPlatformId: received.peerPlatformId,
        agreementId: received.agreementId,
        correlationId: received.correlationId,
        peerApplicationId: received.peerApplicationId,
        official: received.official,
      },
    );
  }

  async #file(
    actor: ActorRef,
    deptCode: string,
    request: ApplicationRequest,
    received?: ApplicationFederation,
  ): Promise<Application> {
    const deps = this.#deps;
    const published = await this.#published(request.resourceCode);
    checkResourceOpen(published);
    const { entry } = published;
    checkItems(entry, request.items);
    const now = deps.now();
    checkModesAndValidity(entry, request, now.getTime());
    if (request.renews !== undefined) await this.#checkRenewal(deptCode, request);
    const upstream = received ? undefined : federatedPeer(entry);
    let federation = received;
    if (upstream) {
      if (!deps.federation) {
        throw new APPLICATION_RESOURCE_UNAVAILABLE(
          `resource ${entry.code} is served by the federated platform ${upstream}, and this platform forwards no applications`,
        );
      }
      await deps.federation.admit(upstream, entry.code);
      federation = { role: 'forwarded', peerPlatformId: upstream, correlationId: `fapp-${randomUUID()}` };
    }

    const direct = !upstream && isDirectPath(entry, request.items);
    const action: TransitionAction = direct ? 'submitDirect' : 'submit';
    const seq = await deps.store.nextSequence();
    const app: Application = {
      id: `APP-${cstDate(now).replaceAll('-', '')}-${String(seq).padStart(6, '0')}`,
      consumerDept: deptCode,
      systemId: request.systemId,
      resourceCode: entry.code,
      resourceName: entry.name,
      resourceVersion: published.version,
      providerDept: entry.provider.code,
      items: entry.items.filter((i) => request.items.includes(i.name)).map((i) => i.name),
      purposes: [...request.purposes],
      reason: request.reason,
      modes: [...request.modes],
      ...(request.validFrom ? { validFrom: new Date(request.validFrom).toISOString() } : {}),
      validTo: new Date(request.validTo).toISOString(),
      ...(request.renews ? { renews: request.renews } : {}),
      ...(federation ? { federation } : {}),
      path: direct ? 'direct' : 'authorization',
      state: 'checking',
      submittedAt: now.toISOString(),
      submittedBy: actorRecord(actor),
      stages: [],
      history: [],
    };
    if (direct) {
      const source = { kind: 'application', applicationId: app.id } as const;
      validateGrantCreation(PLATFORM_GRANTOR, entry, requestedGrant(app), now.getTime(), source);
    }
    const stage = newStage(deps.calendar, deps.limits, direct ? 'directGrant' : 'check', 1, now);
    app.stages.push(stage);
    record(app, { action, from: null, to: nextState('new', action), stage: stage.seq }, actor, now);
    const recipients = direct ? [app.consumerDept] : [app.consumerDept, app.providerDept, BUREAU_RECIPIENT];
    const outbox: OutboxEntry = {
      events: [
        makeEvent(
          'application.received',
          now,
          recipients,
          applicationData(app, { path: app.path, ...stageData(stage) }),
        ),
      ],
    };
    const start = stageStart(app, stage, now);
    if (start.timers) outbox.timers = start.timers;
    outbox.events!.push(...(start.events ?? []));
    await this.writer.create(app, outbox);
    return direct ? this.grantDirect(app.id) : app;
  }

  /**
   * The platform's direct grant of an application in `granting`; a no-op in any other state. `byClock`:
   * made on the platform's own initiative (a retry at a timer), not within a person's request, so its
   * audit record rides the outbox with the change (see PlatformAuditEntry).
   */
  async grantDirect(id: string, options: { byClock?: boolean } = {}): Promise<Application> {
    return this.#deps.store.exclusive(id, async () => {
      const read = await this.#deps.store.read(id);
      if (!read) throw new APPLICATION_NOT_FOUND(`no application has id "${id}"`);
      if (read.app.state !== 'granting') return read.app;
      const published = await this.#published(read.app.resourceCode);
      checkResourceOpen(published);
      const grant = await this.#deps.grants.create(
        PLATFORM_GRANTOR,
        published.entry,
        requestedGrant(read.app),
        {
          source: applicationSource(read.app),
        },
      );
      return this.#decide(id, 'grant', PLATFORM, grant, undefined, (app, at) => ({
        events: [
          makeEvent(
            'application.granted',
            at,
            [app.consumerDept, app.providerDept],
            applicationData(app, grantData(grant)),
          ),
        ],
        ...(options.byClock
          ? {
              audit: [
                {
                  action: 'application.grant',
                  at: at.toISOString(),
                  detail: { application: app.id, grant: grant.id },
                },
              ],
            }
          : {}),
      }));
    });
  }

  /** The platform's retry of a direct grant that did not happen at submission; the application if granted now. */
  async retryDirectGrant(id: string): Promise<Application | undefined> {
    const read = await this.#deps.store.read(id);
    if (read?.app.state !== 'granting') return undefined;
    const app = await this.grantDirect(id, { byClock: true });
    return app.state === 'granted' ? app : undefined;
  }

  /** The bureau's normative check: accept and forward to the provider, or reject with a reason. */
  async check(actor: ActorRef, id: string, decision: CheckDecision): Promise<Application> {
    if (actor.role !== 'bureau') {
      throw new APPLICATION_FORBIDDEN(`role ${actor.role} cannot check applications; the bureau does`);
    }
    const action: TransitionAction = decision.outcome === 'accept' ? 'accept' : 'reject';
    const reason = requireReason(action, decision.reason);
    return this.writer.update(id, (app, at) => {
      const stage = currentStage(app)!;
      const to = nextState(app.state, action, `application ${id}`);
      completeStage(stage, action, at);
      const outbox: OutboxEntry = { cancel: stageTimers(app, stage).map((t) => t.id) };
      if (action === 'accept') {
        const authorize = newStage(this.#deps.calendar, this.#deps.limits, 'authorize', stage.seq + 1, at);
        app.stages.push(authorize);
        record(app, { action, to, stage: stage.seq, ...(reason ? { reason } : {}) }, actor, at);
        const start = stageStart(app, authorize, at);
        if (start.timers) outbox.timers = start.timers;
        // A federated resource's provider decides on the upper platform: forward it there now.
        if (app.federation?.role === 'forwarded') {
          outbox.timers = [...(outbox.timers ?? []), forwardTimer(app, at)];
        }
        outbox.events = [
          makeEvent(
            'application.checked',
            at,
            [app.consumerDept, app.providerDept],
            applicationData(app, { outcome: 'accept', ...stageData(authorize) }),
          ),
          ...(start.events ?? []),
        ];
      } else {
        app.decidedAt = at.toISOString();
        record(app, { action, to, stage: stage.seq, reason }, actor, at);
        outbox.events = [
          makeEvent(
            'application.checked',
            at,
            [app.consumerDept],
            applicationData(app, { outcome: 'reject', reason }),
          ),
        ];
      }
      return { next: app, outbox };
    });
  }

  /** The provider authorizes, possibly narrowing items, modes, validity, and adding masking or quotas. */
  async authorize(
    actor: ActorRef,
    id: string,
    terms: AuthorizationTerms,
  ): Promise<{ application: Application; grant: Grant }> {
    return this.#deps.store.exclusive(id, async () => {
      const app = await this.#readForProvider(actor, id, 'authorize');
      const published = await this.#published(app.resourceCode);
      if (published.status !== 'active') {
        throw new APPLICATION_RESOURCE_UNAVAILABLE(
          `resource ${app.resourceCode} is ${published.status}: refuse the application instead`,
        );
      }
      const request = authorizedGrant(app, terms, this.#deps.now().getTime());
      const grant = await this.#deps.grants.create(grantActor(actor), published.entry, request, {
        source: applicationSource(app),
      });
      const application = await this.#decide(id, 'authorize', actor, grant, terms.reason, (next, at) => ({
        events: [
          makeEvent(
            'application.authorized',
            at,
            [next.consumerDept, BUREAU_RECIPIENT],
            applicationData(next, { ...grantData(grant), ...(terms.reason ? { reason: terms.reason } : {}) }),
          ),
        ],
      }));
      return { application, grant };
    });
  }

  /** The provider refuses with a stated reason ([HB-S] 20). */
  async refuse(actor: ActorRef, id: string, reason: string | undefined): Promise<Application> {
    return this.#deps.store.exclusive(id, async () => {
      const stated = requireReason('refuse', reason)!;
      await this.#readForProvider(actor, id, 'refuse');
      return this.#decide(id, 'refuse', actor, undefined, stated, (app, at) => ({
        events: [
          makeEvent(
            'application.refused',
            at,
            [app.consumerDept, BUREAU_RECIPIENT],
            applicationData(app, { reason: stated }),
          ),
        ],
      }));
    });
  }

  /** The consumer withdraws a pending application. */
  async withdraw(actor: ActorRef, id: string, reason?: string): Promise<Application> {
    return this.#deps.store.exclusive(id, async () => {
      return this.writer.update(id, (app, at) => {
        if (actor.role !== 'dept-admin' || actor.dept !== app.consumerDept) {
          throw new APPLICATION_FORBIDDEN(
            `only an administrator of the consumer department ${app.consumerDept} may withdraw application ${id}`,
          );
        }
        const accepted = app.federation?.role === 'forwarded' && app.state === 'authorizing';
        const plan = this.#end(app, 'withdraw', actor, at, reason);
        if (accepted) {
          // Forwarded (or being forwarded) to the upper platform: tell it too, retried until it answers.
          plan.outbox!.cancel!.push(forwardTimer(app, at).id);
          plan.outbox!.timers = [forwardWithdrawTimer(app, at)];
        }
        return plan;
      });
    });
  }

  /**
   * The lower platform's consumer withdrew an application it forwarded here: it ends as withdrawn through
   * the same step as a local withdrawal (its clock cancelled, whoever was waiting told), once — a repeat
   * finds it withdrawn (`applied: false`). One decided here before the withdrawal arrived stays decided and
   * APPLICATION_ALREADY_DECIDED is thrown; when it was granted, the grant it made is revoked first (once),
   * since the department no longer wants it and no application stands behind it. `before` runs right
   * before anything changes (the audit record: if it throws, nothing changes).
   */
  async withdrawByPeer(
    id: string,
    withdrawal: PeerWithdrawal,
    before: (app: Application) => Promise<void>,
  ): Promise<PeerWithdrawalResult> {
    return this.#deps.store.exclusive(id, async () => {
      const read = await this.#deps.store.read(id);
      const federation = read?.app.federation;
      if (
        !read ||
        federation?.role !== 'received' ||
        federation.peerPlatformId !== withdrawal.peerPlatformId ||
        federation.peerApplicationId !== withdrawal.peerApplicationId
      ) {
        throw new APPLICATION_NOT_FOUND(
          `${withdrawal.peerPlatformId} forwarded no application ${withdrawal.peerApplicationId} here`,
        );
      }
      const app = read.app;
      const key = `${withdrawal.peerPlatformId}:${withdrawal.peerApplicationId}:withdraw`;
      const actor: ActorRef = {
        role: 'system',
        name: `${withdrawal.peerPlatformId}: ${withdrawal.official}`.slice(0, 200),
      };
      const reason = `withdrawn on ${withdrawal.peerPlatformId}: ${withdrawal.reason}`.slice(0, 2000);
      if (app.state === 'withdrawn') return { application: app, applied: false };
      if (isOpen(app.state)) {
        await before(app);
        const application = await this.writer.update(id, (next, at) => {
          if (next.state === 'withdrawn') return undefined;
          if (!isOpen(next.state)) throw alreadyDecided(next, withdrawal.peerPlatformId);
          const plan = this.#end(next, 'withdraw', actor, at, reason);
          plan.next.history.at(-1)!.peer = key;
          return plan;
        });
        return { application, applied: application.history.at(-1)?.peer === key };
      }
      if (app.state === 'granted' && app.grantId && !app.history.some((h) => h.peer === key)) {
        // Granted before the withdrawal arrived: no live grant may outlast the application behind it.
        await before(app);
        const grant = await this.#deps.grants.get(app.grantId);
        const revoked =
          grant && (grant.status === 'active' || grant.status === 'suspended')
            ? await this.#deps.grants.setStatus(grantActor(actor), grant.id, 'revoked', reason)
            : undefined;
        await this.writer.update(id, (next, at) => {
          if (next.history.some((h) => h.peer === key)) return undefined;
          const grantId = next.grantId!;
          record(next, { action: 'peer-withdraw', peer: key, reason, grantId }, actor, at);
          return {
            next,
            outbox: revoked
              ? {
                  events: [
                    {
                      ...grantEvent('grant.revoked', revoked, at, reason),
                      recipients: [revoked.providerCode, BUREAU_RECIPIENT],
                    },
                  ],
                }
              : {},
          };
        });
      }
      throw alreadyDecided(app, withdrawal.peerPlatformId);
    });
  }

  /** The platform ends an open application (its resource was withdrawn). */
  async close(id: string, reason: string): Promise<Application> {
    return this.#deps.store.exclusive(id, async () => {
      return this.writer.update(id, (app, at) => this.#end(app, 'close', PLATFORM, at, reason));
    });
  }

  /**
   * The upper platform took a forwarded application (its id there): recorded once, with the clock of this
   * platform's stage unchanged. Returns undefined when the application is not waiting to be forwarded.
   */
  async markForwarded(
    id: string,
    peerApplicationId: string,
    agreementId: string,
  ): Promise<Application | undefined> {
    let changed = false;
    const app = await this.writer.update(id, (app, at) => {
      const federation = app.federation;
      if (federation?.role !== 'forwarded' || federation.forwardedAt) return undefined;
      if (app.state !== 'authorizing') return undefined;
      federation.peerApplicationId = peerApplicationId;
      federation.agreementId = agreementId;
      federation.forwardedAt = at.toISOString();
      const stage = currentStage(app)?.seq;
      const peer = peerKey(app, peerApplicationId, 'forward');
      record(app, { action: 'forward', ...(stage ? { stage } : {}), peer }, PLATFORM, at);
      changed = true;
      // The platform's own step: its audit record is committed with it (appended by the outbox relay).
      return {
        next: app,
        outbox: {
          audit: [
            {
              action: 'application.forward',
              at: at.toISOString(),
              detail: {
                application: app.id,
                resource: app.resourceCode,
                federation: {
                  correlationId: federation.correlationId,
                  peer: federation.peerPlatformId,
                  peerApplicationId,
                  agreementId,
                },
              },
            },
          ],
        },
      };
    });
    return changed ? app : undefined;
  }

  /**
   * The upper platform would not take a forwarded application (its agreement no longer offers the
   * resource, or it refused the application as filed): refused here with its reason, audited with it.
   */
  async notTaken(id: string, reason: string): Promise<Application> {
    return this.#deps.store.exclusive(id, async () =>
      this.#decide(id, 'refuse', PLATFORM, undefined, reason, (app, at) => ({
        events: [
          makeEvent(
            'application.refused',
            at,
            [app.consumerDept, BUREAU_RECIPIENT],
            applicationData(app, { reason }),
          ),
        ],
        audit: [
          {
            action: 'application.refuse',
            at: at.toISOString(),
            detail: {
              application: app.id,
              reason,
              ...(app.federation
                ? {
                    federation: {
                      correlationId: app.federation.correlationId,
                      peer: app.federation.peerPlatformId,
                    },
                  }
                : {}),
            },
          },
        ],
      })),
    );
  }

  /**
   * A forwarded application withdrawn here after this platform's bureau accepted it, whose withdrawal the
   * upper platform has not answered yet, with the reason to send.
   */
  async awaitingPeerWithdrawal(id: string): Promise<{ app: Application; reason: string } | undefined> {
    const app = (await this.#deps.store.read(id))?.app;
    if (app?.federation?.role !== 'forwarded' || app.state !== 'withdrawn') return undefined;
    if (app.history.some((h) => h.action === 'peer-withdraw')) return undefined;
    const entry = app.history.findLast((h) => h.action === 'withdraw');
    if (entry?.from !== 'authorizing') return undefined;
    return { app, reason: entry.reason ?? 'withdrawn by the consumer department (no reason stated)' };
  }

  /**
   * The upper platform's answer to this platform's withdrawal: recorded once in the history (a repeated
   * answer changes nothing), with its audit record committed with it. Returns undefined when already recorded.
   */
  async markPeerWithdrawn(id: string, answer: UpperWithdrawal): Promise<Application | undefined> {
    let changed = false;
    const app = await this.writer.update(id, (app, at) => {
      const federation = app.federation;
      if (federation?.role !== 'forwarded' || app.state !== 'withdrawn') return undefined;
      if (app.history.some((h) => h.action === 'peer-withdraw')) return undefined;
      const upperId = answer.upperId ?? federation.peerApplicationId;
      const upper: ActorRef = {
        role: 'dept-admin',
        dept: app.providerDept,
        name: `${federation.peerPlatformId} (upper platform)`,
      };
      const peer = peerKey(app, upperId ?? app.id, 'withdraw');
      record(app, { action: 'peer-withdraw', peer, reason: `${answer.outcome}: ${answer.said}` }, upper, at);
      changed = true;
      return {
        next: app,
        outbox: {
          audit: [
            {
              action: 'application.peer-withdraw',
              at: at.toISOString(),
              detail: {
                application: app.id,
                outcome: answer.outcome,
                said: answer.said,
                federation: {
                  correlationId: federation.correlationId,
                  peer: federation.peerPlatformId,
                  ...(upperId ? { peerApplicationId: upperId } : {}),
                  ...(federation.agreementId ? { agreementId: federation.agreementId } : {}),
                },
              },
            },
          ],
        },
      };
    });
    return changed ? app : undefined;
  }

  /** A forwarded application waiting to be forwarded (accepted here, not yet taken upstream). */
  async awaitingForward(id: string): Promise<Application | undefined> {
    const read = await this.#deps.store.read(id);
    const app = read?.app;
    return app?.federation?.role === 'forwarded' && !app.federation.forwardedAt && app.state === 'authorizing'
      ? app
      : undefined;
  }

  /**
   * Applies the upper platform's decision on a forwarded application, once per (application, transition):
   * a repeated delivery finds the transition in the history and changes nothing (`applied: false`). Its
   * authorization makes this platform's grant with the terms it granted (fewer items when it authorized
   * fewer); its rejection or refusal refuses the application here with its reason; its closing closes it.
   */
  async applyPeerOutcome(
    id: string,
    outcome: PeerOutcome,
  ): Promise<{ application: Application; applied: boolean; grant?: Grant }> {
    return this.#deps.store.exclusive(id, async () => {
      const read = await this.#deps.store.read(id);
      if (!read) throw new APPLICATION_NOT_FOUND(`no application has id "${id}"`);
      const app = read.app;
      const federation = app.federation;
      if (
        federation?.role !== 'forwarded' ||
        federation.peerPlatformId !== outcome.peerPlatformId ||
        (federation.peerApplicationId !== undefined &&
          federation.peerApplicationId !== outcome.peerApplicationId)
      ) {
        throw new APPLICATION_FORBIDDEN(
          `application ${id} was not forwarded to ${outcome.peerPlatformId} as ${outcome.peerApplicationId}`,
        );
      }
      const key = peerKey(app, outcome.peerApplicationId, outcome.transition);
      if (app.history.some((entry) => entry.peer === key)) return { application: app, applied: false };
      const upper: ActorRef = {
        role: 'dept-admin',
        dept: app.providerDept,
        name: `${outcome.peerPlatformId} (upper platform)`,
      };
      const stated = outcome.reason?.trim() || undefined;
      switch (outcome.transition) {
        case 'received':
        case 'accept': {
          // Progress upstream: noted in the history while the application waits here.
          if (app.state !== 'authorizing') return { application: app, applied: false };
          const application = await this.writer.update(id, (next, at) => {
            // The upper platform's id may arrive here before its answer to the forwarding does.
            next.federation!.peerApplicationId ??= outcome.peerApplicationId;
            const stage = currentStage(next)?.seq;
            const entry = { action: `peer-${outcome.transition}`, ...(stage ? { stage } : {}), peer: key };
            record(next, stated ? { ...entry, reason: stated } : entry, upper, at);
            return { next };
          });
          return { application, applied: true };
        }
        case 'authorize':
        case 'grant': {
          // Withdrawn or closed here meanwhile: the upper platform's grant to the department stays unused.
          if (app.state !== 'authorizing') return { application: app, applied: false };
          const published = await this.#published(app.resourceCode);
          const terms = { ...outcome.terms };
          // The upper platform's grant starts when it was made there; here it starts now at the earliest.
          if (
            terms.validFrom !== undefined &&
            (app.validFrom === undefined || Date.parse(terms.validFrom) < Date.parse(app.validFrom))
          )
            delete terms.validFrom;
          const request = authorizedGrant(app, terms, this.#deps.now().getTime());
          const grant = await this.#deps.grants.create(grantActor(upper), published.entry, request, {
            source: { kind: 'application', applicationId: id },
          });
          const reason =
            stated ??
            (request.items.length < app.items.length
              ? `${outcome.peerPlatformId} authorized ${request.items.join(', ')} of the items applied for`
              : undefined);
          const application = await this.#decide(
            id,
            'authorize',
            upper,
            grant,
            reason,
            (next, at) => ({
              events: [
                makeEvent(
                  'application.authorized',
                  at,
                  [next.consumerDept, BUREAU_RECIPIENT],
                  applicationData(next, grantData(grant)),
                ),
              ],
            }),
            key,
          );
          return { application, applied: true, grant };
        }
        case 'reject':
        case 'refuse': {
          if (app.state !== 'authorizing') return { application: app, applied: false };
          const who = outcome.transition === 'reject' ? 'bureau' : 'provider';
          const reason = `${outcome.peerPlatformId}'s ${who} ${outcome.transition === 'reject' ? 'rejected' : 'refused'} it: ${stated ?? 'no reason given'}`;
          const application = await this.#decide(
            id,
            'refuse',
            upper,
            undefined,
            reason,
            (next, at) => ({
              events: [
                makeEvent(
                  'application.refused',
                  at,
                  [next.consumerDept, BUREAU_RECIPIENT],
                  applicationData(next, { reason }),
                ),
              ],
            }),
            key,
          );
          return { application, applied: true };
        }
        case 'close': {
          if (!isOpen(app.state)) return { application: app, applied: false };
          const reason = `closed by ${outcome.peerPlatformId}: ${stated ?? 'no reason given'}`;
          const application = await this.writer.update(id, (next, at) => {
            const plan = this.#end(next, 'close', PLATFORM, at, reason);
            plan.next.history.at(-1)!.peer = key;
            return plan;
          });
          return { application, applied: true };
        }
      }
    });
  }

  async get(actor: ActorRef, id: string): Promise<Application> {
    const read = await this.#deps.store.read(id);
    if (!read) throw new APPLICATION_NOT_FOUND(`no application has id "${id}"`);
    if (!canView(actor, read.app)) {
      throw new APPLICATION_FORBIDDEN(
        `application ${id} concerns departments ${read.app.consumerDept} and ${read.app.providerDept}; you act for ${actor.dept ?? actor.role}`,
      );
    }
    return read.app;
  }

  list(actor: ActorRef, query: ApplicationQuery): Promise<ApplicationPage> {
    return listApplications(this.#deps.store, actor, query, this.#deps.now().getTime());
  }

  /** Withdraw or close: ends the current stage and tells whoever was waiting on it. */
  #end(
    app: Application,
    action: 'withdraw' | 'close',
    by: ActorRef,
    at: Date,
    reason: string | undefined,
  ): Plan {
    const to = nextState(app.state, action, `application ${app.id}`);
    const stated = requireReason(action, reason);
    const stage = currentStage(app)!;
    const waiting = app.state === 'authorizing' ? app.providerDept : BUREAU_RECIPIENT;
    completeStage(stage, action, at);
    record(app, { action, to, stage: stage.seq, ...(stated ? { reason: stated } : {}) }, by, at);
    const recipients = action === 'close' ? [app.consumerDept, waiting] : [waiting];
    const type = action === 'close' ? 'application.closed' : 'application.withdrawn';
    return {
      next: app,
      outbox: {
        cancel: stageTimers(app, stage).map((t) => t.id),
        events: [makeEvent(type, at, recipients, applicationData(app, stated ? { reason: stated } : {}))],
      },
    };
  }

  /**
   * Records a decision (grant, authorize, refuse) and, for the provider's answers, the platform's notice
   * to the consumer (1 working day, met at once: the event is committed with the decision). A grant
   * made for an application that changed meanwhile (e.g. withdrawn) is revoked again.
   */
  async #decide(
    id: string,
    action: 'grant' | 'authorize' | 'refuse',
    actor: ActorRef,
    grant: Grant | undefined,
    reason: string | undefined,
    announce: (app: Application, at: Date) => OutboxEntry,
    peer?: string,
  ): Promise<Application> {
    try {
      return await this.writer.update(id, (app, at) => {
        const to = nextState(app.state, action, `application ${id}`);
        const stage = currentStage(app)!;
        completeStage(stage, action, at);
        app.decidedAt = at.toISOString();
        if (grant) app.grantId = grant.id;
        record(
          app,
          {
            action,
            to,
            stage: stage.seq,
            ...(reason ? { reason } : {}),
            ...(grant ? { grantId: grant.id } : {}),
            ...(peer ? { peer } : {}),
          },
          actor,
          at,
        );
        if (action !== 'grant') {
          const notify = newStage(this.#deps.calendar, this.#deps.limits, 'notify', stage.seq + 1, at);
          completeStage(notify, 'notify', at);
          app.stages.push(notify);
        }
        return {
          next: app,
          outbox: { ...announce(app, at), cancel: stageTimers(app, stage).map((t) => t.id) },
        };
      });
    } catch (err) {
      if (grant) {
        await this.#deps.grants.setStatus(
          PLATFORM_GRANTOR,
          grant.id,
          'revoked',
          `application ${id} changed before it was decided`,
        );
      }
      throw err;
    }
  }

  async #readForProvider(actor: ActorRef, id: string, action: 'authorize' | 'refuse'): Promise<Application> {
    const read = await this.#deps.store.read(id);
    if (!read) throw new APPLICATION_NOT_FOUND(`no application has id "${id}"`);
    const { app } = read;
    if (actor.role !== 'dept-admin' || actor.dept !== app.providerDept) {
      throw new APPLICATION_FORBIDDEN(
        `only an administrator of the provider department ${app.providerDept} may ${action} application ${id}`,
      );
    }
    nextState(app.state, action, `application ${id}`);
    return app;
  }

  async #published(code: string): Promise<PublishedEntry> {
    const published = await this.#deps.catalog.publishedEntry(code);
    if (!published) throw new APPLICATION_RESOURCE_UNKNOWN(`no published resource has code ${code}`);
    return published;
  }

  async #checkRenewal(deptCode: string, request: ApplicationRequest): Promise<void> {
    const grant = await this.#deps.grants.get(request.renews!);
    if (!grant) throw new APPLICATION_INVALID(`renews: no grant has id "${request.renews}"`);
    if (grant.deptCode !== deptCode) {
      throw new APPLICATION_FORBIDDEN(
        `renews: grant ${grant.id} belongs to department ${grant.deptCode}, not yours`,
      );
    }
    if (grant.systemId !== request.systemId || grant.resourceCode !== request.resourceCode) {
      throw new APPLICATION_INVALID(
        `renews: grant ${grant.id} is for system ${grant.systemId} and resource ${grant.resourceCode}; a renewal keeps both`,
      );
    }
  }
}

/** The deterministic id of the forwarding timer of an application accepted here. */
export function forwardTimer(app: Application, at: Date): Timer {
  return { id: `${app.id}.forward`, kind: 'forward', runAt: at.getTime(), applicationId: app.id };
}

/** The deterministic id of the timer that tells the upper platform of a withdrawal here. */
export function forwardWithdrawTimer(app: Application, at: Date): Timer {
  return {
    id: `${app.id}.forward-withdraw`,
    kind: 'forward-withdraw',
    runAt: at.getTime(),
    applicationId: app.id,
  };
}

function alreadyDecided(app: Application, peer: string) {
  const revoked = app.state === 'granted' && app.grantId ? `; its grant ${app.grantId} is revoked` : '';
  return new APPLICATION_ALREADY_DECIDED(
    `application ${app.id} was already ${app.state} here when ${peer} withdrew it: it stays ${app.state}${revoked}`,
  );
}

/** The key under which a peer's transition is applied once: `<platform>:<its application id>:<action>`. */
function peerKey(app: Application, peerApplicationId: string, action: string): string {
  return `${app.federation!.peerPlatformId}:${peerApplicationId}:${action}`;
}
