/**
 * Admission: the one Redis round trip a data call makes before its provider is asked. One Lua script
 * records the signature's nonce (a replay is refused) and counts the call against its grant's quota
 * (per minute and per CST day; a refused call consumes nothing, and two instances can never both take
 * the last unit). The call statistics are not counted here but with the call's audit record, which the
 * audit writer sends in batches.
 *
 * The quota counters of a grant and CST day live in one Redis string read as a BITFIELD of unsigned
 * 32-bit counters: `#0` counts the day, `#1`..`#1440` the minutes of that day, so one BITFIELD
 * command increments both windows. With the nonce `SET ... NX GET`, an admitted call costs three Redis
 * commands (EVALSHA, BITFIELD, SET). The nonce and quota keys of a caller share one hash tag, so the
 * script runs on Redis Cluster; the tag is the caller's department and system, which a keyid belongs
 * to for its whole life, so a replay always meets its nonce, even after the grant changed.
 */
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../platform/redis.js';
import { checkQuota } from './decide.js';
import type { Quota } from './grant.js';
import { admissionKeys } from './keys.js';
import { cstDay, cstMinuteOfDay, secondsToNextCstDay } from './quota-windows.js';

/*
 * KEYS[1] the nonce, KEYS[2] the grant's quota counters of the day (one slot)
 * ARGV[1] a token unique to this call, ARGV[2] nonce TTL (s; 0 = the nonce was recorded already), ARGV[3] '1' to count the quota, else '0',
 * ARGV[4] the minute's counter (#1..#1440), ARGV[5] per-minute limit, ARGV[6] per-day limit (0 = none),
 * ARGV[7] TTL of a new day's counters (s)
 * Returns {state, minute count, day count}: state 1 admitted, 0 over the quota, -1 a replay. Counts are
 * after this call's increment when admitted, as they stand otherwise.
 *
 * The nonce keeps the token and the outcome: when ioredis sends the script again after a reconnect
 * (its reply was lost), the call meets its own token and gets its first outcome, counted once.
 */
const ADMIT_LUA = `
local counted = ARGV[3] == '1'
local minute = '#' .. ARGV[4]
local d, m = 0, 0
if counted then
  local v = redis.call('BITFIELD', KEYS[2], 'INCRBY', 'u32', '#0', 1, 'INCRBY', 'u32', minute, 1)
  d, m = v[1], v[2]
  if d == 1 then redis.call('EXPIRE', KEYS[2], ARGV[7]) end
end
local lm, ld = tonumber(ARGV[5]), tonumber(ARGV[6])
local state = 1
if counted and ((lm > 0 and m > lm) or (ld > 0 and d > ld)) then state = 0 end
local prev = false
if ARGV[2] ~= '0' then
  prev = redis.call('SET', KEYS[1], ARGV[1] .. ':' .. state, 'NX', 'EX', ARGV[2], 'GET')
end
if prev then
  local own = string.sub(prev, 1, #ARGV[1]) == ARGV[1]
  state = own and tonumber(string.sub(prev, #ARGV[1] + 2)) or -1
  if counted then
    redis.call('BITFIELD', KEYS[2], 'INCRBY', 'u32', '#0', -1, 'INCRBY', 'u32', minute, -1)
    d, m = d - 1, m - 1
  end
  return {state, m, d}
end
if state == 0 then
  redis.call('BITFIELD', KEYS[2], 'INCRBY', 'u32', '#0', -1, 'INCRBY', 'u32', minute, -1)
  d, m = d - 1, m - 1
end
return {state, m, d}
`;

const COMMAND = 'govshareAdmit';
// The day's counters live until an hour after the CST day ends, so a late reader still sees them.
const DAY_GRACE_S = 3600;

interface AdmitCommand {
  [COMMAND](
    nonceKey: string,
    quotaKey: string,
    token: string,
    nonceTtl: number,
    counted: '0' | '1',
    minuteField: number,
    perMinute: number,
    perDay: number,
    dayTtl: number,
  ): Promise<[number, number, number]>;
}

export interface AdmissionRequest {
  /** The caller's department and system: the hash tag of its nonce and quota keys. */
  caller: { deptCode: string; systemId: string };
  /** The verified signature's keyid and nonce, remembered for `ttlSeconds`; omitted when recorded already. */
  nonce?: { keyid: string; nonce: string; ttlSeconds: number };
  /** The grant's quota; omitted for a call that counts none (it was refused before, or has no limit). */
  quota?: { grantId: string; limits: Quota };
  /** ms since the epoch. */
  now: number;
}

export type Admission =
  | { admitted: true; usage?: QuotaUsage }
  | { admitted: false; reason: 'replay' }
  | { admitted: false; reason: 'quota'; usage: QuotaUsage; retryAfterSeconds: number };

/** Calls counted in the current minute and CST day (including this one when admitted). */
export interface QuotaUsage {
  minute: number;
  day: number;
}

export class AdmissionGate {
  readonly #redis: RedisClient;
  readonly #keys: ReturnType<typeof admissionKeys>;

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#keys = admissionKeys(prefix);
    redis.defineCommand(COMMAND, { numberOfKeys: 2, lua: ADMIT_LUA });
  }

  async admit(request: AdmissionRequest): Promise<Admission> {
    const { caller, nonce, quota, now } = request;
    const day = cstDay(now);
    const [state, minute, dayCount] = await (this.#redis as unknown as AdmitCommand)[COMMAND](
      this.#keys.nonce(caller.deptCode, caller.systemId, nonce?.keyid ?? '-', nonce?.nonce ?? '-'),
      this.#keys.quota(caller.deptCode, caller.systemId, quota?.grantId ?? '-', day),
      randomUUID(),
      nonce?.ttlSeconds ?? 0,
      quota ? '1' : '0',
      1 + cstMinuteOfDay(now),
      quota?.limits.perMinute ?? 0,
      quota?.limits.perDay ?? 0,
      secondsToNextCstDay(now) + DAY_GRACE_S,
    );
    if (state === -1) return { admitted: false, reason: 'replay' };
    if (!quota) return { admitted: true };
    const usage = { minute, day: dayCount };
    if (state === 1) return { admitted: true, usage };
    const check = checkQuota({ id: quota.grantId, quota: quota.limits }, usage, now);
    return {
      admitted: false,
      reason: 'quota',
      usage,
      retryAfterSeconds: check.allow ? 1 : check.retryAfterSeconds,
    };
  }

  /**
   * What `caller` has used of grant `grantId`'s quota at `now`: the calls counted this CST day and this
   * minute (0 before the first). Only grants with limits are counted; this read changes nothing.
   */
  async usage(
    caller: { deptCode: string; systemId: string },
    grantId: string,
    now: number,
  ): Promise<QuotaUsage> {
    const [day, minute] = (await this.#redis.call(
      'BITFIELD',
      this.#keys.quota(caller.deptCode, caller.systemId, grantId, cstDay(now)),
      'GET',
      'u32',
      '#0',
      'GET',
      'u32',
      `#${1 + cstMinuteOfDay(now)}`,
    )) as [number | null, number | null];
    return { minute: minute ?? 0, day: day ?? 0 };
  }
}
