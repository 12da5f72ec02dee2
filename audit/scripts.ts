/**
 * The Lua scripts of the audit trail and one helper that sends several commands in one round trip:
 * a pipeline on a standalone or Sentinel client; on a Cluster (where a pipeline must stay within one
 * slot) the commands are sent at once without waiting for each other, which costs the same latency.
 */
import { Cluster } from 'ioredis';
import type { RedisClient } from '../platform/redis.js';

export const APPEND_COMMAND = 'govshareAuditAppend';
export const INDEX_COMMAND = 'govshareAuditIndex';

/**
 * Appends a batch of chained records to one instance's stream and moves the head, atomically.
 *
 * KEYS[1] the instance's stream, KEYS[2] its head hash (same hash tag)
 * ARGV[1] the head seq the writer expects ("0" for an empty chain)
 * ARGV[2] the head hash the writer expects (64 zeros for an empty chain)
 * ARGV[3..] five values per record in chain order: stream id, seq, prev, hash, rec
 *
 * Returns the number of records appended. Errors (nothing is written in either case):
 * - `AUDITCONFLICT <seq> <hash>`: the head is not what the writer expected;
 * - `AUDITBROKEN <reason>`: the stream already holds an entry at or beyond the first new id.
 * A missing head (new chain, or a lost head key) is taken from the stream's last entry.
 */
const APPEND_LUA = `
local seq, hash = unpack(redis.call('HMGET', KEYS[2], 'seq', 'hash'))
if not seq then
  seq, hash = '0', string.rep('0', 64)
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
  if last then
    local f = last[2]
    for i = 1, #f, 2 do
      if f[i] == 'seq' then seq = f[i + 1] elseif f[i] == 'hash' then hash = f[i + 1] end
    end
  end
end
if seq ~= ARGV[1] or hash ~= ARGV[2] then
  return redis.error_reply('AUDITCONFLICT ' .. tostring(seq) .. ' ' .. tostring(hash))
end
local n = (#ARGV - 2) / 5
local id
for i = 0, n - 1 do
  local b = 3 + i * 5
  local r = redis.pcall('XADD', KEYS[1], ARGV[b], 'seq', ARGV[b + 1], 'prev', ARGV[b + 2], 'hash', ARGV[b + 3], 'rec', ARGV[b + 4])
  if type(r) == 'table' and r.err then
    if i == 0 then return redis.error_reply('AUDITBROKEN ' .. r.err) end
    return r
  end
  id = r
end
local last = 3 + (n - 1) * 5
redis.call('HSET', KEYS[2], 'seq', ARGV[last + 1], 'hash', ARGV[last + 3], 'id', id)
return n
`;

/**
 * Adds members to index sorted sets and applies the retention window to each key it touches.
 *
 * KEYS[1..k] index keys
 * ARGV[1] cutoff score: members scored below it are removed
 * ARGV[2] time to live of each key in ms (a key nobody wrote to for that long holds only expired members)
 * ARGV[3..] per key, in KEYS order: the member count m (negative: add only, do not trim or expire the key
 *          this time), then |m| pairs of score, member
 *
 * Returns the number of keys touched.
 */
const INDEX_LUA = `
local cutoff, ttl, a = ARGV[1], ARGV[2], 3
for k = 1, #KEYS do
  local m = tonumber(ARGV[a])
  local trim = m > 0
  if not trim then m = -m end
  redis.call('ZADD', KEYS[k], unpack(ARGV, a + 1, a + 2 * m))
  if trim then
    redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', '(' .. cutoff)
    redis.call('PEXPIRE', KEYS[k], ttl)
  end
  a = a + 1 + 2 * m
end
return #KEYS
`;

type Arg = string | number;
export type Command = [name: string, ...args: Arg[]];
export type Outcome = { ok: true; value: unknown } | { ok: false; error: Error };
type CommandTarget = Record<string, (...args: Arg[]) => unknown>;

/** Defines the scripts on the client once (ioredis sends EVALSHA and falls back to EVAL by itself). */
export function defineAuditScripts(redis: RedisClient): void {
  const target = redis as unknown as CommandTarget;
  if (typeof target[APPEND_COMMAND] !== 'function') {
    redis.defineCommand(APPEND_COMMAND, { lua: APPEND_LUA, numberOfKeys: 2 });
  }
  if (typeof target[INDEX_COMMAND] !== 'function') {
    redis.defineCommand(INDEX_COMMAND, { lua: INDEX_LUA });
  }
}

/** Sends the commands in one round trip; each outcome says whether its command succeeded. */
export async function roundTrip(redis: RedisClient, commands: Command[]): Promise<Outcome[]> {
  if (commands.length === 0) return [];
  if (redis instanceof Cluster) {
    const target = redis as unknown as CommandTarget;
    const settled = await Promise.allSettled(
      commands.map(([name, ...args]) => Promise.resolve(target[name]!.call(redis, ...args))),
    );
    return settled.map((s) =>
      s.status === 'fulfilled' ? { ok: true, value: s.value } : { ok: false, error: toError(s.reason) },
    );
  }
  const pipeline = redis.pipeline();
  const target = pipeline as unknown as CommandTarget;
  for (const [name, ...args] of commands) target[name]!.call(pipeline, ...args);
  const results = await pipeline.exec();
  if (!results) throw new Error('the Redis pipeline was discarded');
  return results.map(([error, value]) => (error ? { ok: false, error } : { ok: true, value }));
}

/**
 * Sends the commands back to back without a pipeline and gives one promise per command, so a caller
 * can act on the first reply while Redis still works on the rest (the writer answers its callers once
 * the records are stored and lets the index writes finish behind them).
 */
export function sendEach(redis: RedisClient, commands: Command[]): Promise<unknown>[] {
  const target = redis as unknown as CommandTarget;
  return commands.map(([name, ...args]) => {
    try {
      return Promise.resolve(target[name]!.call(redis, ...args));
    } catch (err) {
      return Promise.reject(toError(err));
    }
  });
}

/** Like roundTrip, but throws the first failure and returns the values. */
export async function roundTripValues(redis: RedisClient, commands: Command[]): Promise<unknown[]> {
  const outcomes = await roundTrip(redis, commands);
  return outcomes.map((o) => {
    if (!o.ok) throw o.error;
    return o.value;
  });
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
