/**
 * The Lua scripts of the audit trail and one helper that sends several commands in one round trip:
 * a pipeline on a standalone or Sentinel client; on a Cluster (where a pipeline must stay within one
 * slot) the commands are sent at once without waiting for each other, which costs the same latency.
 */
import { Cluster } from 'ioredis';
import type { RedisClient } from '../platform/redis.js';

export const APPEND_COMMAND = 'govshareAuditAppend';

/**
 * Appends a batch of chained records to one instance's stream and moves the head, atomically.
 *
 * KEYS[1] the instance's stream, KEYS[2] its head hash, KEYS[3] its shipped hash (same hash tag)
 * ARGV[1] the head seq the writer expects ("0" for an empty chain)
 * ARGV[2] the head hash the writer expects (64 zeros for an empty chain)
 * ARGV[3] the high-water mark: most records allowed beyond the one last shipped to PostgreSQL
 *         (0 = no audit store, no limit)
 * ARGV[4..] five values per record in chain order: stream id, seq, prev, hash, rec
 *
 * Returns {records appended, seq and stream id of the last record shipped ('0', '' when none)}.
 * Errors (nothing is written in any case):
 * - `AUDITCONFLICT <seq> <hash>`: the head is not what the writer expected;
 * - `AUDITBACKLOG <unshipped>`: appending would leave more unshipped records than the high-water mark;
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
local n = (#ARGV - 3) / 5
local limit = tonumber(ARGV[3])
local shippedSeq, shippedId = unpack(redis.call('HMGET', KEYS[3], 'seq', 'id'))
if limit > 0 then
  local unshipped = tonumber(seq) + n - tonumber(shippedSeq or '0')
  if unshipped > limit then return redis.error_reply('AUDITBACKLOG ' .. unshipped) end
end
local id
for i = 0, n - 1 do
  local b = 4 + i * 5
  local r = redis.pcall('XADD', KEYS[1], ARGV[b], 'seq', ARGV[b + 1], 'prev', ARGV[b + 2], 'hash', ARGV[b + 3], 'rec', ARGV[b + 4])
  if type(r) == 'table' and r.err then
    if i == 0 then return redis.error_reply('AUDITBROKEN ' .. r.err) end
    return r
  end
  id = r
end
local last = 4 + (n - 1) * 5
redis.call('HSET', KEYS[2], 'seq', ARGV[last + 1], 'hash', ARGV[last + 3], 'id', id)
return {n, shippedSeq or '0', shippedId or ''}
`;

type Arg = string | number;
export type Command = [name: string, ...args: Arg[]];
export type Outcome = { ok: true; value: unknown } | { ok: false; error: Error };
type CommandTarget = Record<string, (...args: Arg[]) => unknown>;

/** Defines the scripts on the client once (ioredis sends EVALSHA and falls back to EVAL by itself). */
export function defineAuditScripts(redis: RedisClient): void {
  const target = redis as unknown as CommandTarget;
  if (typeof target[APPEND_COMMAND] !== 'function') {
    redis.defineCommand(APPEND_COMMAND, { lua: APPEND_LUA, numberOfKeys: 3 });
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
