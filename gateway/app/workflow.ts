/**
 * The application workflow composed for a gateway or worker process: the applications service with its
 * statutory clocks, resource status changes, webhook notifications, statistics, the BullMQ queues, and
 * (in the worker) their workers. Gateways only enqueue; `startWorkers` runs the jobs.
 *
 *   const workflow = createWorkflow(context, { calendar, limits: { region: 'hubei' } });
 *   await workflow.startWorkers();   // in `govshare worker`
 *   await workflow.close();
 */
import { randomUUID } from 'node:crypto';
import { Queue, type Worker } from 'bullmq';
import { type Logger, pino } from 'pino';
import { parseEffectiveFrom } from '../../catalog/lifecycle.js';
import type { ActorRef, ResourceStatus } from '../../catalog/records.js';
import type { ConnectorRegistry } from '../../connectors/registry.js';
import { forwardApplication, withdrawForwardedApplication } from '../../federation/applications.js';
import { type DeliveryJob, Notifier, type NotifierOptions } from '../../notifications/notifier.js';
import { OutboxRelay, type PlatformAuditAppend, scheduleTimer } from '../../notifications/outbox-relay.js';
import { WebhookStore } from '../../notifications/store.js';
import { createRedisClient, type RedisClient } from '../../platform/redis.js';
import { openStageTimers, recomputeProvisional } from '../../policies/applications/clock.js';
import { PLATFORM } from '../../policies/applications/commit.js';
import { BUREAU_RECIPIENT, makeEvent } from '../../policies/applications/events.js';
import { GrantChanges } from '../../policies/applications/grant-changes.js';
import { type ResourceChangeOutcome, ResourceChanges } from '../../policies/applications/resource-changes.js';
import type { Timer, WorkflowEvent } from '../../policies/applications/schema.js';
import { ApplicationService } from '../../policies/applications/service.js';
import { ApplicationStore } from '../../policies/applications/store.js';
import { WorkdayCalendar } from '../../policies/calendar/calendar.js';
import {
  type RegionLimitsConfig,
  type RegionName,
  resolveLimits,
  type StatutoryLimits,
} from '../../policies/calendar/limits.js';
import { loadCalendarOverrides } from '../../policies/calendar/overrides.js';
import { type CaseLimits, CaseService } from '../../policies/cases/service.js';
import { CaseStore } from '../../policies/cases/store.js';
import type { GrantStore } from '../../policies/grant-store.js';
import { checkNotice } from '../../policies/notice.js';
import { ObjectionService } from '../../policies/objections/service.js';
import { ObjectionStore } from '../../policies/objections/store.js';
import { StatsReports } from '../../policies/stats/report.js';
import { StatsService } from '../../policies/stats/service.js';
import { scheduleAvailabilityProbes, startAvailabilityWorker } from '../jobs/availability.js';
import {
  checkCalendarEnd,
  type SystemAudit,
  scheduleCalendarCheck,
  startDeadlineWorker,
} from '../jobs/deadlines.js';
import { bullPrefix, QUEUE_NAMES } from '../jobs/queues.js';
import { type StatsReportJob, scheduleStatsReports, startStatsReportWorker } from '../jobs/stats-report.js';
import { startWebhookWorker } from '../jobs/webhooks.js';
import type { CatalogRouteHooks } from '../routes/catalog.js';
import type { GovshareConfig } from './config.js';
import type { GatewayContext } from './context.js';

/** Refusals after which forwarding an application is not retried: the application is refused here. */
const FINAL_FORWARD_REFUSALS = new Set([
  'UPSTREAM_PLATFORM_REFUSED',
  'FEDERATION_RESOURCE_NOT_OFFERED',
  'FEDERATION_AGREEMENT_INACTIVE',
]);

export interface WorkflowOptions {
  /** The working-day calendar (with the operator's overrides). @defaultValue the built-in table */
  calendar?: WorkdayCalendar;
  /** Region profile and limit overrides. @defaultValue Hubei */
  limits?: RegionLimitsConfig;
  /** @defaultValue context.grants */
  grants?: GrantStore;
  /** Connectors to probe for the availability statistics. @defaultValue context.connectors */
  connectors?: ConnectorRegistry;
  /** Webhook delivery: attempts, backoff, timeout. */
  webhooks?: NotifierOptions;
  /** How often the worker re-drains the outbox (crash recovery). @defaultValue 5000 */
  relayIntervalMs?: number;
  /** How often provider data services are probed. @defaultValue 300_000 (5 minutes) */
  probeEveryMs?: number;
  /** Audit records for changes the platform makes in the worker, outside any request. @defaultValue admin records in context.audit */
  auditSystem?: SystemAudit;
  log?: Logger;
}

export interface StartWorkersOptions {
  /** @defaultValue true */
  deadlines?: boolean;
  /** @defaultValue true */
  webhooks?: boolean;
  /** @defaultValue true */
  availability?: boolean;
  /** The monthly statistics report. @defaultValue true */
  reports?: boolean;
}

export interface Workflow {
  applications: ApplicationService;
  /** Objections to shared records and their answer deadlines (policies/objections). */
  objections: ObjectionService;
  /** Disputes, rectification orders and catalog change events with their clocks (policies/cases). */
  cases: CaseService;
  resources: ResourceChanges;
  /** Suspension and revocation of one grant with advance notice (policies/applications/grant-changes.ts). */
  grantChanges: GrantChanges;
  /** The platform's notice period in working days (GOVSHARE_NOTICE_WORKDAYS). */
  noticeWorkdays: number;
  notifications: Notifier;
  stats: StatsService;
  /** The signed monthly statistics reports and their delivery to every department. */
  reports: StatsReports;
  grants: GrantStore;
  calendar: WorkdayCalendar;
  limits: StatutoryLimits;
  queues: {
    deadlines: Queue<Timer>;
    webhooks: Queue<DeliveryJob>;
    availability: Queue;
    statsReports: Queue<StatsReportJob>;
  };
  /** Call from the catalog routes after a suspend, resume or withdraw was recorded. */
  onResourceStatusChanged(
    code: string,
    status: ResourceStatus,
    reason: string,
    actor: ActorRef,
    effectiveFrom?: Date,
  ): Promise<ResourceChangeOutcome>;
  /** The catalog routes' hooks (gateway/routes/catalog.ts): grants follow the declared status. */
  catalogHooks: CatalogRouteHooks;
  /** Commits events to the outbox and delivers them (inboxes and webhooks), e.g. a direct grant's notice. */
  announce(events: WorkflowEvent[]): Promise<void>;
  /** Moves committed events and timers to the queues (done after every change; exposed for the worker and tests). */
  drainOutbox(): Promise<number>;
  /** For /ready and the logs: the calendar lacks this year, or (from October) next year. */
  calendarWarning(): string | undefined;
  /** Warns the bureau when the calendar runs out within 60 days (the deadlines worker runs it daily). */
  calendarCheck(): Promise<unknown>;
  startWorkers(options?: StartWorkersOptions): Promise<Worker[]>;
  close(): Promise<void>;
}

export function createWorkflow(context: GatewayContext, options: WorkflowOptions = {}): Workflow {
  const { redis, prefix, now } = context;
  const log = options.log ?? pino({ level: context.config.GOVSHARE_LOG_LEVEL, name: 'workflow' });
  const calendar = options.calendar ?? new WorkdayCalendar();
  // The platform's recheck of an objection (GOVSHARE_OBJECTION_RECHECK_WORKDAYS) unless the options set it.
  const limits = {
    objectionRecheck: context.config.GOVSHARE_OBJECTION_RECHECK_WORKDAYS,
    ...resolveLimits(options.limits),
  };
  const grants = options.grants ?? context.grants;
  const connectors = options.connectors ?? context.connectors;
  const auditSystem =
    options.auditSystem ??
    (async (action, detail, at = {}) => {
      await context.audit.append({
        time: (at.time ?? now()).toISOString(),
        requestId: at.requestId ?? `worker-${randomUUID()}`,
        instance: context.audit.instance,
        kind: 'admin',
        actor: { person: PLATFORM.name, role: 'system' },
        action,
        decision: 'allow',
        status: 200,
        latencyMs: 0,
        detail,
      });
    });
  const store = new ApplicationStore(redis, prefix);
  const queuePrefix = bullPrefix(prefix);
  const queues = {
    deadlines: new Queue<Timer>(QUEUE_NAMES.deadlines, { connection: redis, prefix: queuePrefix }),
    webhooks: new Queue<DeliveryJob>(QUEUE_NAMES.webhooks, { connection: redis, prefix: queuePrefix }),
    availability: new Queue(QUEUE_NAMES.availability, { connection: redis, prefix: queuePrefix }),
    statsReports: new Queue<StatsReportJob>(QUEUE_NAMES.statsReports, {
      connection: redis,
      prefix: queuePrefix,
    }),
  };
  const signer = {
    keyId: context.platform.signingCertX509.serialNumber.toLowerCase(),
    signer: context.platform.platformSigner,
  };
  const notifications = new Notifier(new WebhookStore(redis, prefix), queues.webhooks, signer, now, {
    targets: { allowLoopback: context.config.GOVSHARE_WEBHOOK_ALLOW_LOOPBACK },
    ...options.webhooks,
  });
  const appendPlatformAudit: PlatformAuditAppend = (entry, requestId) =>
    auditSystem(entry.action, entry.detail, { time: new Date(entry.at), requestId });
  const relay = new OutboxRelay(
    'applications',
    store,
    queues.deadlines,
    notifications,
    appendPlatformAudit,
    now,
  );
  const objectionStore = new ObjectionStore(redis, prefix);
  const objectionRelay = new OutboxRelay(
    'objections',
    objectionStore,
    queues.deadlines,
    notifications,
    appendPlatformAudit,
    now,
  );
  const caseStore = new CaseStore(redis, prefix);
  const caseRelay = new OutboxRelay(
    'cases',
    caseStore,
    queues.deadlines,
    notifications,
    appendPlatformAudit,
    now,
  );
  const drainBoth = async () =>
    (await relay.drain()) + (await objectionRelay.drain()) + (await caseRelay.drain());
  const afterCommit = async () => {
    try {
      await drainBoth();
    } catch (err) {
      // Committed changes stay in the outbox; the worker's periodic drain delivers them.
      log.warn({ err }, 'outbox drain failed; the worker will retry');
    }
  };
  const applications = new ApplicationService({
    store,
    grants,
    catalog: context.catalog,
    systems: context.certs,
    calendar,
    limits,
    now,
    afterCommit,
    federation: {
      async admit(peer, code) {
        await context.federation.offering(peer, code);
      },
    },
  });
  const forwardApplicationNow = async (id: string): Promise<'done' | 'stale'> => {
    const app = await applications.awaitingForward(id);
    if (!app) return 'stale';
    try {
      const taken = await forwardApplication(context.federation, app);
      await applications.markForwarded(id, taken.id, taken.agreementId);
      return 'done';
    } catch (err) {
      const error = err as Error & { code?: string };
      // Final answers: the agreement no longer carries the resource, or the upper platform refused it.
      if (error.code && FINAL_FORWARD_REFUSALS.has(error.code)) {
        // Withdrawn here meanwhile (FEDERATION_APPLICATION_WITHDRAWN upstream): nothing left to refuse.
        if (!(await applications.awaitingForward(id))) return 'stale';
        await applications.notTaken(id, `the upper platform did not take the application: ${error.message}`);
        return 'done';
      }
      throw err;
    }
  };
  const withdrawForwardedNow = async (id: string): Promise<'done' | 'stale'> => {
    const pending = await applications.awaitingPeerWithdrawal(id);
    if (!pending) return 'stale';
    const answer = await withdrawForwardedApplication(context.federation, pending.app, pending.reason);
    if (answer.outcome === 'undelivered') {
      log.warn(
        { application: id, said: answer.said },
        'the upper platform could not be told of a withdrawal',
      );
    }
    await applications.markPeerWithdrawn(id, answer);
    return 'done';
  };
  const resources = new ResourceChanges({
    store,
    grants,
    catalog: context.catalog,
    close: (id, reason) => applications.close(id, reason),
    now,
    afterCommit,
  });
  const objections = new ObjectionService({
    store: objectionStore,
    grants,
    catalog: context.catalog,
    calendar,
    limits,
    now,
    afterCommit,
  });
  const cases = new CaseService({
    store: caseStore,
    limits: caseLimitsOf(context.config),
    calendar,
    now,
    isKnownDepartment: async (code) => (await context.certs.getDepartment(code)) !== null,
    async publishedVersion(code) {
      const loaded = await context.catalog.store.load(code);
      const current = loaded?.current;
      if (!loaded || !current) return undefined;
      return {
        providerCode: loaded.resource.providerCode,
        publishedAt: current.reviewedAt ?? current.createdAt,
      };
    },
    afterCommit,
    joint: {
      subjectSecret: context.platform.subjectHmacKey,
      async itemOf(code, semanticId) {
        const published = await context.catalog.publishedEntry(code);
        const item = published?.entry.items.find((i) => i.semanticId === semanticId);
        return published && item ? { dept: published.entry.provider.code, item: item.name } : undefined;
      },
      async sourceOf(semanticId) {
        const { redis: catalogRedis, keys } = context.catalog.store;
        return (await catalogRedis.hget(keys.itemSources, semanticId)) ?? undefined;
      },
    },
  });
  const stats = new StatsService({
    redis,
    prefix,
    applications: store,
    calendar,
    now,
    feedback: context.feedback,
  });
  const announce = async (events: WorkflowEvent[]) => {
    if (events.length === 0) return;
    await store.appendOutbox({ events });
    await afterCommit();
  };
  const reports = new StatsReports({
    redis,
    prefix,
    stats,
    signer: context.platform.platformSigner,
    certificatePem: context.platform.signingCertPem,
    now,
    departments: async () => (await context.certs.listDepartments()).map((d) => d.code),
    announce,
  });
  const calendarCheck = () => checkCalendarEnd({ calendar, now, log, announce });
  const noticeWorkdays = context.config.GOVSHARE_NOTICE_WORKDAYS;
  const grantChanges = new GrantChanges({
    grants,
    calendar,
    noticeWorkdays,
    now,
    outbox: async (entry) => {
      await store.appendOutbox(entry);
      await afterCommit();
    },
  });

  const workers: Worker[] = [];
  const connections: RedisClient[] = [];
  let relayTimer: NodeJS.Timeout | undefined;
  const workerConnection = () => {
    const connection = createRedisClient(context.config.GOVSHARE_REDIS_URL, {
      maxRetriesPerRequest: null,
      connectionName: `govshare:${context.config.GOVSHARE_INSTANCE_ID}:worker`,
    });
    connections.push(connection);
    return connection;
  };

  return {
    applications,
    objections,
    cases,
    resources,
    grantChanges,
    noticeWorkdays,
    notifications,
    stats,
    reports,
    grants,
    calendar,
    limits,
    queues,
    onResourceStatusChanged: (code, status, reason, actor, effectiveFrom) =>
      resources.onResourceStatusChanged(code, status, reason, actor, effectiveFrom),
    catalogHooks: {
      // A catalog change event of the provider is met by this version ([HC-R] 13).
      async onVersionPublished(code) {
        // The approval stands whatever happens here; an event left open can still be closed by hand.
        await cases.onVersionPublished(code).catch((err) => {
          log.warn({ err, resource: code }, 'closing catalog change events after an approval failed');
        });
      },
      async checkNotice(code, action, effectiveFrom, emergency, actor) {
        const at = now();
        let requested: Date | undefined;
        try {
          requested = parseEffectiveFrom(effectiveFrom, at, { required: true });
        } catch {
          // The catalog service refuses a malformed or past date with its own message.
          return { emergency: false };
        }
        const what = `${action === 'suspend' ? 'suspending' : 'withdrawing'} resource ${code}`;
        const notice = checkNotice(calendar, noticeWorkdays, at, requested, emergency, what);
        if (!notice.emergency) return { emergency: false };
        // Reported by the route after the emergency's audit record and before the change is filed.
        const report = () =>
          announce([
            makeEvent('change.emergency', at, [BUREAU_RECIPIENT], {
              subject: 'resource',
              resourceCode: code,
              action,
              effectiveFrom: notice.effectiveFrom.toISOString(),
              emergency,
              by: actor,
            }),
          ]);
        return { emergency: true, report };
      },
      // The declaration just filed says what the status becomes and from when.
      async onResourceStatusChanged(code, action, reason, actor) {
        const loaded = await context.catalog.store.load(code);
        if (!loaded) return;
        const { declared, effectiveFrom } = loaded.resource.status;
        const stated = reason ?? loaded.resource.status.reason ?? `${action} by ${actor.name}`;
        await resources.onResourceStatusChanged(code, declared, stated, actor, new Date(effectiveFrom));
      },
    },
    announce,
    drainOutbox: drainBoth,
    calendarWarning: () => calendar.missingNextYearWarning(now()),
    calendarCheck,

    async startWorkers(start: StartWorkersOptions = {}) {
      const moved = await recomputeProvisional(applications.writer, calendar);
      if (moved > 0) log.info({ moved }, 'provisional deadlines recomputed with the calendar');
      for (const timer of await openStageTimers(applications.writer))
        await scheduleTimer(queues.deadlines, timer, now());
      const objectionClocks = await objections.recoverClocks();
      if (objectionClocks.moved > 0)
        log.info({ moved: objectionClocks.moved }, 'objection deadlines recomputed');
      for (const timer of objectionClocks.timers) await scheduleTimer(queues.deadlines, timer, now());
      for (const timer of await cases.openTimers()) await scheduleTimer(queues.deadlines, timer, now());
      const corrections = await cases.recoverCorrections();
      if (corrections > 0) log.info({ corrections }, 'correction orders of joint verifications filed');
      // Entries waiting for the audit trail keep waiting; the periodic drain below retries them.
      await drainBoth().catch((err) => log.warn({ err }, 'outbox drain at start failed; retrying'));
      const warning = calendar.missingNextYearWarning(now());
      if (warning) log.warn(warning);

      if (start.deadlines ?? true) {
        const deps = {
          applications,
          resources,
          grantChanges,
          objections,
          cases,
          now,
          log,
          auditSystem,
          calendarCheck,
          forwardApplication: forwardApplicationNow,
          withdrawForwarded: withdrawForwardedNow,
        };
        await scheduleCalendarCheck(queues.deadlines);
        workers.push(startDeadlineWorker(deps, workerConnection(), queuePrefix));
      }
      if (start.webhooks ?? true)
        workers.push(startWebhookWorker(notifications, workerConnection(), queuePrefix, log));
      if (start.availability ?? true) {
        const probeDeps = { catalog: context.catalog, connectors, probes: stats.probes, now, announce };
        await scheduleAvailabilityProbes(queues.availability, options.probeEveryMs ?? 300_000);
        workers.push(startAvailabilityWorker(probeDeps, workerConnection(), queuePrefix, log));
      }
      if (start.reports ?? true) {
        await scheduleStatsReports(queues.statsReports);
        workers.push(startStatsReportWorker(reports, now, workerConnection(), queuePrefix, log, auditSystem));
      }
      relayTimer = setInterval(() => {
        drainBoth().catch((err) => log.warn({ err }, 'periodic outbox drain failed'));
      }, options.relayIntervalMs ?? 5000);
      relayTimer.unref();
      await Promise.all(workers.map((w) => w.waitUntilReady()));
      return [...workers];
    },

    async close() {
      if (relayTimer) clearInterval(relayTimer);
      await Promise.allSettled(workers.map((w) => w.close()));
      await drainBoth().catch(() => 0);
      await Promise.allSettled(Object.values(queues).map((q) => q.close()));
      await notifications.close();
      await Promise.allSettled(connections.map((c) => c.quit()));
    },
  };
}

/** The working-day limits of disputes, rectification orders, catalog change events and joint verifications, as configured. */
export function caseLimitsOf(config: GovshareConfig): CaseLimits {
  return {
    disputeDecision: config.GOVSHARE_DISPUTE_DECISION_WORKDAYS,
    rectification: config.GOVSHARE_RECTIFICATION_WORKDAYS,
    catalogUpdate: config.GOVSHARE_CATALOG_UPDATE_WORKDAYS,
    catalogUpdateReminder: config.GOVSHARE_CATALOG_UPDATE_REMIND_WORKDAYS,
    jointVerification: config.GOVSHARE_JOINT_VERIFICATION_WORKDAYS,
  };
}

/** The workflow's calendar and region limits from GOVSHARE_CALENDAR_FILE and GOVSHARE_REGION. */
export async function workflowSettings(
  config: GovshareConfig,
): Promise<Pick<WorkflowOptions, 'calendar' | 'limits'>> {
  const calendar = config.GOVSHARE_CALENDAR_FILE
    ? new WorkdayCalendar({
        overrides: await loadCalendarOverrides(config.GOVSHARE_CALENDAR_FILE),
        overridesOrigin: config.GOVSHARE_CALENDAR_FILE,
      })
    : undefined;
  return { ...(calendar ? { calendar } : {}), limits: { region: config.GOVSHARE_REGION as RegionName } };
}
