/**
 * An objection's states as a table. A transition is allowed only when the table has a row for
 * (state, action); the party column says who may take it. Clock events (reminder, overdue, escalation,
 * rescheduling) are recorded in the history but never change the state: an overdue objection stays
 * open until the provider answers it.
 *
 *   new ── submit ──▶ open ── correct ──▶ corrected     (provider: confirmed and corrected)
 *    │                  │ ── uphold ───▶ data-correct  (provider: verified, the data is right)
 *    │                  └─ withdraw ──▶ withdrawn     (consumer)
 *    └─ receive ─▶ rechecking ── forward ─▶ open     (platform: rechecked, to the provider, [XY] 21)
 *                       │ ── dismiss ─▶ dismissed     (platform: unfounded, with a reason)
 *                       └─ withdraw ──▶ withdrawn     (consumer)
 */
import { OBJECTION_ILLEGAL_TRANSITION } from './errors.js';
import type { AnswerOutcome, ObjectionState } from './schema.js';

export const OBJECTION_ACTIONS = [
  'submit',
  'receive',
  'forward',
  'dismiss',
  'correct',
  'uphold',
  'withdraw',
] as const;
export type ObjectionAction = (typeof OBJECTION_ACTIONS)[number];

/** Clock events: recorded in the history with from = to. */
export type ObjectionClockAction = 'remind' | 'overdue' | 'escalate' | 'reschedule';

export type ObjectionParty = 'consumer' | 'provider' | 'platform';

export const TRANSITIONS: Record<ObjectionState | 'new', Partial<Record<ObjectionAction, ObjectionState>>> = {
  new: { submit: 'open', receive: 'rechecking' },
  rechecking: { forward: 'open', dismiss: 'dismissed', withdraw: 'withdrawn' },
  open: { correct: 'corrected', uphold: 'data-correct', withdraw: 'withdrawn' },
  corrected: {},
  'data-correct': {},
  dismissed: {},
  withdrawn: {},
};

export const ACTION_PARTY: Record<ObjectionAction, ObjectionParty> = {
  submit: 'consumer',
  receive: 'consumer',
  forward: 'platform',
  dismiss: 'platform',
  correct: 'provider',
  uphold: 'provider',
  withdraw: 'consumer',
};

/** The action an answer's outcome takes. */
export const ANSWER_ACTION: Record<AnswerOutcome, ObjectionAction> = {
  corrected: 'correct',
  'data-correct': 'uphold',
};

/** Awaiting someone's action on a clock: the platform's recheck or the provider's answer. */
export function isOpen(state: ObjectionState): boolean {
  return state === 'open' || state === 'rechecking';
}

/** The state `action` leads to from `state`, or OBJECTION_ILLEGAL_TRANSITION naming what is allowed. */
export function nextState(
  state: ObjectionState | 'new',
  action: ObjectionAction,
  what = 'the objection',
): ObjectionState {
  const row = TRANSITIONS[state];
  const next = row[action];
  if (next === undefined) {
    const allowed = Object.keys(row).join(', ') || 'nothing (it is final)';
    throw new OBJECTION_ILLEGAL_TRANSITION(`${what} is ${state}: cannot ${action} (allowed: ${allowed})`);
  }
  return next;
}
