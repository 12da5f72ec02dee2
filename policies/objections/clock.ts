/**
 * The provider's answer deadline, counted like an application stage (policies/applications/stages.ts):
 * from the platform's record time of the objection, the start day not counted, ending 24:00 CST of the
 * last working day. Three timers: a reminder when one working day is left, the overdue mark at the
 * deadline, the escalation to the bureau one working day after it. They ride the deadlines queue as
 * Timers with `objectionId`; ids are deterministic, and a timer that fires for an objection answered
 * meanwhile, or whose deadline was recomputed, finds nothing to do.
 */

import type { TimerOutcome } from '../applications/clock.js';
import { PLATFORM } from '../applications/commit.js';
import { BUREAU_RECIPIENT, makeEvent } from '../applications/events.js';
import type { Timer } from '../applications/schema.js';
import { stageClock } from '../applications/stages.js';
import type { WorkdayCalendar } from '../calendar/calendar.js';
import { objectionData, recordTransition } from './events.js';
import type { AnswerDeadline, Objection } from './schema.js';
import { isOpen } from './state-machine.js';
import type { ObjectionStore } from './store.js';

type ClockKind = 'remind' | 'overdue' | 'escalate';

const FIELD = { remind: 'remindedAt', overdue: 'overdueAt', escalate: 'escalatedAt' } as const;
const AT = { remind: 'remindAt', overdue: 'dueAt', escalate: 'escalateAt' } as const;

export function answerDeadline(
  calendar: WorkdayCalendar,
  startedAt: Date,
  limitWorkdays: number,
): AnswerDeadline {
  return {
    limitWorkdays,
    startedAt: startedAt.toISOString(),
    ...stageClock(calendar, startedAt, limitWorkdays),
  };
}

/**
 * The three timers of the deadline running now: the platform's recheck while the objection is being
 * rechecked ([XY] 21), else the provider's answer; none while its clock is pending.
 */
export function objectionTimers(objection: Objection): Timer[] {
  if (objection.deadline.provisional) return [];
  const phase = objection.state === 'rechecking' ? 'recheck.' : '';
  const make = (kind: ClockKind): Timer => {
    const runAt = Date.parse(objection.deadline[AT[kind]] ?? '');
    return { id: `${objection.id}.${phase}${kind}.${runAt}`, kind, runAt, objectionId: objection.id };
  };
  return [make('remind'), make('overdue'), make('escalate')];
}

/**
 * Handles an objection timer at the platform's `now`. 'early' when `now` is before the timer's time (the
 * job runner should wait and retry), 'stale' when there is nothing to do any more.
 */
export async function fireObjectionTimer(
  store: ObjectionStore,
  now: () => Date,
  timer: Timer,
): Promise<TimerOutcome> {
  if (
    !timer.objectionId ||
    timer.kind === 'resource-status' ||
    timer.kind === 'grant-status' ||
    timer.kind === 'forward' ||
    timer.kind === 'forward-withdraw'
  )
    return 'stale';
  const kind = timer.kind;
  let outcome: TimerOutcome = 'stale';
  await store.update(timer.objectionId, now, (objection, at) => {
    outcome = 'stale';
    const deadline = objection.deadline;
    if (!isOpen(objection.state) || Date.parse(deadline[AT[kind]] ?? '') !== timer.runAt) return undefined;
    // A timer of the recheck that fires after the objection was forwarded (or the reverse) is stale.
    if (!objectionTimers(objection).some((t) => t.id === timer.id)) return undefined;
    if (deadline[FIELD[kind]] !== undefined) return undefined;
    if (at.getTime() < timer.runAt) {
      outcome = 'early';
      return undefined;
    }
    outcome = 'done';
    deadline[FIELD[kind]] = at.toISOString();
    const reason = describe(kind, deadline, objection.state === 'rechecking');
    recordTransition(objection, { action: kind, reason }, PLATFORM, at);
    const audit = { action: `objection.${kind}`, at: at.toISOString(), detail: { objection: objection.id } };
    return { next: objection, outbox: { events: [clockEvent(kind, objection, at)], audit: [audit] } };
  });
  return outcome;
}

function describe(kind: ClockKind, deadline: AnswerDeadline, rechecking: boolean): string {
  const what = rechecking ? 'rechecked by the platform' : 'answered';
  if (kind === 'remind') return `one working day left to be ${what} (due ${deadline.dueDate})`;
  if (kind === 'overdue') return `not ${what} by its deadline, 24:00 CST of ${deadline.dueDate}`;
  return `still not ${what} one working day after its deadline; escalated to the bureau`;
}

function clockEvent(kind: ClockKind, objection: Objection, at: Date) {
  const data = objectionData(objection);
  if (objection.state === 'rechecking') {
    // The platform's own recheck is late: the bureau is reminded, the consumer told when it is overdue.
    if (kind === 'remind') return makeEvent('objection.reminder', at, [BUREAU_RECIPIENT], data);
    if (kind === 'overdue') {
      return makeEvent('objection.overdue', at, [BUREAU_RECIPIENT, objection.consumerDept], data);
    }
    return makeEvent('objection.escalated', at, [BUREAU_RECIPIENT], { ...data, responsible: 'platform' });
  }
  if (kind === 'remind') return makeEvent('objection.reminder', at, [objection.providerDept], data);
  if (kind === 'overdue') {
    return makeEvent('objection.overdue', at, [objection.providerDept, objection.consumerDept], data);
  }
  return makeEvent('objection.escalated', at, [BUREAU_RECIPIENT], {
    ...data,
    responsible: objection.providerDept,
  });
}

/**
 * After a restart (or a lost outbox entry): recomputes the deadlines counted provisionally in a year the
 * calendar did not know, and returns every open objection's timers to schedule again (ids make that
 * harmless). Returns the timers and how many deadlines moved.
 */
export async function recoverObjectionClocks(
  store: ObjectionStore,
  calendar: WorkdayCalendar,
  now: () => Date,
): Promise<{ timers: Timer[]; moved: number }> {
  let moved = 0;
  for (const open of await store.load(await store.idsOf(store.keys.open))) {
    if (!open.deadline.provisional) continue;
    let changed = false;
    await store.update(open.id, now, (objection, at) => {
      changed = false;
      const current = objection.deadline;
      if (!isOpen(objection.state) || !current.provisional) return undefined;
      const clock = answerDeadline(calendar, new Date(current.startedAt), current.limitWorkdays);
      const unchanged =
        clock.dueAt === current.dueAt &&
        clock.remindAt === current.remindAt &&
        clock.escalateAt === current.escalateAt;
      if (unchanged && clock.provisional) return undefined;
      const cancel = objectionTimers(objection).map((t) => t.id);
      Object.assign(current, clock);
      changed = true;
      const reason = `deadline recomputed with the calendar of ${calendar.knownYears().join(', ')}: due ${current.dueDate}${clock.provisional ? ' (still provisional)' : ''}`;
      recordTransition(objection, { action: 'reschedule', reason }, PLATFORM, at);
      return { next: objection, outbox: { cancel, timers: objectionTimers(objection) } };
    });
    if (changed) moved++;
  }
  const timers = (await store.load(await store.idsOf(store.keys.open)))
    .filter((o) => isOpen(o.state))
    .flatMap(objectionTimers);
  return { timers, moved };
}
