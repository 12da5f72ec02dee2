import t from 'tap';
import { createRedisClient } from '../../platform/redis.js';
import { QuotaCounter } from '../../policies/quota.js';
import { useRedis } from '../helpers/redis.js';

/** Two gateway instances: separate connections, one Redis, one key prefix. */
async function twoInstances(t: Parameters<typeof useRedis>[0]) {
  const { server, redis, prefix } = await useRedis(t);
  const other = createRedisClient(server.url);
  t.teardown(() => other.quit().then(() => undefined));
  return { a: new QuotaCounter(redis, prefix), b: new QuotaCounter(other, prefix), redis, prefix };
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
  const keys = (await redis.keys(`${prefix}*`)).sort();
  t.same(
    keys.filter((k) => k.includes(':d:')),
    [`${prefix}{quota:g1}:d:20260302`, `${prefix}{quota:g1}:d:20260303`],
  );
  const ttl = await redis.ttl(`${prefix}{quota:g1}:d:20260303`);
  t.ok(ttl > 86_000 && ttl <= 86_400 + 3600, `day counter expires after its day (${ttl} s)`);
  t.ok((await redis.ttl(`${prefix}{quota:g1}:m:${Math.floor(before / 60_000)}`)) <= 120);
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
