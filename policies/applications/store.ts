/**
 * Applications in Redis, the system of record. A write is optimistic: read the JSON, decide in
 * TypeScript, then one Lua script stores the new JSON only if the stored one is still what was read,
 * and in the same step updates the indexes, the "one open application per system and resource" claim,
 * and appends the change's outbox entry (events and timers), so nothing is announced that was not
 * committed and nothing committed goes unannounced.
 */

import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../platform/redis.js';
import {
  type IndexMembership,
  JsonRecordStore,
  outboxArgument,
  PENDING_CLOCK,
  type RecordKind,
  workflowMemberships,
} from '../record-store.js';
import { APPLICATION_CONFLICT } from './errors.js';
import { type ApplicationKeys, applicationKeys } from './keys.js';
import type { Application, OutboxEntry } from './schema.js';
import { isOpen } from './state-machine.js';

export type WriteResult =
  | { ok: true }
  | { ok: false; conflict: 'changed' }
  | { ok: false; conflict: 'pending'; otherId: string };

export interface WriteInput {
  /** The JSON as read; undefined for a new application. */
  readJson?: string;
  previous?: Application;
  next: Application;
  outbox?: OutboxEntry;
}

export type { OutboxRecord } from '../record-store.js';

/** The consumer key of the "one open application per system and resource" rule. */
export const pendingKey = (app: Pick<Application, 'consumerDept' | 'systemId' | 'resourceCode'>) =>
  `${app.consumerDept}:${app.systemId}:${app.resourceCode}`;

/** Deletes the lock only when it still holds this request's token (it may have expired and been retaken). */
const UNLOCK_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const LOCK_TTL_MS = 30_000;
const LOCK_WAIT_MS = 5_000;

function applicationKind(keys: ApplicationKeys): RecordKind<Application> {
  return {
    writeCommand: 'govshareApplicationWrite',
    isOpen: (app) => isOpen(app.state),
    claimField: pendingKey,
    memberships: (app) => applicationMemberships(keys, app),
  };
}

function applicationMemberships(k: ApplicationKeys, app: Application): IndexMembership[] {
  const current = app.stages.at(-1);
  const list = workflowMemberships(
    k,
    app,
    isOpen(app.state) && current ? (current.dueAt ?? PENDING_CLOCK) : undefined,
  );
  if (app.decidedAt) list.push({ key: k.decided, score: Date.parse(app.decidedAt), member: app.id });
  for (const stage of app.stages) {
    if (stage.dueAt === undefined) continue;
    list.push({ key: k.due, score: Date.parse(stage.dueAt), member: `${app.id}.${stage.seq}` });
  }
  return list;
}

export class ApplicationStore extends JsonRecordStore<Application> {
  readonly keys: ApplicationKeys;

  constructor(redis: RedisClient, prefix: string) {
    const keys = applicationKeys(prefix);
    super(redis, keys, applicationKind(keys));
    this.keys = keys;
    redis.defineCommand('govshareApplicationUnlock', { numberOfKeys: 1, lua: UNLOCK_LUA });
  }

  async read(id: string): Promise<{ app: Application; json: string } | undefined> {
    const found = await this.readRecord(id);
    return found && { app: found.record, json: found.json };
  }

  /** Members of an index with scores in [min, max]. */
  membersBetween(index: string, min: number, max: number): Promise<string[]> {
    return this.redis.zrangebyscore(index, min, max);
  }

  async write(input: WriteInput): Promise<WriteResult> {
    const [code, otherId] = await this.writeRecord({
      previous: input.previous,
      readJson: input.readJson,
      next: input.next,
      outbox: input.outbox,
    });
    if (code === 1) return { ok: true };
    if (code === -2) return { ok: false, conflict: 'pending', otherId: otherId ?? '' };
    return { ok: false, conflict: 'changed' };
  }

  /** Appends an outbox entry outside an application write (resource status changes). */
  /**
   * Runs `decide` while holding the application's decision lock. A decision that creates a grant does it
   * before the application's own compare-and-set write, and a new grant supersedes the consumer's current
   * one: two decisions at once (two authorizations, or an authorization and a withdrawal) could each
   * revoke the other's grant. One at a time, the second meets the first's outcome. Waits up to 5 s.
   */
  async exclusive<T>(id: string, decide: () => Promise<T>): Promise<T> {
    const key = this.keys.decisionLock(id);
    const token = randomUUID();
    const until = Date.now() + LOCK_WAIT_MS;
    while ((await this.redis.set(key, token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') {
      if (Date.now() > until) {
        throw new APPLICATION_CONFLICT(`application ${id} is being decided by another request; retry`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    try {
      return await decide();
    } finally {
      await (this.redis as unknown as UnlockCommand).govshareApplicationUnlock(key, token);
    }
  }

  async appendOutbox(entry: OutboxEntry): Promise<void> {
    const json = outboxArgument(entry);
    if (json) await this.redis.xadd(this.keys.outbox, '*', 'entry', json);
  }
}

interface UnlockCommand {
  govshareApplicationUnlock(key: string, token: string): Promise<number>;
}
