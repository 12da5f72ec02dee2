import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { ProviderLimiter } from '../../exchange/provider-limit.js';
import { useRedis } from '../helpers/redis.js';

const PROVIDER = '11420100010000303G';

t.test('at most N leases per provider; releasing frees a slot', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const limiter = new ProviderLimiter(redis, prefix, { limit: 2, leaseMs: 10_000 });
  t.ok(await limiter.tryAcquire(PROVIDER, 'a'));
  t.ok(await limiter.tryAcquire(PROVIDER, 'b'));
  t.notOk(await limiter.tryAcquire(PROVIDER, 'c'), 'the third is refused');
  t.ok(await limiter.tryAcquire(PROVIDER, 'a'), 'a holder renews its own lease');
  t.ok(await limiter.tryAcquire('91350100M000100Y43', 'c'), 'other providers are counted apart');
  t.equal(await limiter.held(PROVIDER), 2);
  await limiter.release(PROVIDER, 'a');
  t.ok(await limiter.tryAcquire(PROVIDER, 'c'));
  t.equal(await limiter.held(PROVIDER), 2);
});

t.test('a lease nobody renews runs out (a dead worker frees its slot)', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const limiter = new ProviderLimiter(redis, prefix, { limit: 1, leaseMs: 150 });
  t.ok(await limiter.tryAcquire(PROVIDER, 'dead-worker'));
  t.notOk(await limiter.tryAcquire(PROVIDER, 'live-worker'));
  await sleep(200);
  t.notOk(await limiter.renew(PROVIDER, 'dead-worker'), 'too late to renew');
  t.ok(await limiter.tryAcquire(PROVIDER, 'live-worker'));
});

t.test('a held lease is renewed until released', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const limiter = new ProviderLimiter(redis, prefix, { limit: 1, leaseMs: 150 });
  const lease = await limiter.hold(PROVIDER, 'runner');
  t.ok(lease?.held);
  t.equal(await limiter.hold(PROVIDER, 'other'), undefined, 'full while held');
  await sleep(400);
  t.notOk(await limiter.tryAcquire(PROVIDER, 'other'), 'still held after several lease times');
  await lease!.release();
  t.ok(await limiter.tryAcquire(PROVIDER, 'other'));
  t.throws(() => new ProviderLimiter(redis, prefix, { limit: 0, leaseMs: 1000 }), RangeError);
});
