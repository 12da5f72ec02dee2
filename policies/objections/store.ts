/**
 * Objections in Redis, the system of record, written like applications (policies/applications/store.ts):
 * read the JSON, decide in TypeScript, then one Lua script stores the new JSON only if the stored one is
 * still what was read, and in the same step updates the indexes, the "one open objection per record and
 * item" claim, and appends the change's outbox entry (events and timers) to the objections' own stream.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from '../../platform/redis.js';
import type { OutboxEntry } from '../applications/schema.js';
import { JsonRecordStore, PENDING_CLOCK, type RecordKind, workflowMemberships } from '../record-store.js';
import { OBJECTION_CONFLICT, OBJECTION_DUPLICATE, OBJECTION_NOT_FOUND } from './errors.js';
import { type ObjectionKeys, objectionKeys } from './keys.js';
import type { Objection } from './schema.js';
import { isOpen } from './state-machine.js';

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

function objectionKind(keys: ObjectionKeys): RecordKind<Objection> {
  return {
    writeCommand: 'govshareObjectionWrite',
    isOpen: (o) => isOpen(o.state),
    claimField: recordClaim,
    memberships: (o) =>
      workflowMemberships(keys, o, isOpen(o.state) ? (o.deadline.dueAt ?? PENDING_CLOCK) : undefined),
  };
}

export class ObjectionStore extends JsonRecordStore<Objection> {
  readonly keys: ObjectionKeys;

  constructor(redis: RedisClient, prefix: string) {
    const keys = objectionKeys(prefix);
    super(redis, keys, objectionKind(keys));
    this.keys = keys;
  }

  async read(id: string): Promise<{ objection: Objection; json: string } | undefined> {
    const found = await this.readRecord(id);
    return found && { objection: found.record, json: found.json };
  }

  /** Stores a new objection, claiming its record and item for the department. */
  async create(objection: Objection, outbox: OutboxEntry): Promise<void> {
    const [code, otherId] = await this.writeRecord({
      previous: undefined,
      readJson: undefined,
      next: objection,
      outbox,
    });
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
      const [code] = await this.writeRecord({
        previous: read.objection,
        readJson: read.json,
        next: plan.next,
        outbox: plan.outbox,
      });
      if (code === 1) return plan.next;
    }
    throw new OBJECTION_CONFLICT(`objection ${id} kept changing; retry`);
  }
}
