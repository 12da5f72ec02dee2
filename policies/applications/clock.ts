/**
 * The statutory clocks at work: what a stage timer does when it fires (reminder, overdue mark,
 * escalation to the bureau), and recomputing provisional deadlines once the calendar knows their year.
 * Every handler is idempotent: a timer for a stage that ended, or whose deadline moved, does nothing.
 */
import type { WorkdayCalendar } from '../calendar/calendar.js';
import type { ApplicationWriter } from './commit.js';
import { PLATFORM, record } from './commit.js';
import { applicationData, BUREAU_RECIPIENT, makeEvent, stageData } from './events.js';
import type { Application, Stage, Timer } from './schema.js';
import { currentStage, responsibleFor, stageClock, stageTimers } from './stages.js';

export type TimerOutcome = 'done' | 'stale' | 'early';

const FIELD = { remind: 'remindedAt', overdue: 'overdueAt', escalate: 'escalatedAt' } as const;
const AT = { remind: 'remindAt', overdue: 'dueAt', escalate: 'escalateAt' } as const;

/**
 * Handles a stage timer at `now`. 'early' when `now` is before the timer's time by the platform clock
 * (the job runner should wait and retry), 'stale' when there is nothing to do any more.
 */
export async function fireStageTimer(writer: ApplicationWriter, timer: Timer): Promise<TimerOutcome> {
  if (
    timer.kind === 'resource-status' ||
    timer.kind === 'grant-status' ||
    timer.kind === 'forward' ||
    timer.kind === 'forward-withdraw'
  )
    return 'stale';
  if (!timer.applicationId || timer.stage === undefined) return 'stale';
  const kind = timer.kind;
  let outcome: TimerOutcome = 'stale';
  await writer.update(timer.applicationId, (app, at) => {
    const stage = currentStage(app);
    if (!stage || stage.seq !== timer.stage || Date.parse(stage[AT[kind]] ?? '') !== timer.runAt)
      return undefined;
    if (stage[FIELD[kind]] !== undefined) return undefined;
    if (at.getTime() < timer.runAt) {
      outcome = 'early';
      return undefined;
    }
    outcome = 'done';
    stage[FIELD[kind]] = at.toISOString();
    record(app, { action: kind, stage: stage.seq, reason: describe(kind, stage) }, PLATFORM, at);
    const audit = {
      action: `application.${kind}`,
      at: at.toISOString(),
      detail: { application: app.id, stage: stage.seq },
    };
    return { next: app, outbox: { events: [clockEvent(kind, app, stage, at)], audit: [audit] } };
  });
  return outcome;
}

function describe(kind: 'remind' | 'overdue' | 'escalate', stage: Stage): string {
  if (kind === 'remind') return `one working day left in the ${stage.name} stage (due ${stage.dueDate})`;
  if (kind === 'overdue') return `the ${stage.name} stage passed its deadline, 24:00 CST of ${stage.dueDate}`;
  return `the ${stage.name} stage is still open one working day after its deadline; escalated to the bureau`;
}

function clockEvent(kind: 'remind' | 'overdue' | 'escalate', app: Application, stage: Stage, at: Date) {
  const data = applicationData(app, stageData(stage));
  const responsible = responsibleFor(app, stage);
  if (kind === 'remind') return makeEvent('application.reminder', at, [responsible], data);
  if (kind === 'overdue') return makeEvent('application.overdue', at, [responsible, app.consumerDept], data);
  return makeEvent('application.escalated', at, [BUREAU_RECIPIENT], { ...data, responsible });
}

/**
 * Recomputes the deadline of every open stage counted provisionally (a year the calendar did not know)
 * with the calendar as it is now; moves its timers when the deadline changed. Returns how many moved.
 */
export async function recomputeProvisional(
  writer: ApplicationWriter,
  calendar: WorkdayCalendar,
): Promise<number> {
  const store = writer.store;
  const ids = await store.idsOf(store.keys.open);
  let moved = 0;
  for (const app of await store.load(ids)) {
    const stage = currentStage(app);
    if (!stage?.provisional) continue;
    let changed = false;
    await writer.update(app.id, (fresh, at) => {
      changed = false;
      const current = currentStage(fresh);
      if (!current || current.seq !== stage.seq || !current.provisional) return undefined;
      const clock = stageClock(calendar, new Date(current.startedAt), current.limitWorkdays);
      const unchanged =
        clock.dueAt === current.dueAt &&
        clock.remindAt === current.remindAt &&
        clock.escalateAt === current.escalateAt;
      if (unchanged && clock.provisional) return undefined;
      const cancel = stageTimers(fresh, current).map((t) => t.id);
      Object.assign(current, clock);
      changed = true;
      const reason = `deadline recomputed with the calendar of ${calendar.knownYears().join(', ')}: due ${current.dueDate}${clock.provisional ? ' (still provisional)' : ''}`;
      record(fresh, { action: 'reschedule', stage: current.seq, reason }, PLATFORM, at);
      return { next: fresh, outbox: { cancel, timers: stageTimers(fresh, current) } };
    });
    if (changed) moved++;
  }
  return moved;
}

/** Every open stage's timers again (after a restart or a lost outbox entry); ids make this harmless. */
export async function openStageTimers(writer: ApplicationWriter): Promise<Timer[]> {
  const store = writer.store;
  const apps = await store.load(await store.idsOf(store.keys.open));
  return apps.flatMap((app) => {
    const stage = currentStage(app);
    return stage ? stageTimers(app, stage) : [];
  });
}
