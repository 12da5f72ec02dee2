import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import t from 'tap';
import { CoalescingRedis, createRedisClient, type RedisClient } from '../../platform/redis.js';
import { useRedis } from '../helpers/redis.js';

interface CountedSocket {
  _write: (...args: unknown[]) => unknown;
  _writev: (...args: unknown[]) => unknown;
}

/** Counts the writes the client's socket hands to the kernel (one per `_write` or `_writev`). */
function countWrites(client: RedisClient): () => number {
  const socket = (client as unknown as { stream: CountedSocket }).stream;
  let writes = 0;
  const write = socket._write;
  const writev = socket._writev;
  socket._write = function (...args) {
    writes++;
    return write.apply(this, args);
  };
  socket._writev = function (...args) {
    writes++;
    return writev.apply(this, args);
  };
  return () => writes;
}

async function ready(client: RedisClient): Promise<void> {
  if (client.status !== 'ready') await once(client, 'ready');
}

t.test('commands issued in one event-loop turn leave in one write, answered in order', async (t) => {
  const { server, prefix } = await useRedis(t);
  const coalescing = createRedisClient(server.url, { coalesceWrites: true });
  const plain = createRedisClient(server.url);
  t.teardown(async () => {
    await coalescing.quit();
    await plain.quit();
  });
  t.ok(coalescing instanceof CoalescingRedis);
  t.notOk(plain instanceof CoalescingRedis);
  await Promise.all([ready(coalescing), ready(plain)]);

  const key = `${prefix}counter`;
  const writesOf = countWrites(coalescing);
  const replies = await Promise.all(Array.from({ length: 100 }, () => coalescing.incr(key)));
  t.same(
    replies,
    Array.from({ length: 100 }, (_, i) => i + 1),
    'each command gets its own reply, in order',
  );
  t.equal(writesOf(), 1, '100 commands, one write');

  // The same through a plain client: one write per command, which is what the option removes.
  const plainWrites = countWrites(plain);
  await Promise.all(Array.from({ length: 100 }, () => plain.incr(key)));
  t.ok(plainWrites() > 50, `a plain client wrote ${plainWrites()} times for 100 commands`);

  // Commands of later turns are not held back: a chain of awaited commands completes.
  for (let i = 0; i < 20; i++) await coalescing.incr(key);
  t.equal(Number(await coalescing.get(key)), 220);
  t.equal(writesOf(), 22, 'one write per turn that issued commands');
});

t.test('an error reply fails only its own command in a coalesced write', async (t) => {
  const { server, prefix } = await useRedis(t);
  const client = createRedisClient(server.url, { coalesceWrites: true });
  t.teardown(() => client.quit());
  await ready(client);
  const list = `${prefix}list`;
  await client.rpush(list, 'a');
  const [before, wrongType, after] = await Promise.allSettled([
    client.set(`${prefix}x`, '1'),
    client.incr(list),
    client.lrange(list, 0, -1),
  ]);
  t.same(before, { status: 'fulfilled', value: 'OK' });
  t.equal(wrongType?.status, 'rejected');
  t.match(String((wrongType as PromiseRejectedResult).reason), /WRONGTYPE/);
  t.same(after, { status: 'fulfilled', value: ['a'] });
});

t.test('a connection lost with commands still corked settles them instead of hanging', async (t) => {
  const { server, prefix } = await useRedis(t);
  const client = createRedisClient(server.url, { coalesceWrites: true });
  t.teardown(() => client.quit());
  await ready(client);
  const key = `${prefix}${randomBytes(4).toString('hex')}`;
  const pending = Promise.allSettled(Array.from({ length: 10 }, () => client.incr(key)));
  (client as unknown as { stream: { destroy(): void } }).stream.destroy();
  const settled = await pending;
  t.equal(settled.length, 10);
  // Retried on the new connection (maxRetriesPerRequest) or failed: either way, each one settles and the
  // client keeps working.
  await ready(client);
  t.ok(Number((await client.get(key)) ?? 0) <= 10);
  t.equal(await client.set(key, 'again'), 'OK');
});
