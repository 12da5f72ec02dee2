/**
 * The workflow-record layer that applications and objections share: JSON records in one hash, a sequence
 * for their ids, the same key layout and sorted-set indexes (all, by consumer, provider and resource, by
 * submission time; open ones by deadline), the transition schema of their timelines, and an outbox stream
 * of events and timers written with each change (the relay moves them to the queues). Both write with
 * the same Lua script; what they claim and what else they index is theirs.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import { ActorRef } from '../catalog/records.js';
import type { RedisClient } from '../platform/redis.js';
import type { OutboxEntry } from './applications/schema.js';

/**
 * The keys every workflow record kind has, under one hash tag `{<tag>}` per kind: one Lua script writes
 * the record, its indexes, its claim and its outbox entry atomically, so they must share a Cluster slot.
 */
export function workflowRecordKeys(prefix: string, tag: string) {
  const base = `${prefix}{${tag}}:`;
  return {
    base,
    /** Hash: record id → record JSON. */
    data: `${base}data`,
    /** Counter behind the record ids (<KIND>-<yyyymmdd>-<n>). */
    seq: `${base}seq`,
    /** Hash: claim field → id of the open record holding it (see RECORD_WRITE_LUA). */
    pending: `${base}pending`,
    /** Stream of committed changes' events and timers (field `entry`), drained by the gateway. */
    outbox: `${base}outbox`,
    /** Sorted sets of ids scored by submittedAt (ms). */
    all: `${base}idx:all`,
    byConsumer: (dept: string) => `${base}idx:consumer:${dept}`,
    byProvider: (dept: string) => `${base}idx:provider:${dept}`,
    byResource: (code: string) => `${base}idx:resource:${code}`,
    /** Open records scored by their current deadline. */
    open: `${base}idx:open`,
  };
}

export type WorkflowRecordKeys = ReturnType<typeof workflowRecordKeys>;

/** `openDueAt` of an open record whose clock is pending (a year the calendar does not know). */
export const PENDING_CLOCK = 'pending';

/** What every workflow record has that its shared indexes are built from. */
export interface WorkflowRecordHeader {
  id: string;
  submittedAt: string;
  consumerDept: string;
  providerDept: string;
  resourceCode: string;
}

/**
 * The shared index memberships of a record: all, by consumer, provider and resource (scored by
 * submission), and open (scored by `openDueAt`, when the record is open).
 */
export function workflowMemberships(
  keys: WorkflowRecordKeys,
  record: WorkflowRecordHeader,
  openDueAt: string | undefined,
): IndexMembership[] {
  const submitted = Date.parse(record.submittedAt);
  const list = [
    keys.all,
    keys.byConsumer(record.consumerDept),
    keys.byProvider(record.providerDept),
    keys.byResource(record.resourceCode),
  ].map((key) => ({ key, score: submitted, member: record.id }));
  if (openDueAt !== undefined) {
    // A pending clock (no deadline yet) still keeps the record open: it sorts after every dated one.
    const score = openDueAt === PENDING_CLOCK ? Number.MAX_SAFE_INTEGER : Date.parse(openDueAt);
    list.push({ key: keys.open, score, member: record.id });
  }
  return list;
}

const DateTime = (description: string) => Type.String({ format: 'date-time', description });

/**
 * The fields of a statutory deadline clock (an application's stage, an objection's answer deadline): the
 * last day and instant, and when the clock reminds and escalates. A clock that reaches a year the
 * calendar does not know has none of these: it is pending (`provisional`, with `unknownYears`), never a
 * guess, until the year is loaded and the clock is computed.
 */
export const DEADLINE_CLOCK_FIELDS = {
  dueDate: Type.Optional(Type.String({ format: 'date', description: 'Last day of the limit (CST)' })),
  dueAt: Type.Optional(DateTime('24:00 CST of dueDate')),
  provisional: Type.Boolean({
    description:
      'The deadline cannot be computed yet: it reaches a year the working-day calendar does not know (unknownYears); flagged to the bureau',
  }),
  unknownYears: Type.Array(Type.Integer()),
  remindAt: Type.Optional(DateTime('When one working day is left')),
  escalateAt: Type.Optional(DateTime('One working day after the deadline')),
};

/** Whether a clock ran out at `now` (ms); a pending clock (no deadline yet) never has. */
export function clockPassed(clock: { dueAt?: string | undefined }, now: number): boolean {
  return clock.dueAt !== undefined && now > Date.parse(clock.dueAt);
}

/** What the deadline clock did, as it did it. */
export const DEADLINE_EVENT_FIELDS = {
  remindedAt: Type.Optional(DateTime('When the reminder went out')),
  overdueAt: Type.Optional(DateTime('When it was marked overdue')),
  escalatedAt: Type.Optional(DateTime('When it was escalated to the bureau')),
};

/** One timeline entry of a workflow record: a state change or clock event, with what the kind adds. */
export function transitionSchema<State extends TSchema, Extra extends Record<string, TSchema>>(
  state: State,
  extra: Extra,
) {
  return Type.Object(
    {
      action: Type.String(),
      from: Type.Union([state, Type.Null()]),
      to: state,
      at: DateTime('Platform record time'),
      by: ActorRef,
      reason: Type.Optional(Type.String()),
      ...extra,
    },
    { additionalProperties: false, description: 'One entry per state change or clock event' },
  );
}

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

/** A write of RECORD_WRITE_LUA as a store plans it. */
export interface RecordWrite<T> {
  /** The stored record and the exact JSON it was read from; both undefined for a new record. */
  previous: T | undefined;
  readJson: string | undefined;
  next: T;
  outbox: OutboxEntry | undefined;
}

/** What a kind of workflow record tells the shared store. */
export interface RecordKind<T extends { id: string }> {
  /** The name its write command is defined under on the Redis client (one per kind). */
  writeCommand: string;
  /** Open records hold their claim field; the claim is taken when one opens and released when it closes. */
  isOpen(record: T): boolean;
  claimField(record: T): string;
  memberships(record: T): IndexMembership[];
}

export class JsonRecordStore<T extends { id: string }> {
  constructor(
    protected readonly redis: RedisClient,
    private readonly recordKeys: { seq: string; data: string; outbox: string; pending: string },
    private readonly kind: RecordKind<T>,
  ) {
    // The number of index keys varies, so it is passed first with every call.
    redis.defineCommand(kind.writeCommand, { lua: RECORD_WRITE_LUA });
  }

  /**
   * One optimistic write: {1}; {0} when the stored JSON changed since it was read (or the new id is
   * taken); {-2, otherId} when another open record holds the claim field.
   */
  protected writeRecord({ previous, readJson, next, outbox }: RecordWrite<T>): Promise<[number, string?]> {
    const { kind } = this;
    const { keys: indexKeys, ops } = indexChanges(
      previous ? kind.memberships(previous) : [],
      kind.memberships(next),
    );
    const wasOpen = previous !== undefined && kind.isOpen(previous);
    const nowOpen = kind.isOpen(next);
    const claimOp = !previous && nowOpen ? 'claim' : wasOpen && !nowOpen ? 'release' : '';
    const command = (this.redis as unknown as Record<string, WriteCommand>)[kind.writeCommand]!;
    return command.call(
      this.redis,
      3 + indexKeys.length,
      this.recordKeys.data,
      this.recordKeys.pending,
      this.recordKeys.outbox,
      ...indexKeys,
      next.id,
      readJson ?? '',
      JSON.stringify(next),
      claimOp,
      kind.claimField(next),
      outboxArgument(outbox),
      ...ops,
    );
  }

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

type WriteCommand = (...args: (string | number)[]) => Promise<[number, string?]>;
