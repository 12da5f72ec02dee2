import { randomBytes } from 'node:crypto';
import { createRedisClient, type RedisClient } from '../../platform/redis.js';
import { type LocalRedis, startLocalRedis } from '../../scripts/lib/local-redis.js';
import { atProcessEnd, type Scope } from './scope.js';

let shared: Promise<LocalRedis> | undefined;

/**
 * One real redis-server per test file (tap runs files in separate processes), started on first use and
 * stopped when the file's root test ends. Each caller gets its own key prefix so tests never collide.
 */
export async function useRedis(
  t: Scope,
): Promise<{ server: LocalRedis; redis: RedisClient; prefix: string }> {
  if (!shared) {
    shared = startLocalRedis();
    await atProcessEnd(async () => (await shared!).stop());
  }
  const server = await shared;
  const redis = createRedisClient(server.url);
  const prefix = `gs:t${randomBytes(4).toString('hex')}:`;
  t.teardown(() => redis.quit().then(() => undefined));
  return { server, redis, prefix };
}
