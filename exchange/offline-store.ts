/**
 * Offline requests in Redis: one JSON string each, and an index by request time. Every change is
 * read-decide-write, written only if the stored JSON is still what was read (one Lua step), so two people
 * deciding at once, or a worker and a person, never both win: one delivery per approval.
 */
import type { RedisClient } from '../platform/redis.js';
import { exchangeKeys } from './keys.js';
import type { OfflineRequest } from './offline-schema.js';

/*
 * KEYS[1] request, KEYS[2] index
 * ARGV[1] JSON, ARGV[2] score (request time ms), ARGV[3] id
 * Returns 1, or 0 when the id is taken.
 */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1`;

/*
 * KEYS[1] request
 * ARGV[1] JSON as read, ARGV[2] new JSON
 * Returns 1, or 0 when it changed since it was read.
 */
const SWAP = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1`;

const MAX_ATTEMPTS = 5;

export class OfflineStore {
  readonly #redis: RedisClient;
  readonly #keys: ReturnType<typeof exchangeKeys>;

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#keys = exchangeKeys(prefix);
  }

  async create(request: OfflineRequest): Promise<void> {
    const created = await this.#redis.eval(
      CREATE,
      2,
      this.#keys.offline(request.id),
      this.#keys.offlineIndex,
      JSON.stringify(request),
      Date.parse(request.requestedAt),
      request.id,
    );
    if (Number(created) !== 1) throw new Error(`offline request id ${request.id} is already taken`);
  }

  async get(id: string): Promise<OfflineRequest | undefined> {
    const json = await this.#redis.get(this.#keys.offline(id));
    return json === null ? undefined : (JSON.parse(json) as OfflineRequest);
  }

  /**
   * Read, decide, write if unchanged. `decide` returns the new record, or undefined to leave it (the
   * record as read is returned then); it may throw to refuse. Undefined when there is no such request.
   */
  async change(
    id: string,
    decide: (current: OfflineRequest) => OfflineRequest | undefined | Promise<OfflineRequest | undefined>,
  ): Promise<{ before: OfflineRequest; after: OfflineRequest } | undefined> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const raw = await this.#redis.get(this.#keys.offline(id));
      if (raw === null) return undefined;
      const before = JSON.parse(raw) as OfflineRequest;
      const next = await decide(before);
      if (next === undefined) return { before, after: before };
      const swapped = await this.#redis.eval(SWAP, 1, this.#keys.offline(id), raw, JSON.stringify(next));
      if (Number(swapped) === 1) return { before, after: next };
    }
    throw new Error(`offline request ${id} changed concurrently too often`);
  }

  /** The newest `limit` requests matching `keep`, newest first (reads at most 5000 of the index). */
  async list(keep: (request: OfflineRequest) => boolean, limit: number): Promise<OfflineRequest[]> {
    const ids = await this.#redis.zrevrange(this.#keys.offlineIndex, 0, 4999);
    const found: OfflineRequest[] = [];
    for (let i = 0; i < ids.length && found.length < limit; i += 200) {
      const slice = ids.slice(i, i + 200);
      const values = await this.#redis.mget(...slice.map((id) => this.#keys.offline(id)));
      for (const json of values) {
        if (json === null) continue;
        const request = JSON.parse(json) as OfflineRequest;
        if (keep(request)) found.push(request);
        if (found.length >= limit) break;
      }
    }
    return found;
  }
}
