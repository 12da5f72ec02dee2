/**
 * Applications in Redis, the system of record. A write is optimistic: read the JSON, decide in
 * TypeScript, then one Lua script stores the new JSON only if the stored one is still what was read,
 * and in the same step updates the indexes, the "one open application per system and resource" claim,
 * and appends the change's outbox entry (events and timers), so nothing is announced that was not
 * committed and nothing committed goes unannounced.
 */

import type { RedisClient } from '../../gateway/redis.js';
import {
  type IndexMembership,
  indexChanges,
  JsonRecordStore,
  outboxArgument,
  RECORD_WRITE_LUA,
} from '../record-store.js';
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

export class ApplicationStore extends JsonRecordStore<Application> {
  readonly keys: ApplicationKeys;
  readonly #commands: ApplicationCommands;

  constructor(redis: RedisClient, prefix: string) {
    const keys = applicationKeys(prefix);
    super(redis, keys);
    this.keys = keys;
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
