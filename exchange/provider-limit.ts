/**
 * At most N jobs run against one provider at a time, across every worker process: a counting semaphore
 * in Redis whose slots are leases (a sorted set of lease ids scored by expiry). A running job renews its
 * lease; the lease of a worker that died simply runs out, so a crash never leaks a slot for longer than
 * the lease time. Times come from the Redis server's clock (TIME), so workers with skewed clocks agree.
 *
 * Chosen over BullMQ's rate limiter, which limits a whole queue (all providers together) by jobs per
 * interval, not concurrent jobs per provider; BullMQ groups would do it but are not in open-source BullMQ.
 * A job that finds its provider full is delayed and retried (see gateway/jobs/exchange.ts), freeing the
 * worker for jobs of other providers.
 */
import type { RedisClient } from '../platform/redis.js';
import { type ExchangeKeys, exchangeKeys } from './keys.js';

/*
 * KEYS[1] leases of one provider
 * ARGV[1] lease id, ARGV[2] lease ms, ARGV[3] limit
 * Drops expired leases, then renews the lease if held, or takes a slot if fewer than the limit are held.
 * Returns 1 when the lease is held, 0 when the provider is full.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not held and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1`;

/*
 * KEYS[1] leases of one provider; ARGV[1] lease id, ARGV[2] lease ms
 * Extends a lease still held. Returns 1, or 0 when it had expired (the slot may be someone else's now).
 */
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) <= now then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1`;

export interface ProviderLease {
  /** False while a renewal found the lease expired and no slot free (the job runs on regardless). */
  readonly held: boolean;
  release(): Promise<void>;
}

export class ProviderLimiter {
  readonly #keys: ExchangeKeys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly options: { limit: number; leaseMs: number },
  ) {
    if (!Number.isInteger(options.limit) || options.limit < 1)
      throw new RangeError('limit must be a positive integer');
    if (!Number.isInteger(options.leaseMs) || options.leaseMs < 100)
      throw new RangeError('leaseMs must be at least 100');
    this.#keys = exchangeKeys(prefix);
  }

  async tryAcquire(providerCode: string, leaseId: string): Promise<boolean> {
    const key = this.#keys.providerLeases(providerCode);
    return (
      Number(await this.redis.eval(ACQUIRE, 1, key, leaseId, this.options.leaseMs, this.options.limit)) === 1
    );
  }

  async renew(providerCode: string, leaseId: string): Promise<boolean> {
    const key = this.#keys.providerLeases(providerCode);
    return Number(await this.redis.eval(RENEW, 1, key, leaseId, this.options.leaseMs)) === 1;
  }

  async release(providerCode: string, leaseId: string): Promise<void> {
    await this.redis.zrem(this.#keys.providerLeases(providerCode), leaseId);
  }

  /** Leases held now (expired ones not counted). */
  async held(providerCode: string): Promise<number> {
    const t = await this.redis.time();
    const now = Number(t[0]) * 1000 + Math.floor(Number(t[1]) / 1000);
    return this.redis.zcount(this.#keys.providerLeases(providerCode), `(${now}`, '+inf');
  }

  /**
   * Takes a slot and keeps it renewed (every third of the lease) until released; undefined when the
   * provider is full.
   */
  async hold(providerCode: string, leaseId: string): Promise<ProviderLease | undefined> {
    if (!(await this.tryAcquire(providerCode, leaseId))) return undefined;
    let held = true;
    // A lease that ran out (the process stalled longer than the lease) is taken again if a slot is free.
    const keep = async () =>
      (await this.renew(providerCode, leaseId)) || this.tryAcquire(providerCode, leaseId);
    const timer = setInterval(
      () => {
        keep().then(
          (ok) => {
            held = ok;
          },
          () => undefined,
        );
      },
      Math.max(50, Math.floor(this.options.leaseMs / 3)),
    );
    timer.unref();
    return {
      get held() {
        return held;
      },
      release: async () => {
        clearInterval(timer);
        await this.release(providerCode, leaseId);
      },
    };
  }
}
