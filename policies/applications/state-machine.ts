/**
 * The application's states as a table ([HB-S] 12, 19–21). A transition is allowed only when the table
 * has a row for (state, action); the party column says who may take it. Clock events (reminder,
 * overdue, escalation, rescheduling) are recorded in the history but never change the state.
 *
 *   new ── submit ──────────▶ checking ── accept ──▶ authorizing ── authorize ──▶ granted
 *    │                          │ reject ▶ rejected     │ refuse ▶ refused
 *    └─ submitDirect ─▶ granting ── grant ──▶ granted
 *   any open state ── withdraw ──▶ withdrawn (consumer) · close ──▶ closed (platform, resource withdrawn)
 */
import { APPLICATION_ILLEGAL_TRANSITION, APPLICATION_REASON_REQUIRED } from './errors.js';
import type { ApplicationState } from './schema.js';

export const TRANSITION_ACTIONS = [
  'submit',
  'submitDirect',
  'accept',
  'reject',
  'grant',
  'authorize',
  'refuse',
  'withdraw',
  'close',
] as const;
export type TransitionAction = (typeof TRANSITION_ACTIONS)[number];

/** Clock events: recorded in the history with from = to. */
export type ClockAction = 'remind' | 'overdue' | 'escalate' | 'reschedule';

/** consumer/provider: that department's dept-admin; bureau: a bureau person; platform: govshare itself. */
export type Party = 'consumer' | 'provider' | 'bureau' | 'platform';

export const OPEN_STATES: readonly ApplicationState[] = ['checking', 'granting', 'authorizing'];

/** Allowed actions per state and the state each leads to. `new` is an application not yet stored. */
export const TRANSITIONS: Record<
  ApplicationState | 'new',
  Partial<Record<TransitionAction, ApplicationState>>
> = {
  new: { submit: 'checking', submitDirect: 'granting' },
  checking: { accept: 'authorizing', reject: 'rejected', withdraw: 'withdrawn', close: 'closed' },
  granting: { grant: 'granted', withdraw: 'withdrawn', close: 'closed' },
  authorizing: { authorize: 'granted', refuse: 'refused', withdraw: 'withdrawn', close: 'closed' },
  granted: {},
  rejected: {},
  refused: {},
  withdrawn: {},
  closed: {},
};

/** Who may take each action. */
export const ACTION_PARTY: Record<TransitionAction, Party> = {
  submit: 'consumer',
  submitDirect: 'consumer',
  accept: 'bureau',
  reject: 'bureau',
  grant: 'platform',
  authorize: 'provider',
  refuse: 'provider',
  withdraw: 'consumer',
  close: 'platform',
};

/** Actions that must state a reason. */
export const REASON_REQUIRED: ReadonlySet<TransitionAction> = new Set(['reject', 'refuse', 'close']);

export function isOpen(state: ApplicationState): boolean {
  return OPEN_STATES.includes(state);
}

/** The state `action` leads to from `state`, or APPLICATION_ILLEGAL_TRANSITION naming what is allowed. */
export function nextState(
  state: ApplicationState | 'new',
  action: TransitionAction,
  what = 'the application',
): ApplicationState {
  const row = TRANSITIONS[state];
  const next = row[action];
  if (next === undefined) {
    const allowed = Object.keys(row).join(', ') || 'nothing (it is final)';
    throw new APPLICATION_ILLEGAL_TRANSITION(`${what} is ${state}: cannot ${action} (allowed: ${allowed})`);
  }
  return next;
}

/** The trimmed reason; APPLICATION_REASON_REQUIRED when the action needs one and none was stated. */
export function requireReason(action: TransitionAction, reason: string | undefined): string | undefined {
  const stated = reason?.trim();
  if (REASON_REQUIRED.has(action) && !stated) {
    throw new APPLICATION_REASON_REQUIRED(`to ${action} an application, state the reason`);
  }
  return stated || undefined;
}
