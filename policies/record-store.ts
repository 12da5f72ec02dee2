/**
 * What the application and objection stores share: JSON records in one hash, a sequence for their ids,
 * sorted-set indexes, and an outbox stream of events and timers written with each change (the relay
 * moves them to the queues). Both write with the same Lua script; what they claim and index is theirs.
 */
import type { RedisClient } from '../gateway/redis.js';
import type { OutboxEntry } from './applications/schema.js';

/*
 * One optimistic write of a record: the new JSON only if the stored one is still what was read, with the
 * record's claim, index changes and outbox entry in the same step.
 * KEYS[1] data hash, KEYS[2] claims hash, KEYS[3] outbox stream, KEYS[4..] index sorted sets
 * ARGV[1] id, ARGV[2] JSON as read ('' = a new record), ARGV[3] new JSON,
 * ARGV[4] claim op ('claim' | 'release' | ''), ARGV[5] claim field (e.g. the consumer and resource of an
 * application, the record and item of an objection), ARGV[6] outbox entry JSON ('' = none),
 * then 4 values per index op: 'add' | 'rem', position of its key in KEYS, score, member.
 * Returns {1}; {0} when the stored JSON changed since it was read (or the new id is taken);
 * {-2, otherId} when the claim field belongs to another record that still exists (another open
 * application of the consumer for the resource, another open objection to the same record and item).
 */
export const RECORD_WRITE_LUA = `
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  if stored then return {0} end
elseif stored ~= ARGV[2] then
  return {0}
end
if ARGV[4] == 'claim' then
  local other = redis.call('HGET', KEYS[2], ARGV[5])
  if other and other ~= ARGV[1] and redis.call('HEXISTS', KEYS[1], other) == 1 then return {-2, other} end
  redis.call('HSET', KEYS[2], ARGV[5], ARGV[1])
elseif ARGV[4] == 'release' then
  if redis.call('HGET', KEYS[2], ARGV[5]) == ARGV[1] then redis.call('HDEL', KEYS[2], ARGV[5]) end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
for i = 7, #ARGV, 4 do
  local key = KEYS[tonumber(ARGV[i + 1])]
  if ARGV[i] == 'add' then redis.call('ZADD', key, ARGV[i + 2], ARGV[i + 3])
  else redis.call('ZREM', key, ARGV[i + 3]) end
end
if ARGV[6] ~= '' then redis.call('XADD', KEYS[3], '*', 'entry', ARGV[6]) end
return {1}
`;

/** A record's place in one index: its sorted set, score and member. */
export interface IndexMembership {
  key: string;
  score: number;
  member: string;
}

/**
 * The index arguments of RECORD_WRITE_LUA that move a record from the memberships it had (`before`,
 * empty for a new record) to those it has now: the index keys (KEYS[4..]) and the ops (ARGV[7..]).
 */
export function indexChanges(
  before: readonly IndexMembership[],
  after: readonly IndexMembership[],
): { keys: string[]; ops: (string | number)[] } {
  const keys: string[] = [];
  const ops: (string | number)[] = [];
  const position = (key: string) => {
    let i = keys.indexOf(key);
    if (i < 0) i = keys.push(key) - 1;
    return i + 4;
  };
  for (const m of before) {
    if (!after.some((w) => w.key === m.key && w.member === m.member)) {
      ops.push('rem', position(m.key), 0, m.member);
    }
  }
  for (const m of after) ops.push('add', position(m.key), m.score, m.member);
  return { keys, ops };
}

/** The outbox argument of RECORD_WRITE_LUA: the entry's JSON, or '' when it has nothing to send. */
export function outboxArgument(entry: OutboxEntry | undefined): string {
  return entry &&
    (entry.events?.length || entry.timers?.length || entry.cancel?.length || entry.audit?.length)
    ? JSON.stringify(entry)
    : '';
}

export interface OutboxRecord {
  /** Stream id, to acknowledge with `ackOutbox`. */
  id: string;
  entry: OutboxEntry;
}

export class JsonRecordStore<T> {
  constructor(
    protected readonly redis: RedisClient,
    private readonly recordKeys: { seq: string; data: string; outbox: string },
  ) {}

  nextSequence(): Promise<number> {
    return this.redis.incr(this.recordKeys.seq);
  }

  /** The record and the exact JSON it was read from (writes compare against it). */
  protected async readRecord(id: string): Promise<{ record: T; json: string } | undefined> {
    const json = await this.redis.hget(this.recordKeys.data, id);
    return json === null ? undefined : { record: JSON.parse(json) as T, json };
  }

  async load(ids: string[]): Promise<T[]> {
    if (ids.length === 0) return [];
    const jsons = await this.redis.hmget(this.recordKeys.data, ...ids);
    return jsons.filter((j): j is string => j !== null).map((j) => JSON.parse(j) as T);
  }

  /** Ids in an index, newest (highest score) first. */
  idsOf(index: string): Promise<string[]> {
    return this.redis.zrevrange(index, 0, -1);
  }

  async readOutbox(count: number): Promise<OutboxRecord[]> {
    const rows = await this.redis.xrange(this.recordKeys.outbox, '-', '+', 'COUNT', count);
    return rows.map(([id, fields]) => {
      const at = fields.indexOf('entry');
      return { id, entry: JSON.parse(fields[at + 1] ?? '{}') as OutboxEntry };
    });
  }

  async ackOutbox(ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.xdel(this.recordKeys.outbox, ...ids);
  }
}
