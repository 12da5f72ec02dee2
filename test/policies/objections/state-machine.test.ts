import t from 'tap';
import { objectionsErrorDocs, objectionsErrors } from '../../../policies/objections/errors.js';
import { OBJECTION_STATES } from '../../../policies/objections/schema.js';
import {
  ACTION_PARTY,
  ANSWER_ACTION,
  nextState,
  OBJECTION_ACTIONS,
  TRANSITIONS,
} from '../../../policies/objections/state-machine.js';

t.test('every state and action: allowed per the table, else 409 naming what is allowed', async (t) => {
  const expected: Record<string, Record<string, string>> = {
    new: { submit: 'open', receive: 'rechecking' },
    rechecking: { forward: 'open', dismiss: 'dismissed', withdraw: 'withdrawn' },
    open: { correct: 'corrected', uphold: 'data-correct', withdraw: 'withdrawn' },
    corrected: {},
    'data-correct': {},
    dismissed: {},
    withdrawn: {},
  };
  t.same(Object.keys(TRANSITIONS).sort(), ['new', ...OBJECTION_STATES].sort(), 'a row per state');
  for (const state of ['new', ...OBJECTION_STATES] as const) {
    for (const action of OBJECTION_ACTIONS) {
      const to = expected[state]?.[action];
      if (to) {
        t.equal(nextState(state, action), to, `${state} --${action}--> ${to}`);
        continue;
      }
      const allowed = Object.keys(expected[state] ?? {}).join(', ') || 'nothing (it is final)';
      t.throws(
        () => nextState(state, action, 'objection OBJ-20260302-000001'),
        {
          code: 'OBJECTION_ILLEGAL_TRANSITION',
          statusCode: 409,
          message: `objection OBJ-20260302-000001 is ${state}: cannot ${action} (allowed: ${allowed})`,
        },
        `${state} refuses ${action}`,
      );
    }
  }
  t.same(ANSWER_ACTION, { corrected: 'correct', 'data-correct': 'uphold' });
  t.same(ACTION_PARTY, {
    submit: 'consumer',
    receive: 'consumer',
    forward: 'platform',
    dismiss: 'platform',
    correct: 'provider',
    uphold: 'provider',
    withdraw: 'consumer',
  });
});

t.test('every error code is stable, documented and a client error', async (t) => {
  const codes = Object.entries(objectionsErrors).map(([name, E]) => {
    const error = new E('what to fix');
    t.equal(error.code, name, 'the constructor is named after its code');
    t.match(error.code, /^OBJECTION_[A-Z_]+$/);
    t.ok(error.statusCode! >= 400 && error.statusCode! < 500, `${error.code} is a client error`);
    t.equal(error.message, 'what to fix');
    t.ok(
      objectionsErrorDocs[error.code as keyof typeof objectionsErrorDocs].length > 20,
      `${name} documented`,
    );
    return error.code;
  });
  t.same(
    Object.keys(objectionsErrorDocs).sort(),
    codes.sort(),
    'no documentation for codes that do not exist',
  );
});
