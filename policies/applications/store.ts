/**
 * Applications in Redis, the system of record. A write is optimistic: read the JSON, decide in
 * TypeScript, then one Lua script stores the new JSON only if the stored one is still what was read,
 * and in the same step updates the indexes, the "one open application per system and resource" claim,
 * and appends the change's outbox entry (events and timers), so nothing is announced that was not
 * committed and nothing committed goes unannounced.
 */

import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../gateway/redis.js';
import {
  type IndexMembership,
  indexChanges,
  JsonRecordStore,
  outboxArgument,
  RECORD_WRITE_LUA,
} from '../record-store.js';
import { APPLICATION_CONFLICT } from './errors.js';
import { type ApplicationKeys, applicationKeys } from './keys.js';
import type { Application, OutboxEntry } from './schema.js';
import { isOpen } from './state-machine.js';

interface ApplicationCommands {
  govshareApplicationWrite(...args: (string | number)[]): Promise<[number, string?]>;
}

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

export class ApplicationStore extends JsonRecordStore<Application> {
  readonly keys: ApplicationKeys;
  readonly #commands: ApplicationCommands;

  constructor(redis: RedisClient, prefix: string) {
    const keys = applicationKeys(prefix);
    super(redis, keys);
    this.keys = keys;
    redis.defineCommand('govshareApplicationUnlock', { numberOfKeys: 1, lua: UNLOCK_LUA });
    // The number of index keys varies, so it is passed first with every call.
    redis.defineCommand('govshareApplicationWrite', { lua: RECORD_WRITE_LUA });
    this.#commands = redis as unknown as ApplicationCommands;
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
    const { previous, next } = input;
    const { keys: indexKeys, ops } = indexChanges(
      previous ? this.#memberships(previous) : [],
      this.#memberships(next),
    );

    const wasOpen = previous !== undefined && isOpen(previous.state);
    const nowOpen = isOpen(next.state);
    const pendingOp = !previous && nowOpen ? 'claim' : wasOpen && !nowOpen ? 'release' : '';
    const outbox = outboxArgument(input.outbox);
    const [code, otherId] = await this.#commands.govshareApplicationWrite(
      3 + indexKeys.length,
      this.keys.data,
      this.keys.pending,
      this.keys.outbox,
      ...indexKeys,
      next.id,
      input.readJson ?? '',
      JSON.stringify(next),
      pendingOp,
      pendingKey(next),
      outbox,
      ...ops,
    );
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

  #memberships(app: Application): IndexMembership[] {
    const k = this.keys;
    const submitted = Date.parse(app.submittedAt);
    const list = [
      k.all,
      k.byConsumer(app.consumerDept),
      k.byProvider(app.providerDept),
      k.byResource(app.resourceCode),
    ].map((key) => ({ key, score: submitted, member: app.id }));
    const current = app.stages.at(-1);
    if (isOpen(app.state) && current)
      list.push({ key: k.open, score: Date.parse(current.dueAt), member: app.id });
    if (app.decidedAt) list.push({ key: k.decided, score: Date.parse(app.decidedAt), member: app.id });
    for (const stage of app.stages) {
      list.push({ key: k.due, score: Date.parse(stage.dueAt), member: `${app.id}.${stage.seq}` });
    }
    return list;
  }
}

interface UnlockCommand {
  govshareApplicationUnlock(key: string, token: string): Promise<number>;
}
