import t from 'tap';
import { APPLICATION_STATES } from '../../../policies/applications/schema.js';
import {
  ACTION_PARTY,
  isOpen,
  nextState,
  TRANSITION_ACTIONS,
  TRANSITIONS,
} from '../../../policies/applications/state-machine.js';

const allowed: [string, string, string][] = [
  ['new', 'submit', 'checking'],
  ['new', 'submitDirect', 'granting'],
  ['checking', 'accept', 'authorizing'],
  ['checking', 'reject', 'rejected'],
  ['checking', 'withdraw', 'withdrawn'],
  ['checking', 'close', 'closed'],
  ['granting', 'grant', 'granted'],
  ['granting', 'withdraw', 'withdrawn'],
  ['granting', 'close', 'closed'],
  ['authorizing', 'authorize', 'granted'],
  ['authorizing', 'refuse', 'refused'],
  ['authorizing', 'withdraw', 'withdrawn'],
  ['authorizing', 'close', 'closed'],
];

t.test('every allowed transition leads where the table says', async (t) => {
  for (const [from, action, to] of allowed) {
    t.equal(nextState(from as never, action as never), to, `${from} --${action}--> ${to}`);
  }
});

t.test('every other (state, action) pair is an illegal transition (409)', async (t) => {
  const allowedPairs = new Set(allowed.map(([from, action]) => `${from}/${action}`));
  let checked = 0;
  for (const state of ['new', ...APPLICATION_STATES] as const) {
    for (const action of TRANSITION_ACTIONS) {
      if (allowedPairs.has(`${state}/${action}`)) continue;
      t.throws(() => nextState(state, action, 'application APP-1'), {
        code: 'APPLICATION_ILLEGAL_TRANSITION',
        statusCode: 409,
        message: new RegExp(`^application APP-1 is ${state}: cannot ${action} \\(allowed: `),
      });
      checked++;
    }
  }
  t.equal(checked, (APPLICATION_STATES.length + 1) * TRANSITION_ACTIONS.length - allowed.length);
});

t.test('final states allow nothing and say so', async (t) => {
  for (const state of ['granted', 'rejected', 'refused', 'withdrawn', 'closed'] as const) {
    t.same(TRANSITIONS[state], {}, `${state} is final`);
    t.notOk(isOpen(state));
    t.throws(() => nextState(state, 'withdraw'), { message: /allowed: nothing \(it is final\)/ });
  }
  for (const state of ['checking', 'granting', 'authorizing'] as const)
    t.ok(isOpen(state), `${state} is open`);
});

t.test('who takes each action', async (t) => {
  t.same(ACTION_PARTY, {
    submit: 'consumer',
    submitDirect: 'consumer',
    accept: 'bureau',
    reject: 'bureau',
    grant: 'platform',
    authorize: 'provider',
    refuse: 'provider',
    withdraw: 'consumer',
    close: 'platform',
  });
});
