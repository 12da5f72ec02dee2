/**
 * What the application and objection stores share: JSON records in one hash, a sequence for their ids,
 * sorted-set indexes, and an outbox stream of events and timers written with each change (the relay
 * moves them to the queues). Each store adds its own Lua write, since their claims and indexes differ.
 */
import type { RedisClient } from '../gateway/redis.js';
import type { OutboxEntry } from './applications/schema.js';

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
