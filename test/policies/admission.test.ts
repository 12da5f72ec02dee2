import { randomUUID } from 'node:crypto';
import t from 'tap';
import { createRedisClient } from '../../platform/redis.js';
import { type Admission, AdmissionGate } from '../../policies/admission.js';
import type { Quota } from '../../policies/grant.js';
import { useRedis } from '../helpers/redis.js';

const CALLER = { deptCode: 'D1', systemId: 's1' };

/** The quota view of admission, each call with a fresh nonce (as the quota tests need). */
class QuotaCounter {
  constructor(readonly gate: AdmissionGate) {}
  async consume(grantId: string, limits: Quota, now: number) {
    const result = await this.gate.admit({
      caller: CALLER,
      nonce: { keyid: 'k1', nonce: randomUUID(), ttlSeconds: 60 },
      quota: { grantId, limits },
      now,
    });
    return toConsumption(result);
  }
}

function toConsumption(result: Admission) {
  if (result.admitted) {
    if (!result.usage) throw new Error('an admission with a quota reports its usage');
    return { allowed: true, usage: result.usage };
  }
  if (result.reason === 'replay') throw new Error('unexpected replay');
  return { allowed: false, usage: result.usage, retryAfterSeconds: result.retryAfterSeconds };
}

/** Two gateway instances: separate connections, one Redis, one key prefix. */
async function twoInstances(t: Parameters<typeof useRedis>[0]) {
  const { server, redis, prefix } = await useRedis(t);
  const other = createRedisClient(server.url);
  t.teardown(() => other.quit().then(() => undefined));
  return {
    a: new QuotaCounter(new AdmissionGate(redis, prefix)),
    b: new QuotaCounter(new AdmissionGate(other, prefix)),
    redis,
    prefix,
  };
}

const at = (iso: string) => Date.parse(iso);

t.test('the per-minute limit is shared by instances and rolls over with the minute', async (t) => {
  const { a, b } = await twoInstances(t);
  const limits = { perMinute: 3 };
  let now = at('2026-03-02T02:00:10Z');
  const results = [];
  for (const counter of [a, b, a, b]) results.push(await counter.consume('g1', limits, now));
  t.same(
    results.map((r) => [r.allowed, r.usage.minute]),
    [
      [true, 1],
      [true, 2],
      [true, 3],
      [false, 3],
    ],
  );
  t.equal(results[3]!.retryAfterSeconds, 50, 'until the next minute');
  now = at('2026-03-02T02:00:59.999Z');
  t.equal((await b.consume('g1', limits, now)).allowed, false, 'still the same minute');
  now = at('2026-03-02T02:01:00Z');
  const next = await a.consume('g1', limits, now);
  t.same([next.allowed, next.usage], [true, { minute: 1, day: 4 }], 'a new minute, the same day');
  t.equal((await a.consume('g2', limits, now)).usage.minute, 1, 'grants count separately');
});

t.test('a refused call does not consume', async (t) => {
  const { a, b } = await twoInstances(t);
  const now = at('2026-03-02T02:00:00Z');
  await a.consume('g1', { perMinute: 1, perDay: 2 }, now);
  for (let i = 0; i < 5; i++)
    t.equal((await b.consume('g1', { perMinute: 1, perDay: 2 }, now)).allowed, false);
  const later = await a.consume('g1', { perMinute: 1, perDay: 2 }, now + 60_000);
  t.same([later.allowed, later.usage], [true, { minute: 1, day: 2 }], 'the refusals left the day count at 1');
  const refused = await b.consume('g1', { perMinute: 1, perDay: 2 }, now + 120_000);
  t.same(
    [refused.allowed, refused.usage],
    [false, { minute: 0, day: 2 }],
    'the day limit refuses in a fresh minute',
  );
});

t.test('the day turns at 16:00 UTC (00:00 CST) whatever the host time zone', async (t) => {
  const { a, b, redis, prefix } = await twoInstances(t);
  const hostZone = process.env.TZ;
  process.env.TZ = 'Pacific/Honolulu';
  t.teardown(() => {
    if (hostZone === undefined) delete process.env.TZ;
    else process.env.TZ = hostZone;
  });
  t.equal(new Date(at('2026-03-02T16:00:00Z')).getDate(), 2, 'the host zone is not CST');
  const limits = { perDay: 2 };
  const before = at('2026-03-02T15:59:30Z');
  t.ok((await a.consume('g1', limits, before)).allowed);
  t.ok((await b.consume('g1', limits, before + 1000)).allowed);
  const refused = await a.consume('g1', limits, before + 2000);
  t.equal(refused.allowed, false);
  t.equal(refused.retryAfterSeconds, 28, 'seconds until CST midnight');
  const after = await b.consume('g1', limits, at('2026-03-02T16:00:00Z'));
  t.same([after.allowed, after.usage.day], [true, 1], 'a new CST day');
  const quotaKey = (day: string) => `${prefix}{adm:D1:s1}:q:g1:${day}`;
  const keys = (await redis.keys(`${prefix}*`)).sort();
  t.same(
    keys.filter((k) => k.includes(':q:')),
    [quotaKey('20260302'), quotaKey('20260303')],
    'one counter string per grant and CST day',
  );
  const ttl = await redis.ttl(quotaKey('20260303'));
  t.ok(ttl > 86_000 && ttl <= 86_400 + 3600, `the day's counters expire after its day (${ttl} s)`);
});

t.test('no limits still counts', async (t) => {
  const { a } = await twoInstances(t);
  const now = at('2026-03-02T02:00:00Z');
  await a.consume('g1', {}, now);
  const r = await a.consume('g1', {}, now);
  t.same(r, { allowed: true, usage: { minute: 2, day: 2 } });
});

t.test("counting goes on after Redis's script cache was emptied", async (t) => {
  const { a, redis } = await twoInstances(t);
  const now = at('2026-03-02T02:00:00Z');
  await a.consume('g1', { perMinute: 5 }, now);
  await redis.script('FLUSH');
  t.same(await a.consume('g1', { perMinute: 5 }, now), { allowed: true, usage: { minute: 2, day: 2 } });
});

t.test('concurrent calls from two instances never exceed the limit', async (t) => {
  const { a, b } = await twoInstances(t);
  const now = at('2026-03-02T02:00:00Z');
  const calls = Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).consume('g1', { perMinute: 50 }, now));
  const results = await Promise.all(calls);
  t.equal(results.filter((r) => r.allowed).length, 50);
  t.equal(Math.max(...results.map((r) => r.usage.minute)), 50);
});

t.test('a nonce is admitted once; a replay is refused and counts nothing', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const gate = new AdmissionGate(redis, prefix);
  const now = at('2026-03-02T02:00:00Z');
  const nonce = { keyid: 'k1', nonce: 'n-1', ttlSeconds: 30 };
  const quota = { grantId: 'g1', limits: { perMinute: 10 } };
  t.same(await gate.admit({ caller: CALLER, nonce, quota, now }), {
    admitted: true,
    usage: { minute: 1, day: 1 },
  });
  for (let i = 0; i < 3; i++)
    t.same(await gate.admit({ caller: CALLER, nonce, quota, now }), { admitted: false, reason: 'replay' });
  t.same(
    await gate.admit({ caller: CALLER, nonce: { ...nonce, nonce: 'n-2' }, quota, now }),
    { admitted: true, usage: { minute: 2, day: 2 } },
    'the replays consumed nothing',
  );
  t.same(
    await gate.admit({ caller: CALLER, nonce, now }),
    { admitted: false, reason: 'replay' },
    'a replay without quota is a replay too',
  );
  t.same(
    await gate.admit({ caller: CALLER, nonce: { ...nonce, keyid: 'k2' }, now }),
    { admitted: true },
    'nonces are per keyid',
  );
  const ttl = await redis.ttl(`${prefix}{adm:D1:s1}:n:k1:n-1`);
  t.ok(ttl > 0 && ttl <= 30, `the nonce expires with the signature window (${ttl} s)`);
  t.same(
    await gate.admit({ caller: CALLER, quota, now }),
    { admitted: true, usage: { minute: 3, day: 3 } },
    'a nonce recorded elsewhere: the quota alone',
  );
});

t.test('a script sent again after a lost reply gets its first outcome, counted once', async (t) => {
  const { redis, prefix } = await useRedis(t);
  new AdmissionGate(redis, prefix);
  const nonceKey = `${prefix}{adm:D1:s1}:n:k1:n-1`;
  const quotaKey = `${prefix}{adm:D1:s1}:q:g1:20260302`;
  const minuteField = 1 + 10 * 60; // 10:00 CST, minute 600 of the day
  const script = redis as unknown as {
    govshareAdmit(...args: (string | number)[]): Promise<[number, number, number, number, number]>;
  };
  const send = (nonce: string, token: string, want: number) =>
    script.govshareAdmit(nonce, quotaKey, token, 30, '1', minuteField, 3, 0, 3600, want, want);
  // The same call twice, as ioredis resends it after a reconnect: the same token.
  t.same(await send(nonceKey, 'token-1', 2), [1, 2, 2, 2, 2], 'admitted, a lease of 2 counted');
  t.same(
    await send(nonceKey, 'token-1', 2),
    [1, 2, 2, 2, 2],
    'the resend: admitted again with the same lease, not counted again',
  );
  const second = `${prefix}{adm:D1:s1}:n:k1:n-2`;
  t.same(
    await send(second, 'token-2', 4),
    [1, 3, 3, 1, 1],
    'one unit is left under the limit of 3: one granted',
  );
  const third = `${prefix}{adm:D1:s1}:n:k1:n-3`;
  t.same(await send(third, 'token-3', 1), [0, 3, 3, 0, 0], 'the next call is over the limit');
  t.same(
    await send(third, 'token-3', 1),
    [0, 3, 3, 0, 0],
    'and its resend is refused the same way, not called a replay',
  );
  t.same(
    await redis.call('BITFIELD', quotaKey, 'GET', 'u32', '#0', 'GET', 'u32', `#${minuteField}`),
    [3, 3],
    'the units granted counted in the day and in its minute, nothing else',
  );
});

t.test('a lease takes at most half of what is left under a limit', async (t) => {
  const { redis, prefix } = await useRedis(t);
  new AdmissionGate(redis, prefix);
  const quotaKey = `${prefix}{adm:D1:s1}:q:g1:20260302`;
  const script = redis as unknown as {
    govshareAdmit(...args: (string | number)[]): Promise<[number, number, number, number, number]>;
  };
  const lease = (n: number, wantDay: number, wantMinute: number) =>
    script.govshareAdmit(
      `${prefix}{adm:D1:s1}:n:k1:${n}`,
      quotaKey,
      `t${n}`,
      30,
      '1',
      7,
      10,
      100,
      3600,
      wantDay,
      wantMinute,
    );
  t.same(await lease(1, 32, 32), [1, 5, 5, 5, 5], 'half of the 10 a minute, the same count of day units');
  t.same(await lease(2, 0, 32), [1, 8, 5, 0, 3], 'minute units alone: half of the 5 left, rounded up');
  t.same(await lease(3, 0, 32), [1, 9, 5, 0, 1]);
  t.same(await lease(4, 0, 32), [1, 10, 5, 0, 1], 'the last unit');
  t.same(await lease(5, 0, 1), [0, 10, 5, 0, 0], 'none left: refused, nothing counted');
});

t.test("a busy grant's call costs one Redis command: the nonce", async (t) => {
  const { redis, prefix } = await useRedis(t);
  const gate = new AdmissionGate(redis, prefix);
  const now = at('2026-03-02T02:00:00Z');
  const quota = { grantId: 'g1', limits: { perMinute: 100_000, perDay: 1_000_000 } };
  await redis.config('RESETSTAT');
  const calls = 500;
  for (let i = 0; i < calls; i++) {
    const result = await gate.admit({
      caller: CALLER,
      nonce: { keyid: 'k1', nonce: `n-${i}`, ttlSeconds: 30 },
      quota,
      now: now + i,
    });
    t.equal(result.admitted, true);
    if (i === calls - 1)
      t.same(result.admitted && result.usage, { minute: calls, day: calls }, 'usage counts calls');
  }
  const stats = (await redis.info('commandstats'))
    .split('\n')
    .map((line) => /^cmdstat_(\w+):calls=(\d+)/.exec(line))
    .filter((m) => m !== null)
    .map((m) => [m[1]!, Number(m[2])] as const);
  const count = (name: string) => stats.find(([n]) => n === name)?.[1] ?? 0;
  t.equal(count('set'), calls, 'every call records its nonce');
  const scripts = count('evalsha') + count('eval');
  t.ok(scripts <= 25, `leases renewed ${scripts} times for ${calls} calls`);
  const total = stats.filter(([n]) => n !== 'config' && n !== 'info').reduce((sum, [, n]) => sum + n, 0);
  t.ok(total / calls <= 1.2, `${(total / calls).toFixed(2)} Redis commands per call`);
  const [day] = (await redis.call('BITFIELD', `${prefix}{adm:D1:s1}:q:g1:20260302`, 'GET', 'u32', '#0')) as [
    number,
  ];
  t.ok(day >= calls && day <= calls + 32, `the counter (${day}) runs ahead by at most one lease`);
  t.same(
    await gate.usage(CALLER, 'g1', now + calls),
    { minute: calls, day: calls },
    'usage less the units held',
  );
});

t.test('leases from three instances never exceed a limit, and released units count again', async (t) => {
  const { server, redis, prefix } = await useRedis(t);
  const others = [createRedisClient(server.url), createRedisClient(server.url)];
  t.teardown(() => Promise.all(others.map((c) => c.quit())).then(() => undefined));
  const gates = [redis, ...others].map((client) => new AdmissionGate(client, prefix));
  const now = at('2026-03-02T02:00:00Z');
  let n = 0;
  // Bursts on each instance in turn, so that each holds a grown lease when the next one starts.
  const bursts = async (grantId: string, limits: Quota, rounds: number) => {
    let admitted = 0;
    for (let round = 0; round < rounds; round++) {
      for (const gate of gates) {
        const results = await Promise.all(
          Array.from({ length: 15 }, (_, i) =>
            gate.admit({
              caller: CALLER,
              nonce: { keyid: 'k1', nonce: `n-${n++}`, ttlSeconds: 30 },
              quota: { grantId, limits },
              now: now + round * 100 + i,
            }),
          ),
        );
        admitted += results.filter((r) => r.admitted).length;
      }
    }
    const key = `${prefix}{adm:D1:s1}:q:${grantId}:20260302`;
    const [day] = (await redis.call('BITFIELD', key, 'GET', 'u32', '#0')) as [number];
    return { admitted, day, key };
  };
  const tight = await bursts('g1', { perMinute: 1000, perDay: 150 }, 6);
  t.ok(tight.day <= 150, `the day counter (${tight.day}) never passes the limit`);
  t.ok(tight.admitted <= 150 && tight.admitted >= 150 - 3 * 32, `${tight.admitted} of 270 calls admitted`);

  const loose = await bursts('g2', { perDay: 10_000 }, 3);
  t.equal(loose.admitted, 135, 'every call admitted under a loose limit');
  t.ok(loose.day > loose.admitted, `the counter (${loose.day}) counts the units the instances hold`);
  await Promise.all(gates.map((gate) => gate.release()));
  const [released] = (await redis.call('BITFIELD', loose.key, 'GET', 'u32', '#0')) as [number];
  t.equal(released, loose.admitted, 'after release the day counter counts exactly the admitted calls');
});

t.test('usage reads what a grant has used this CST day and minute, and changes nothing', async (t) => {
  const { a } = await twoInstances(t);
  const limits = { perMinute: 10, perDay: 100 };
  const noon = at('2026-03-02T04:00:10Z'); // 12:00 CST
  t.same(await a.gate.usage(CALLER, 'g-read', noon), { minute: 0, day: 0 }, 'nothing before the first call');
  await a.consume('g-read', limits, at('2026-03-02T03:59:30Z'));
  await a.consume('g-read', limits, noon);
  await a.consume('g-read', limits, noon + 1000);
  await a.consume('g-other', limits, noon);
  t.same(await a.gate.usage(CALLER, 'g-read', noon + 2000), { minute: 2, day: 3 });
  t.same(
    await a.gate.usage(CALLER, 'g-read', noon + 2000),
    { minute: 2, day: 3 },
    'reading twice counts nothing',
  );
  t.same(
    await a.gate.usage({ deptCode: 'D2', systemId: 's1' }, 'g-read', noon),
    { minute: 0, day: 0 },
    'per caller',
  );
  // 2026-03-03 00:00:10 CST: a new day.
  t.same(
    await a.gate.usage(CALLER, 'g-read', at('2026-03-02T16:00:10Z')),
    { minute: 0, day: 0 },
    'per CST day',
  );
});
