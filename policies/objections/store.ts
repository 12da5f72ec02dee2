/**
 * Objections in Redis, the system of record, written like applications (policies/applications/store.ts):
 * read the JSON, decide in TypeScript, then one Lua script stores the new JSON only if the stored one is
 * still what was read, and in the same step updates the indexes, the "one open objection per record and
 * item" claim, and appends the change's outbox entry (events and timers) to the objections' own stream.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from '../../gateway/redis.js';
import type { OutboxEntry } from '../applications/schema.js';
import {
  type IndexMembership,
  indexChanges,
  JsonRecordStore,
  outboxArgument,
  RECORD_WRITE_LUA,
} from '../record-store.js';
import { OBJECTION_CONFLICT, OBJECTION_DUPLICATE, OBJECTION_NOT_FOUND } from './errors.js';
import { type ObjectionKeys, objectionKeys } from './keys.js';
import type { Objection } from './schema.js';
import { isOpen } from './state-machine.js';

interface ObjectionCommands {
  govshareObjectionWrite(...args: (string | number)[]): Promise<[number, string?]>;
}

/** What a planner returns: the next objection and its outbox entry; undefined when nothing is to be done. */
export interface ObjectionPlan {
  next: Objection;
  outbox?: OutboxEntry;
}

const MAX_ATTEMPTS = 10;

/**
 * The field of the "one open objection" claim. The key value is hashed so that the claim hash holds no
 * ID numbers (the objection JSON does, for the provider; this index need not).
 */
export const recordClaim = (o: Pick<Objection, 'consumerDept' | 'resourceCode' | 'item' | 'key'>) =>
  `${o.consumerDept}:${o.resourceCode}:${o.item}:${createHash('sha256').update(o.key, 'utf8').digest('hex')}`;

export class ObjectionStore extends JsonRecordStore<Objection> {
  readonly keys: ObjectionKeys;
  readonly #commands: ObjectionCommands;

  constructor(redis: RedisClient, prefix: string) {
    const keys = objectionKeys(prefix);
    super(redis, keys);
    this.keys = keys;
    redis.defineCommand('govshareObjectionWrite', { lua: RECORD_WRITE_LUA });
    this.#commands = redis as unknown as ObjectionCommands;
  }

  async read(id: string): Promise<{ objection: Objection; json: string } | undefined> {
    const found = await this.readRecord(id);
    return found && { objection: found.record, json: found.json };
  }

  /** Stores a new objection, claiming its record and item for the department. */
  async create(objection: Objection, outbox: OutboxEntry): Promise<void> {
    const [code, otherId] = await this.#write(undefined, undefined, objection, outbox);
    if (code === 1) return;
    if (code === -2) {
      throw new OBJECTION_DUPLICATE(
        `your department already has objection ${otherId} open for item ${objection.item} of this record of ${objection.resourceCode}; wait for its answer or withdraw it`,
      );
    }
    throw new OBJECTION_CONFLICT(`objection id ${objection.id} is taken; retry`);
  }

  /**
   * Applies `planner` to the stored objection, re-run on fresh state when another writer got in first
   * (so the loser meets e.g. a withdrawal and fails clearly). Returns what was stored.
   */
  async update(
    id: string,
    now: () => Date,
    planner: (objection: Objection, at: Date) => ObjectionPlan | undefined,
  ): Promise<Objection> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const read = await this.read(id);
      if (!read) throw new OBJECTION_NOT_FOUND(`no objection has id "${id}"`);
      const plan = planner(structuredClone(read.objection), now());
      if (!plan) return read.objection;
      const [code] = await this.#write(read.json, read.objection, plan.next, plan.outbox);
      if (code === 1) return plan.next;
    }
    throw new OBJECTION_CONFLICT(`objection ${id} kept changing; retry`);
  }

  /** The oldest outbox entries, at most `count`. */
  #write(
    readJson: string | undefined,
    previous: Objection | undefined,
    next: Objection,
    outbox: OutboxEntry | undefined,
  ): Promise<[number, string?]> {
    const { keys: indexKeys, ops } = indexChanges(
      previous ? this.#memberships(previous) : [],
      this.#memberships(next),
    );
    const wasOpen = previous !== undefined && isOpen(previous.state);
    const nowOpen = isOpen(next.state);
    const pendingOp = !previous && nowOpen ? 'claim' : wasOpen && !nowOpen ? 'release' : '';
    return this.#commands.govshareObjectionWrite(
      3 + indexKeys.length,
      this.keys.data,
      this.keys.pending,
      this.keys.outbox,
      ...indexKeys,
      next.id,
      readJson ?? '',
      JSON.stringify(next),
      pendingOp,
      recordClaim(next),
      outboxArgument(outbox),
      ...ops,
    );
  }

  #memberships(o: Objection): IndexMembership[] {
    const k = this.keys;
    const submitted = Date.parse(o.submittedAt);
    const list = [
      k.all,
      k.byConsumer(o.consumerDept),
      k.byProvider(o.providerDept),
      k.byResource(o.resourceCode),
    ].map((key) => ({ key, score: submitted, member: o.id }));
    if (isOpen(o.state)) list.push({ key: k.open, score: Date.parse(o.deadline.dueAt), member: o.id });
    return list;
  }
}
