/**
 * Call quotas counted in Redis, so that every gateway instance sees the same counts. One Lua script per
 * call checks both windows and increments both counters only when both are under their limits: a
 * refused call consumes nothing, and two instances can never both take the last unit.
 */
import type { RedisClient } from '../platform/redis.js';
import { checkQuota } from './decide.js';
import type { Quota } from './grant.js';
import { quotaKeys } from './keys.js';
import { cstDay, epochMinute, secondsToNextCstDay } from './quota-windows.js';

/*
 * KEYS[1] per-minute counter, KEYS[2] per-day counter (same hash tag, one slot)
 * ARGV[1] per-minute limit (0 = unlimited), ARGV[2] per-day limit (0 = unlimited)
 * ARGV[3] TTL of a new minute counter (s), ARGV[4] TTL of a new day counter (s)
 * Returns {allowed (1|0), minute count, day count}: after the increment when allowed, as they stand
 * when refused.
 */
const CONSUME_LUA = `
local m = tonumber(redis.call('GET', KEYS[1]) or '0')
local d = tonumber(redis.call('GET', KEYS[2]) or '0')
local lm = tonumber(ARGV[1])
local ld = tonumber(ARGV[2])
if (lm > 0 and m >= lm) or (ld > 0 and d >= ld) then
  return {0, m, d}
end
m = redis.call('INCR', KEYS[1])
if m == 1 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
d = redis.call('INCR', KEYS[2])
if d == 1 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
return {1, m, d}
`;

const COMMAND = 'govshareQuotaConsume';
// A minute counter outlives its window a little so that a late reader still sees it; a day counter
// lives until an hour after its CST day ends.
const MINUTE_TTL_S = 120;
const DAY_GRACE_S = 3600;

interface ConsumeCommand {
  [COMMAND](
    minuteKey: string,
    dayKey: string,
    perMinute: number,
    perDay: number,
    minuteTtl: number,
    dayTtl: number,
  ): Promise<[number, number, number]>;
}

export interface QuotaConsumption {
  allowed: boolean;
  /** Calls counted in the current minute and CST day (including this one when allowed). */
  usage: { minute: number; day: number };
  /** When refused: seconds until a call can succeed again (for Retry-After). */
  retryAfterSeconds?: number;
}

export class QuotaCounter {
  readonly #redis: RedisClient;
  readonly #keys: ReturnType<typeof quotaKeys>;

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#keys = quotaKeys(prefix);
    redis.defineCommand(COMMAND, { numberOfKeys: 2, lua: CONSUME_LUA });
  }

  /** Counts one call of `grantId` at `now` (ms) unless a limit is reached; one round trip. */
  async consume(grantId: string, limits: Quota, now: number): Promise<QuotaConsumption> {
    const [allowed, minute, day] = await (this.#redis as unknown as ConsumeCommand)[COMMAND](
      this.#keys.minute(grantId, epochMinute(now)),
      this.#keys.day(grantId, cstDay(now)),
      limits.perMinute ?? 0,
      limits.perDay ?? 0,
      MINUTE_TTL_S,
      secondsToNextCstDay(now) + DAY_GRACE_S,
    );
    const usage = { minute, day };
    if (allowed === 1) return { allowed: true, usage };
    const check = checkQuota({ id: grantId, quota: limits }, usage, now);
    return { allowed: false, usage, retryAfterSeconds: check.allow ? 1 : check.retryAfterSeconds };
  }
}
