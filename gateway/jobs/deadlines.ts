/**
 * The deadlines worker: one processor for the statutory clock timers (reminder, overdue, escalation) of
 * applications and objections, and for resource status changes filed for a later date. The processor
 * reads the time from the platform clock, not from BullMQ: a job that runs before its time by that clock
 * (the clock moved, or a test promoted it) is put back to wait the remaining time. Handlers are idempotent, so a job that runs
 * twice, or for a stage that has ended, changes nothing. A daily job on the same queue checks how soon the
 * working-day calendar runs out and warns the bureau 60 days ahead (a deadline in an unknown year cannot
 * be computed, so the applications concerned would wait).
 */
import { DelayedError, type Job, type Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { RedisClient } from '../../platform/redis.js';
import { fireStageTimer, type TimerOutcome } from '../../policies/applications/clock.js';
import { BUREAU_RECIPIENT, makeEvent } from '../../policies/applications/events.js';
import type { GrantChanges } from '../../policies/applications/grant-changes.js';
import type { ResourceChanges } from '../../policies/applications/resource-changes.js';
import type { Timer, WorkflowEvent } from '../../policies/applications/schema.js';
import type { ApplicationService } from '../../policies/applications/service.js';
import type { TableEnd, WorkdayCalendar } from '../../policies/calendar/calendar.js';
import type { CaseService } from '../../policies/cases/service.js';
import type { ObjectionService } from '../../policies/objections/service.js';
import { QUEUE_NAMES } from './queues.js';

export interface DeadlineProcessorDeps {
  applications: ApplicationService;
  resources: ResourceChanges;
  /** Scheduled suspensions and revocations of single grants (timers of kind grant-status). */
  grantChanges?: GrantChanges;
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
  /** Runs the calendar check (jobs named CALENDAR_CHECK_JOB); see checkCalendarEnd. */
  calendarCheck?: () => Promise<unknown>;
  /**
   * Forwards an application for a federated resource to the upper platform (timers of kind forward,
   * and again at its stage's reminder and overdue timers while it was not taken). Throws to be retried.
   */
  forwardApplication?: (id: string) => Promise<TimerOutcome>;
  /**
   * Tells the upper platform that a forwarded application was withdrawn here (timers of kind
   * forward-withdraw). Throws while the upper platform cannot be reached, to be retried.
   */
  withdrawForwarded?: (id: string) => Promise<TimerOutcome>;
}

/** The name and scheduler id of the daily calendar check on the deadlines queue. */
export const CALENDAR_CHECK_JOB = 'calendar-check';
/** How many days before the holiday table runs out the bureau is warned. */
export const CALENDAR_WARN_DAYS = 60;

export interface CalendarCheckDeps {
  calendar: WorkdayCalendar;
  now: () => Date;
  log: Logger;
  /** Commits events to the outbox and delivers them (Workflow.announce). */
  announce: (events: WorkflowEvent[]) => Promise<void>;
}

/**
 * Warns when the working-day calendar runs out within CALENDAR_WARN_DAYS: a log line and a
 * `calendar.expiring` event to the bureau (inbox and webhooks). The event id is derived from the last
 * known day, so a daily run announces it once, not every day.
 */
export async function checkCalendarEnd(deps: CalendarCheckDeps): Promise<TableEnd | undefined> {
  const end = deps.calendar.tableEndsWithin(deps.now(), CALENDAR_WARN_DAYS);
  if (!end) return undefined;
  const next = Number(end.lastKnownDate.slice(0, 4)) + 1;
  const message =
    end.daysLeft >= 0
      ? `the working-day calendar runs out in ${end.daysLeft} days (after ${end.lastKnownDate}): add the State Council holiday arrangement for ${next} to the calendar override file`
      : `the working-day calendar ran out on ${end.lastKnownDate}: statutory deadlines in ${next} cannot be computed until its holiday arrangement is added`;
  deps.log.warn({ lastKnownDate: end.lastKnownDate, daysLeft: end.daysLeft }, message);
  const event = makeEvent('calendar.expiring', deps.now(), [BUREAU_RECIPIENT], {
    lastKnownDate: end.lastKnownDate,
    daysLeft: end.daysLeft,
    missingYear: next,
    message,
  });
  await deps.announce([{ ...event, id: `calendar.expiring.${end.lastKnownDate}` }]);
  return end;
}

/** Schedules the calendar check every `everyMs` (idempotent: the scheduler id is fixed). */
export async function scheduleCalendarCheck(queue: Queue<Timer>, everyMs = 86_400_000): Promise<void> {
  await queue.upsertJobScheduler(
    CALENDAR_CHECK_JOB,
    { every: everyMs },
    {
      name: CALENDAR_CHECK_JOB,
      data: {} as Timer,
      opts: { removeOnComplete: { count: 10 }, removeOnFail: { count: 10 } },
    },
  );
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
  if (timer.kind === 'grant-status') {
    const outcome = deps.grantChanges ? await deps.grantChanges.fireTimer(timer) : 'stale';
    if (outcome === 'done') {
      await deps.auditSystem?.('grant.status.apply', { grantId: timer.grantId, status: timer.status });
    }
    return outcome;
  }
  if (timer.objectionId !== undefined) {
    return deps.objections ? await deps.objections.fireTimer(timer) : 'stale';
  }
  if (timer.kind === 'forward') {
    return deps.forwardApplication && timer.applicationId
      ? deps.forwardApplication(timer.applicationId)
      : 'stale';
  }
  if (timer.kind === 'forward-withdraw') {
    return deps.withdrawForwarded && timer.applicationId
      ? deps.withdrawForwarded(timer.applicationId)
      : 'stale';
  }
  if (
    timer.applicationId &&
    (timer.kind === 'remind' || timer.kind === 'overdue') &&
    deps.forwardApplication
  ) {
    // A forwarded application the upper platform could not take yet is offered again at its clock.
    await deps.forwardApplication(timer.applicationId).catch((err) => {
      deps.log.warn({ err, application: timer.applicationId }, 'forwarding to the upper platform failed');
    });
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
    if (job.name === CALENDAR_CHECK_JOB) {
      await deps.calendarCheck?.();
      return 'done';
    }
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
