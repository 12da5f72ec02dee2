/** Webhook endpoints and delivery records in Redis. */
import { randomBytes } from 'node:crypto';
import type { ActorRef } from '../catalog/records.js';
import type { RedisClient } from '../platform/redis.js';
import { WEBHOOK_LIMIT_REACHED } from './errors.js';
import { webhookKeys } from './keys.js';
import type { Delivery, InboxEntry, WebhookEndpoint, WebhookEndpointRequest } from './schema.js';

export interface WebhookStoreOptions {
  /** @defaultValue 10 */
  maxEndpointsPerOwner?: number;
  /** How long a delivery record is kept. @defaultValue 30 days */
  deliveryTtlSeconds?: number;
  /** Delivery records listed per owner (older ones drop out of the list). @defaultValue 1000 */
  maxListedDeliveries?: number;
  /** Events kept in each owner's inbox (older ones drop out). @defaultValue 1000 */
  maxInbox?: number;
}

export class WebhookStore {
  readonly #redis: RedisClient;
  readonly #keys: ReturnType<typeof webhookKeys>;
  readonly #maxEndpoints: number;
  readonly #ttl: number;
  readonly #maxListed: number;
  readonly #maxInbox: number;

  constructor(redis: RedisClient, prefix: string, options: WebhookStoreOptions = {}) {
    this.#redis = redis;
    this.#keys = webhookKeys(prefix);
    this.#maxEndpoints = options.maxEndpointsPerOwner ?? 10;
    this.#ttl = options.deliveryTtlSeconds ?? 30 * 86_400;
    this.#maxListed = options.maxListedDeliveries ?? 1000;
    this.#maxInbox = options.maxInbox ?? 1000;
  }

  /**
   * Puts an event in the inboxes of `owners`. Idempotent: the event id is the member, so fanning the
   * same event out again (a re-drained outbox entry) adds nothing.
   */
  async addToInbox(event: InboxEntry, owners: string[]): Promise<void> {
    const multi = this.#redis.multi().set(this.#keys.event(event.id), JSON.stringify(event), 'EX', this.#ttl);
    for (const owner of owners) {
      const inbox = this.#keys.inbox(owner);
      multi.zadd(inbox, Date.parse(event.at), event.id).zremrangebyrank(inbox, 0, -this.#maxInbox - 1);
    }
    await multi.exec();
  }

  /** An owner's inbox, newest first, optionally of one event type. */
  async listInbox(owner: string, filter: { type?: string; limit: number }): Promise<InboxEntry[]> {
    const ids = await this.#redis.zrevrange(this.#keys.inbox(owner), 0, -1);
    if (ids.length === 0) return [];
    const jsons = await this.#redis.mget(...ids.map((id) => this.#keys.event(id)));
    return jsons
      .filter((j): j is string => j !== null)
      .map((j) => JSON.parse(j) as InboxEntry)
      .filter((e) => filter.type === undefined || e.type === filter.type)
      .slice(0, filter.limit);
  }

  /** Registers an endpoint; `url` must already be checked (see checkWebhookUrl). */
  async addEndpoint(
    owner: string,
    request: WebhookEndpointRequest & { url: string },
    by: ActorRef,
    at: Date,
  ): Promise<WebhookEndpoint> {
    const existing = await this.#redis.scard(this.#keys.ownerEndpoints(owner));
    if (existing >= this.#maxEndpoints) {
      throw new WEBHOOK_LIMIT_REACHED(
        `${owner} already has ${existing} webhook endpoints (at most ${this.#maxEndpoints}); delete one first`,
      );
    }
    const endpoint: WebhookEndpoint = {
      id: `wh_${randomBytes(9).toString('base64url')}`,
      owner,
      url: request.url,
      events: [...(request.events ?? [])],
      ...(request.description ? { description: request.description } : {}),
      createdAt: at.toISOString(),
      createdBy: by,
    };
    await this.#redis
      .multi()
      .hset(this.#keys.endpoints, endpoint.id, JSON.stringify(endpoint))
      .sadd(this.#keys.ownerEndpoints(owner), endpoint.id)
      .exec();
    return endpoint;
  }

  async getEndpoint(id: string): Promise<WebhookEndpoint | undefined> {
    const json = await this.#redis.hget(this.#keys.endpoints, id);
    return json === null ? undefined : (JSON.parse(json) as WebhookEndpoint);
  }

  async removeEndpoint(endpoint: WebhookEndpoint): Promise<void> {
    await this.#redis
      .multi()
      .hdel(this.#keys.endpoints, endpoint.id)
      .srem(this.#keys.ownerEndpoints(endpoint.owner), endpoint.id)
      .exec();
  }

  /** The endpoints of `owner`, or of every owner. */
  async listEndpoints(owner?: string): Promise<WebhookEndpoint[]> {
    let jsons: (string | null)[];
    if (owner === undefined) jsons = Object.values(await this.#redis.hgetall(this.#keys.endpoints));
    else {
      const ids = await this.#redis.smembers(this.#keys.ownerEndpoints(owner));
      jsons = ids.length === 0 ? [] : await this.#redis.hmget(this.#keys.endpoints, ...ids);
    }
    return jsons
      .filter((j): j is string => j !== null)
      .map((j) => JSON.parse(j) as WebhookEndpoint)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /** Stores a new delivery unless one with its id exists; returns whether it was new. */
  async createDelivery(delivery: Delivery): Promise<boolean> {
    const created = await this.#redis.set(
      this.#keys.delivery(delivery.id),
      JSON.stringify(delivery),
      'EX',
      this.#ttl,
      'NX',
    );
    if (created !== 'OK') return false;
    const index = this.#keys.ownerDeliveries(delivery.owner);
    await this.#redis
      .multi()
      .zadd(index, Date.parse(delivery.createdAt), delivery.id)
      .zremrangebyrank(index, 0, -this.#maxListed - 1)
      .exec();
    return true;
  }

  async getDelivery(id: string): Promise<Delivery | undefined> {
    const json = await this.#redis.get(this.#keys.delivery(id));
    return json === null ? undefined : (JSON.parse(json) as Delivery);
  }

  /** Only the worker delivering it writes a delivery, so a plain overwrite is safe. */
  async saveDelivery(delivery: Delivery): Promise<void> {
    await this.#redis.set(this.#keys.delivery(delivery.id), JSON.stringify(delivery), 'EX', this.#ttl);
  }

  /** An owner's deliveries, newest first. */
  async listDeliveries(
    owner: string,
    filter: { status?: Delivery['status']; limit: number },
  ): Promise<Delivery[]> {
    const ids = await this.#redis.zrevrange(this.#keys.ownerDeliveries(owner), 0, -1);
    if (ids.length === 0) return [];
    const jsons = await this.#redis.mget(...ids.map((id) => this.#keys.delivery(id)));
    return jsons
      .filter((j): j is string => j !== null)
      .map((j) => JSON.parse(j) as Delivery)
      .filter((d) => filter.status === undefined || d.status === filter.status)
      .slice(0, filter.limit);
  }
}
