/**
 * The deadlines worker: one processor for the statutory clock timers (reminder, overdue, escalation) of
 * applications and objections, and for resource status changes filed for a later date. The processor
 * reads the time from the platform clock, not from BullMQ: a job that runs before its time by that clock
 * (the clock moved, or a test promoted it) is put back to wait the remaining time. Handlers are idempotent, so a job that runs
 * twice, or for a stage that has ended, changes nothing.
 */
import { DelayedError, type Job, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { RedisClient } from '../../platform/redis.js';
import { fireStageTimer, type TimerOutcome } from '../../policies/applications/clock.js';
import type { ResourceChanges } from '../../policies/applications/resource-changes.js';
import type { Timer } from '../../policies/applications/schema.js';
import type { ApplicationService } from '../../policies/applications/service.js';
import type { CaseService } from '../../policies/cases/service.js';
import type { ObjectionService } from '../../policies/objections/service.js';
import { QUEUE_NAMES } from './queues.js';

export interface DeadlineProcessorDeps {
  applications: ApplicationService;
  resources: ResourceChanges;
  /** Answer deadlines of objections (timers with `objectionId`). */
  objections?: ObjectionService;
  /** Deadlines of disputes, rectification orders and catalog change events (timers with `caseId`). */
  cases?: CaseService;
  now: () => Date;
  log: Logger;
  /**
   * Audit hook for changes the platform makes without a request (e.g. the gateway's AuditWriter): a
   * resource status change taking effect. The clock timers of applications and objections, and a
   * direct grant retried at a timer, do not use it: their records are committed with the change and
   * appended by the outbox relay.
   */
  auditSystem?: SystemAudit;
}

/** Appends the audit record of a change the platform made without a request (time: now unless given). */
export type SystemAudit = (
  action: string,
  detail: Record<string, unknown>,
  options?: { time?: Date; requestId?: string },
) => Promise<void>;

export async function processTimer(deps: DeadlineProcessorDeps, timer: Timer): Promise<TimerOutcome> {
  if (timer.kind === 'resource-status') {
    const outcome = await deps.resources.fireTimer(timer);
    if (outcome === 'done') {
      await deps.auditSystem?.('resource.status.apply', {
        resource: timer.resourceCode,
        status: timer.status,
      });
    }
    return outcome;
  }
  if (timer.caseId !== undefined) {
    return deps.cases ? await deps.cases.fireTimer(timer) : 'stale';
  }
  if (timer.objectionId !== undefined) {
    return deps.objections ? await deps.objections.fireTimer(timer) : 'stale';
  }
  if (timer.applicationId && (timer.kind === 'remind' || timer.kind === 'overdue')) {
    // A direct grant that failed at submission is retried by the platform at its clock's timers.
    try {
      await deps.applications.retryDirectGrant(timer.applicationId);
    } catch (err) {
      deps.log.warn({ err, application: timer.applicationId }, 'direct grant retry failed');
    }
  }
  return fireStageTimer(deps.applications.writer, timer);
}

export function deadlineProcessor(deps: DeadlineProcessorDeps) {
  return async (job: Job<Timer>, token?: string): Promise<TimerOutcome> => {
    const timer = job.data;
    const outcome = await processTimer(deps, timer);
    if (outcome === 'early' && token) {
      await job.moveToDelayed(Date.now() + Math.max(0, timer.runAt - deps.now().getTime()), token);
      throw new DelayedError();
    }
    return outcome;
  };
}

export function startDeadlineWorker(
  deps: DeadlineProcessorDeps,
  connection: RedisClient,
  prefix: string,
  concurrency = 4,
): Worker<Timer, TimerOutcome> {
  const worker = new Worker<Timer, TimerOutcome>(QUEUE_NAMES.deadlines, deadlineProcessor(deps), {
    connection,
    prefix,
    concurrency,
  });
  worker.on('failed', (job, err) => deps.log.error({ err, job: job?.id }, 'deadline job failed'));
  worker.on('error', (err) => deps.log.error({ err }, 'deadline worker error'));
  return worker;
}
