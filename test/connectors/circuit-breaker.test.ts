import t from 'tap';
import { CircuitBreaker } from '../../connectors/circuit-breaker.js';

function clocked(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  const clock = { now: 1_000_000 };
  const breaker = new CircuitBreaker({ ...options, now: () => clock.now });
  return { clock, breaker };
}

function fail(breaker: CircuitBreaker, times: number) {
  for (let k = 0; k < times; k++) {
    const permit = breaker.tryAcquire();
    if (!permit.allowed) throw new Error('unexpectedly rejected');
    breaker.onFailure(permit.probe);
  }
}

t.test('opens after N consecutive failures, not before', async (t) => {
  const { breaker } = clocked({ failureThreshold: 3 });
  fail(breaker, 2);
  t.equal(breaker.state, 'closed');
  t.equal(breaker.snapshot().consecutiveFailures, 2);
  fail(breaker, 1);
  t.equal(breaker.state, 'open');
  const permit = breaker.tryAcquire();
  t.same(permit, { allowed: false, retryAfterMs: 5_000 });
  t.equal(breaker.snapshot().opened, 1);
});

t.test('a success resets the consecutive count', async (t) => {
  const { breaker } = clocked({ failureThreshold: 3, minimumRequests: 1000 });
  fail(breaker, 2);
  breaker.onSuccess(false);
  fail(breaker, 2);
  t.equal(breaker.state, 'closed');
});

t.test('opens on the failure ratio over the window without a long run of failures', async (t) => {
  const { breaker, clock } = clocked({
    failureThreshold: 100,
    failureRatio: 0.5,
    minimumRequests: 10,
    windowMs: 10_000,
  });
  for (let k = 0; k < 4; k++) {
    fail(breaker, 1);
    breaker.onSuccess(false);
    clock.now += 100;
  }
  t.equal(breaker.state, 'closed', 'below the minimum number of calls');
  fail(breaker, 1);
  breaker.onSuccess(false);
  t.equal(breaker.snapshot().windowRequests, 10);
  t.equal(breaker.state, 'closed', 'the last call was a success; the ratio is looked at on failures');
  fail(breaker, 1);
  t.equal(breaker.state, 'open', '6 of 11 failed');
});

t.test('old calls leave the window', async (t) => {
  const { breaker, clock } = clocked({ failureThreshold: 100, minimumRequests: 4, windowMs: 1_000 });
  fail(breaker, 3);
  breaker.onSuccess(false);
  clock.now += 5_000;
  t.equal(breaker.snapshot().windowRequests, 0);
  fail(breaker, 1);
  t.equal(breaker.state, 'closed', 'one failure in a fresh window');
});

t.test('half-open after the cool-down lets exactly one probe through', async (t) => {
  const { breaker, clock } = clocked({ failureThreshold: 1, coolDownMs: 2_000 });
  fail(breaker, 1);
  clock.now += 1_999;
  t.equal(breaker.tryAcquire().allowed, false);
  t.equal(breaker.snapshot().retryAfterMs, 1);
  clock.now += 1;
  t.equal(breaker.state, 'half-open');
  t.same(breaker.tryAcquire(), { allowed: true, probe: true });
  t.equal(breaker.tryAcquire().allowed, false, 'second caller waits for the probe');
  breaker.onSuccess(true);
  t.equal(breaker.state, 'closed');
  t.same(breaker.tryAcquire(), { allowed: true, probe: false });
  t.equal(breaker.snapshot().consecutiveFailures, 0);
});

t.test('a failed probe opens the circuit for another cool-down', async (t) => {
  const { breaker, clock } = clocked({ failureThreshold: 1, coolDownMs: 2_000 });
  fail(breaker, 1);
  clock.now += 2_000;
  const probe = breaker.tryAcquire();
  t.same(probe, { allowed: true, probe: true });
  breaker.onFailure(true);
  t.equal(breaker.state, 'open');
  t.equal(breaker.snapshot().retryAfterMs, 2_000);
  t.equal(breaker.snapshot().opened, 2);
});

t.test('a neutral probe outcome lets the next caller probe', async (t) => {
  const { breaker, clock } = clocked({ failureThreshold: 1, coolDownMs: 10 });
  fail(breaker, 1);
  clock.now += 10;
  t.equal(breaker.tryAcquire().allowed, true);
  breaker.onNeutral(true);
  t.same(breaker.tryAcquire(), { allowed: true, probe: true });
});

t.test('failures of calls started before opening do not extend the cool-down', async (t) => {
  const { breaker, clock } = clocked({ failureThreshold: 2, coolDownMs: 1_000 });
  const early = [breaker.tryAcquire(), breaker.tryAcquire(), breaker.tryAcquire()];
  for (const permit of early.slice(0, 2)) breaker.onFailure(permit.allowed && permit.probe);
  t.equal(breaker.state, 'open');
  clock.now += 900;
  breaker.onFailure(false);
  clock.now += 100;
  t.equal(breaker.state, 'half-open');
});
