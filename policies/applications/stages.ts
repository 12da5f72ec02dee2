/**
 * Stages and their statutory clocks. A stage's deadline is counted from the platform's own record time
 * when the stage begins ([HB-S] 22), the start day not counted (Civil Code art. 201), and ends at 24:00
 * China Standard Time of its last working day. Each open stage has three timers: a reminder when one
 * working day is left, the overdue mark at the deadline, and the escalation to the bureau one working day
 * after it. Timer ids are deterministic, so setting them again is harmless; a timer that fires for a
 * stage that has ended, or whose deadline was recomputed, finds nothing to do.
 */

import type { WorkdayCalendar } from '../calendar/calendar.js';
import type { StatutoryLimits } from '../calendar/limits.js';
import { applicationData, BUREAU_RECIPIENT, makeEvent } from './events.js';
import type { Application, OutboxEntry, Stage, StageName, Timer } from './schema.js';

const LIMIT_OF: Record<StageName, 'check' | 'directGrant' | 'authorize' | 'notify'> = {
  check: 'check',
  directGrant: 'directGrant',
  authorize: 'authorize',
  notify: 'notify',
};

/**
 * The deadline fields of a stage of `limit` working days begun at `startedAt`. When the count (up to the
 * escalation, one working day after the deadline) reaches a year the calendar does not know, the clock
 * is pending: no dates at all, `provisional` with the missing years, until the year is loaded.
 */
export function stageClock(
  calendar: WorkdayCalendar,
  startedAt: Date,
  limit: number,
): Pick<Stage, 'dueDate' | 'dueAt' | 'provisional' | 'unknownYears' | 'remindAt' | 'escalateAt'> {
  const unknownYears = calendar.unknownYearsOf(startedAt, limit + 1);
  if (unknownYears.length > 0) return { provisional: true, unknownYears };
  const due = calendar.deadline(startedAt, limit);
  const remind = calendar.deadline(startedAt, Math.max(limit - 1, 0));
  const escalate = calendar.deadline(startedAt, limit + 1);
  return {
    dueDate: due.dueDate,
    dueAt: due.dueAt.toISOString(),
    provisional: false,
    unknownYears: [],
    remindAt: remind.dueAt.toISOString(),
    escalateAt: escalate.dueAt.toISOString(),
  };
}

/** The outbox of a stage that begins: its timers, or (a pending clock) a flag to the bureau. */
export function stageStart(app: Application, stage: Stage, at: Date): Pick<OutboxEntry, 'timers' | 'events'> {
  if (!stage.provisional) return { timers: stageTimers(app, stage) };
  const data = applicationData(app, { stage: stage.name, unknownYears: stage.unknownYears });
  return {
    events: [
      makeEvent('application.clock-pending', at, [BUREAU_RECIPIENT, responsibleFor(app, stage)], data),
    ],
  };
}

export function newStage(
  calendar: WorkdayCalendar,
  limits: StatutoryLimits,
  name: StageName,
  seq: number,
  startedAt: Date,
): Stage {
  const limitWorkdays = limits[LIMIT_OF[name]];
  return {
    seq,
    name,
    startedAt: startedAt.toISOString(),
    limitWorkdays,
    ...stageClock(calendar, startedAt, limitWorkdays),
  };
}

/** The stage in progress, when the application is open. */
export function currentStage(app: Application): Stage | undefined {
  const stage = app.stages.at(-1);
  return stage && stage.completedAt === undefined ? stage : undefined;
}

/** Who must act in a stage: the provider authorizes, the platform does the rest. */
export function responsibleFor(app: Application, stage: Stage): string {
  return stage.name === 'authorize' ? app.providerDept : 'bureau';
}

export function timerId(app: Application, stage: Stage, kind: Timer['kind'], runAt: number): string {
  return `${app.id}.${stage.seq}.${kind}.${runAt}`;
}

/** The three timers of an open stage; none while its clock is pending. */
export function stageTimers(app: Application, stage: Stage): Timer[] {
  const { remindAt, dueAt, escalateAt } = stage;
  if (remindAt === undefined || dueAt === undefined || escalateAt === undefined) return [];
  const make = (kind: 'remind' | 'overdue' | 'escalate', at: string): Timer => {
    const runAt = Date.parse(at);
    return { id: timerId(app, stage, kind, runAt), kind, runAt, applicationId: app.id, stage: stage.seq };
  };
  return [make('remind', remindAt), make('overdue', dueAt), make('escalate', escalateAt)];
}

/**
 * Whether a stage ended (or, still open, stands) within its deadline at `now`. A stage whose clock is
 * pending has no deadline to miss yet.
 */
export function stageWithinLimit(stage: Stage, now: number): boolean {
  if (stage.dueAt === undefined) return true;
  const end = stage.completedAt === undefined ? now : Date.parse(stage.completedAt);
  return end <= Date.parse(stage.dueAt);
}
