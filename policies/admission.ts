/**
 * Admission: what a data call checks in Redis before its provider is asked. The signature's nonce is
 * recorded (a replay is refused) and the call is counted against its grant's quota (per minute and per
 * CST day; a refused call consumes nothing, and two instances can never both take the last unit). The
 * call statistics are not counted here but with the call's audit record, which the audit writer sends in
 * batches.
 *
 * The quota counters of a grant and CST day live in one Redis string read as a BITFIELD of unsigned
 * 32-bit counters: `#0` counts the day, `#1`..`#1440` the minutes of that day. An instance does not count
 * each call there: it **leases** units (one script run counts up to `MAX_LEASE` calls of the day and of
 * the minute at once) and admits calls against its lease locally, so a busy grant's call costs one Redis
 * command, the nonce's `SET NX GET`, instead of a script with three. The lease grows while calls come
 * fast (doubling each time it is renewed within a second, from 1) and never takes more than half of
 * what is left under a limit, so near the limit leases shrink to single units and the limit stays exact
 * across instances: units are taken in Redis before they are used, never after. Units leased and not used
 * are counted as used: a minute's until it ends, a day's until the instance returns them on close (or
 * for the rest of the day if it crashed). So the counters read by `usage` can run ahead of the calls by
 * at most `MAX_LEASE` per instance, and a limit is never exceeded.
 *
 * The nonce and quota keys of a caller share one hash tag, so the script runs on Redis Cluster; the tag
 * is the caller's department and system, which a keyid belongs to for its whole life, so a replay always
 * meets its nonce, even after the grant changed.
 */
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../platform/redis.js';
import { checkQuota } from './decide.js';
import type { Quota } from './grant.js';
import { admissionKeys } from './keys.js';
import { cstDay, cstMinuteOfDay, secondsToNextCstDay } from './quota-windows.js';

/** The most units one lease takes: how far the counters may run ahead of the calls, per instance. */
export const MAX_LEASE = 32;
/** A lease renewed sooner than this after the last one doubles (ms). */
const FAST_RENEWAL_MS = 1000;

/*
 * KEYS[1] the nonce, KEYS[2] the grant's quota counters of the day (one slot)
 * ARGV[1] a token unique to this call, ARGV[2] nonce TTL (s; 0 = the nonce was recorded already),
 * ARGV[3] '1' to count the quota, else '0', ARGV[4] the minute's counter (#1..#1440),
 * ARGV[5] per-minute limit, ARGV[6] per-day limit (0 = none), ARGV[7] TTL of a new day's counters (s),
 * ARGV[8] day units wanted, ARGV[9] minute units wanted (either may be 0 when the caller holds some)
 * Returns {state, minute count, day count, day units granted, minute units granted}: state 1 admitted
 * (the call takes one of each unit wanted, the rest is its instance's lease), 0 over the quota (nothing
 * granted), -1 a replay. Counts include what was granted.
 *
 * Each limit grants at most half of what is left under it (rounded up), so that other instances still
 * find units; when both kinds are wanted, the same number of each is granted. The nonce keeps the token,
 * the outcome and the grant: when ioredis sends the script again after a reconnect (its reply was lost),
 * the call meets its own token and gets its first outcome, counted once.
 */
const ADMIT_LUA = `
local counted = ARGV[3] == '1'
local minute = '#' .. ARGV[4]
local wd, wm = tonumber(ARGV[8]), tonumber(ARGV[9])
local d, m, gd, gm = 0, 0, 0, 0
local state = 1
if counted then
  local v = redis.call('BITFIELD', KEYS[2], 'INCRBY', 'u32', '#0', wd, 'INCRBY', 'u32', minute, wm)
  d, m = v[1], v[2]
  if wd > 0 and d == wd then redis.call('EXPIRE', KEYS[2], ARGV[7]) end
  local function grant(want, after, limit)
    if want == 0 or limit <= 0 then return want end
    local rest = limit - (after - want)
    if rest <= 0 then return 0 end
    return math.min(want, math.ceil(rest / 2))
  end
  gd, gm = grant(wd, d, tonumber(ARGV[6])), grant(wm, m, tonumber(ARGV[5]))
  if (wd > 0 and gd == 0) or (wm > 0 and gm == 0) then
    state, gd, gm = 0, 0, 0
  elseif wd > 0 and wm > 0 then
    gd = math.min(gd, gm)
    gm = gd
  end
  if gd < wd or gm < wm then
    redis.call('BITFIELD', KEYS[2], 'INCRBY', 'u32', '#0', gd - wd, 'INCRBY', 'u32', minute, gm - wm)
    d, m = d - wd + gd, m - wm + gm
  end
end
if ARGV[2] ~= '0' then
  local prev = redis.call('SET', KEYS[1], ARGV[1] .. ':' .. state .. ':' .. gd .. ':' .. gm, 'NX', 'EX', ARGV[2], 'GET')
  if prev then
    if gd > 0 or gm > 0 then
      redis.call('BITFIELD', KEYS[2], 'INCRBY', 'u32', '#0', -gd, 'INCRBY', 'u32', minute, -gm)
      d, m = d - gd, m - gm
    end
    if string.sub(prev, 1, #ARGV[1] + 1) == ARGV[1] .. ':' then
      local s, pd, pm = string.match(prev, ':(-?%d+):(%d+):(%d+)$')
      if s then return {tonumber(s), m, d, tonumber(pd), tonumber(pm)} end
    end
    return {-1, m, d, 0, 0}
  end
end
return {state, m, d, gd, gm}
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
    wantDay: number,
    wantMinute: number,
  ): Promise<[number, number, number, number, number]>;
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

/** This instance's units of one grant's counters (one caller, one CST day). */
interface Lease {
  key: string;
  day: string;
  dayUnits: number;
  /** The counter the minute units belong to; units of an earlier minute are void. */
  minuteField: number;
  minuteUnits: number;
  /** The counters as the last lease left them. */
  dayCount: number;
  minuteCount: number;
  /** Units the next renewal asks for. */
  size: number;
  lastRenewal: number;
  /** The renewal in flight: calls without a unit wait for it rather than each asking Redis. */
  renewing?: Promise<unknown>;
  waiting: number;
  /** The last renewal was refused: calls go to Redis one by one (a unit may free up) until one is admitted. */
  exhausted: boolean;
}

/** Keys of leases kept before those of past days are swept. */
const LEASES_BEFORE_SWEEP = 10_000;

export class AdmissionGate {
  readonly #redis: RedisClient;
  readonly #keys: ReturnType<typeof admissionKeys>;
  readonly #leases = new Map<string, Lease>();

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#keys = admissionKeys(prefix);
    redis.defineCommand(COMMAND, { numberOfKeys: 2, lua: ADMIT_LUA });
  }

  async admit(request: AdmissionRequest): Promise<Admission> {
    const { caller, nonce, quota, now } = request;
    // A nonce with no time left to live was recorded already (the script's convention, ARGV[2] = 0).
    const nonceKey =
      nonce && nonce.ttlSeconds > 0
        ? this.#keys.nonce(caller.deptCode, caller.systemId, nonce.keyid, nonce.nonce)
        : undefined;
    if (!quota) {
      if (!nonce || !nonceKey) return { admitted: true };
      return (await this.#recordNonce(nonceKey, nonce.ttlSeconds)) ? { admitted: true } : REPLAY;
    }
    const day = cstDay(now);
    const minuteField = 1 + cstMinuteOfDay(now);
    const lease = this.#lease(this.#keys.quota(caller.deptCode, caller.systemId, quota.grantId, day), day);
    for (;;) {
      if (lease.minuteField !== minuteField) {
        lease.minuteField = minuteField;
        lease.minuteUnits = 0;
        lease.minuteCount = 0;
        lease.exhausted = false;
      }
      if (lease.dayUnits > 0 && lease.minuteUnits > 0) {
        lease.dayUnits--;
        lease.minuteUnits--;
        const usage = {
          minute: lease.minuteCount - lease.minuteUnits,
          day: lease.dayCount - lease.dayUnits,
        };
        if (!nonce || !nonceKey || (await this.#recordNonce(nonceKey, nonce.ttlSeconds)))
          return { admitted: true, usage };
        // A replay takes nothing: the unit goes back to the lease (if its minute is still current).
        lease.dayUnits++;
        if (lease.minuteField === minuteField) lease.minuteUnits++;
        return REPLAY;
      }
      if (lease.renewing && !lease.exhausted) {
        lease.waiting++;
        await lease.renewing.catch(() => undefined);
        lease.waiting--;
        continue;
      }
      return this.#renew(lease, request, nonceKey, minuteField);
    }
  }

  /** One script run: this call's nonce and admission, and more units for the lease when it is admitted. */
  async #renew(
    lease: Lease,
    request: AdmissionRequest,
    nonceKey: string | undefined,
    minuteField: number,
  ): Promise<Admission> {
    const { now } = request;
    const { grantId, limits } = request.quota!;
    lease.size =
      now - lease.lastRenewal < FAST_RENEWAL_MS
        ? Math.min(MAX_LEASE, lease.size * 2)
        : Math.max(1, lease.size >> 1);
    lease.lastRenewal = now;
    const want = Math.min(MAX_LEASE, Math.max(lease.size, lease.waiting + 1));
    // A unit this instance holds already is this call's: taken now, given back if the call is refused.
    const heldDay = lease.dayUnits > 0;
    const heldMinute = lease.minuteUnits > 0;
    if (heldDay) lease.dayUnits--;
    if (heldMinute) lease.minuteUnits--;
    const run = (this.#redis as unknown as AdmitCommand)[COMMAND](
      nonceKey ?? this.#keys.nonce('-', '-', '-', '-'),
      lease.key,
      randomUUID(),
      nonceKey ? request.nonce!.ttlSeconds : 0,
      '1',
      minuteField,
      limits.perMinute ?? 0,
      limits.perDay ?? 0,
      secondsToNextCstDay(now) + DAY_GRACE_S,
      heldDay ? 0 : want,
      heldMinute ? 0 : want,
    );
    // Once refused, calls ask one by one: each must record its nonce anyway, and a unit may free up.
    if (!lease.exhausted) lease.renewing = run;
    let reply: Awaited<typeof run>;
    try {
      reply = await run;
    } catch (err) {
      this.#giveBack(lease, heldDay, heldMinute, minuteField);
      throw err;
    } finally {
      if (lease.renewing === run) lease.renewing = undefined;
    }
    const [state, minute, day, grantedDay, grantedMinute] = reply;
    if (state !== 1) {
      this.#giveBack(lease, heldDay, heldMinute, minuteField);
      if (state === -1) return REPLAY;
      lease.exhausted = true;
      const usage = { minute, day };
      const check = checkQuota({ id: grantId, quota: limits }, usage, now);
      return {
        admitted: false,
        reason: 'quota',
        usage,
        retryAfterSeconds: check.allow ? 1 : check.retryAfterSeconds,
      };
    }
    lease.exhausted = false;
    lease.dayUnits += grantedDay - (heldDay ? 0 : 1);
    lease.dayCount = day;
    if (lease.minuteField === minuteField) {
      lease.minuteUnits += grantedMinute - (heldMinute ? 0 : 1);
      lease.minuteCount = minute;
    }
    return { admitted: true, usage: this.#usage(lease, minuteField) };
  }

  #giveBack(lease: Lease, day: boolean, minute: boolean, minuteField: number): void {
    if (day) lease.dayUnits++;
    if (minute && lease.minuteField === minuteField) lease.minuteUnits++;
  }

  /** The counters less the units this instance holds: exact with one instance, at most ahead with many. */
  #usage(lease: Lease, minuteField: number): QuotaUsage {
    return {
      minute: lease.minuteField === minuteField ? lease.minuteCount - lease.minuteUnits : 0,
      day: lease.dayCount - lease.dayUnits,
    };
  }

  /** `SET NX GET` of a nonce with a fresh token: false when it was there already (a replay). */
  async #recordNonce(key: string, ttlSeconds: number): Promise<boolean> {
    const token = randomUUID();
    const prev = (await this.#redis.set(key, `${token}:1`, 'EX', ttlSeconds, 'NX', 'GET')) as string | null;
    // ioredis sends a command again after a reconnect when its reply was lost: its own token is no replay.
    return prev === null || prev.startsWith(`${token}:`);
  }

  #lease(key: string, day: string): Lease {
    let lease = this.#leases.get(key);
    if (lease) return lease;
    if (this.#leases.size >= LEASES_BEFORE_SWEEP) {
      for (const [other, held] of this.#leases)
        if (held.day !== day && !held.renewing) this.#leases.delete(other);
    }
    lease = {
      key,
      day,
      dayUnits: 0,
      minuteField: 0,
      minuteUnits: 0,
      dayCount: 0,
      minuteCount: 0,
      size: 1,
      lastRenewal: Number.NEGATIVE_INFINITY,
      waiting: 0,
      exhausted: false,
    };
    this.#leases.set(key, lease);
    return lease;
  }

  /**
   * What `caller` has used of grant `grantId`'s quota at `now`: the calls counted this CST day and this
   * minute (0 before the first), less the units this instance holds unused; other instances' unused
   * units are counted (at most `MAX_LEASE` each). Only grants with limits are counted; this read changes
   * nothing.
   */
  async usage(
    caller: { deptCode: string; systemId: string },
    grantId: string,
    now: number,
  ): Promise<QuotaUsage> {
    const key = this.#keys.quota(caller.deptCode, caller.systemId, grantId, cstDay(now));
    const minuteField = 1 + cstMinuteOfDay(now);
    const [day, minute] = (await this.#redis.call(
      'BITFIELD',
      key,
      'GET',
      'u32',
      '#0',
      'GET',
      'u32',
      `#${minuteField}`,
    )) as [number | null, number | null];
    const lease = this.#leases.get(key);
    const heldMinute = lease?.minuteField === minuteField ? lease.minuteUnits : 0;
    return { minute: (minute ?? 0) - heldMinute, day: (day ?? 0) - (lease?.dayUnits ?? 0) };
  }

  /**
   * Gives the day units this instance holds back to the counters (on shutdown), so that they count for
   * no call. Minute units are left: their minute ends soon, and another instance may be using it.
   */
  async release(): Promise<void> {
    const held = [...this.#leases.values()].filter((lease) => lease.dayUnits > 0 && !lease.renewing);
    this.#leases.clear();
    await Promise.all(
      held.map((lease) =>
        this.#redis.call('BITFIELD', lease.key, 'OVERFLOW', 'SAT', 'INCRBY', 'u32', '#0', -lease.dayUnits),
      ),
    );
  }
}

const REPLAY: Admission = { admitted: false, reason: 'replay' };
