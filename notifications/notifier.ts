/**
 * Webhook notifications: departments (and the bureau) register endpoints; each workflow event is fanned
 * out to the endpoints of its recipients that want its type, one delivery per endpoint, delivered at
 * least once through the webhooks queue with exponential backoff. The delivery id is the job id, so
 * fanning the same event out twice (a re-drained outbox entry) queues nothing new.
 */

import { Agent } from 'undici';
import type { ActorRef } from '../catalog/records.js';
import { BUREAU_RECIPIENT } from '../policies/applications/events.js';
import type { WorkflowEvent } from '../policies/applications/schema.js';
import { WEBHOOK_DELIVERY_NOT_FOUND, WEBHOOK_FORBIDDEN, WEBHOOK_NOT_FOUND } from './errors.js';
import type { JobQueue } from './queue.js';
import type {
  Delivery,
  DeliveryStatus,
  InboxEntry,
  WebhookEndpoint,
  WebhookEndpointRequest,
} from './schema.js';
import {
  checkWebhookUrl,
  sendWebhook,
  type WebhookSigner,
  type WebhookTargetPolicy,
  webhookLookup,
} from './send.js';
import type { WebhookStore } from './store.js';

export interface DeliveryJob {
  deliveryId: string;
}

export interface NotifierOptions {
  /** Attempts per delivery. @defaultValue 8 */
  attempts?: number;
  /** First retry delay; each next one doubles. @defaultValue 30_000 */
  backoffMs?: number;
  /** Connect, headers and body timeout of one attempt. @defaultValue 10_000 */
  timeoutMs?: number;
  /** Clock of signatures (`created`); the receiver checks it against its own. @defaultValue Date.now */
  wallClock?: () => number;
  /** Which addresses deliveries may reach. @defaultValue loopback refused */
  targets?: WebhookTargetPolicy;
}

export interface AttemptOutcome {
  delivery: Delivery;
  /** True when this failed attempt was the last one. */
  gaveUp: boolean;
}

export class Notifier {
  readonly store: WebhookStore;
  readonly #queue: JobQueue<DeliveryJob>;
  readonly #signer: WebhookSigner;
  readonly #now: () => Date;
  readonly #attempts: number;
  readonly #backoffMs: number;
  readonly #timeoutMs: number;
  readonly #wallClock: () => number;
  readonly #agent: Agent;
  readonly #targets: WebhookTargetPolicy;

  constructor(
    store: WebhookStore,
    queue: JobQueue<DeliveryJob>,
    signer: WebhookSigner,
    now: () => Date,
    options: NotifierOptions = {},
  ) {
    this.store = store;
    this.#queue = queue;
    this.#signer = signer;
    this.#now = now;
    this.#attempts = options.attempts ?? 8;
    this.#backoffMs = options.backoffMs ?? 30_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#wallClock = options.wallClock ?? Date.now;
    this.#targets = options.targets ?? { allowLoopback: false };
    this.#agent = new Agent({
      connect: { timeout: this.#timeoutMs, lookup: webhookLookup(this.#targets) },
      keepAliveTimeout: 4_000,
    });
  }

  async register(actor: ActorRef, request: WebhookEndpointRequest): Promise<WebhookEndpoint> {
    const url = checkWebhookUrl(request.url, this.#targets);
    return this.store.addEndpoint(ownerOf(actor), { ...request, url }, actor, this.#now());
  }

  /**
   * The platform's own endpoint for `owner` at `url` (e.g. a federated platform's gateway, for the
   * applications it forwarded for that department): registered once, the existing one returned after.
   */
  async ensureEndpoint(
    owner: string,
    request: WebhookEndpointRequest,
    actor: ActorRef,
  ): Promise<WebhookEndpoint> {
    const url = checkWebhookUrl(request.url, this.#targets);
    const existing = (await this.store.listEndpoints(owner)).find((endpoint) => endpoint.url === url);
    return existing ?? this.store.addEndpoint(owner, { ...request, url }, actor, this.#now());
  }

  /** The actor's endpoints; the bureau may name any owner, or none for all. */
  list(actor: ActorRef, owner?: string): Promise<WebhookEndpoint[]> {
    if (actor.role === 'bureau') return this.store.listEndpoints(owner);
    const own = ownerOf(actor);
    if (owner !== undefined && owner !== own) {
      throw new WEBHOOK_FORBIDDEN(`you act for ${own}; the webhooks of ${owner} are not yours to see`);
    }
    return this.store.listEndpoints(own);
  }

  async remove(actor: ActorRef, id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.store.getEndpoint(id);
    if (!endpoint) throw new WEBHOOK_NOT_FOUND(`no webhook endpoint has id "${id}"`);
    if (actor.role !== 'bureau' && endpoint.owner !== ownerOf(actor)) {
      throw new WEBHOOK_FORBIDDEN(`webhook endpoint ${id} belongs to ${endpoint.owner}`);
    }
    await this.store.removeEndpoint(endpoint);
    return endpoint;
  }

  /** The actor's inbox (the bureau: its own, or any owner's), newest first. */
  inbox(actor: ActorRef, filter: { owner?: string; type?: string; limit: number }): Promise<InboxEntry[]> {
    const own = actor.role === 'bureau' ? (filter.owner ?? BUREAU_RECIPIENT) : ownerOf(actor);
    if (actor.role !== 'bureau' && filter.owner !== undefined && filter.owner !== own) {
      throw new WEBHOOK_FORBIDDEN(`you act for ${own}; the inbox of ${filter.owner} is not yours to read`);
    }
    return this.store.listInbox(own, { limit: filter.limit, ...(filter.type ? { type: filter.type } : {}) });
  }

  deliveries(
    actor: ActorRef,
    filter: { owner?: string; status?: DeliveryStatus; limit: number },
  ): Promise<Delivery[]> {
    const own = actor.role === 'bureau' ? (filter.owner ?? BUREAU_RECIPIENT) : ownerOf(actor);
    if (actor.role !== 'bureau' && filter.owner !== undefined && filter.owner !== own) {
      throw new WEBHOOK_FORBIDDEN(
        `you act for ${own}; the deliveries of ${filter.owner} are not yours to see`,
      );
    }
    return this.store.listDeliveries(own, {
      limit: filter.limit,
      ...(filter.status ? { status: filter.status } : {}),
    });
  }

  /** Queues a delivery again (e.g. after the receiver was fixed); attempts continue from where they are. */
  async redeliver(actor: ActorRef, deliveryId: string): Promise<Delivery> {
    const delivery = await this.store.getDelivery(deliveryId);
    if (!delivery) throw new WEBHOOK_DELIVERY_NOT_FOUND(`no delivery has id "${deliveryId}"`);
    if (actor.role !== 'bureau' && delivery.owner !== ownerOf(actor)) {
      throw new WEBHOOK_FORBIDDEN(`delivery ${deliveryId} belongs to ${delivery.owner}`);
    }
    const pending: Delivery = { ...delivery, status: 'pending' };
    delete pending.failedAt;
    await this.store.saveDelivery(pending);
    await this.#enqueue(deliveryId, `${deliveryId}.r${this.#wallClock()}`);
    return pending;
  }

  /**
   * Puts the event in the inbox of each recipient, and queues one delivery per endpoint of each recipient
   * that wants the event's type.
   */
  async fanOut(event: WorkflowEvent): Promise<number> {
    const { recipients, ...delivered } = event;
    await this.store.addToInbox(delivered, recipients);
    let queued = 0;
    for (const owner of recipients) {
      for (const endpoint of await this.store.listEndpoints(owner)) {
        if (endpoint.events.length > 0 && !endpoint.events.includes(event.type)) continue;
        const delivery: Delivery = {
          id: `${event.id}.${endpoint.id}`,
          owner,
          endpointId: endpoint.id,
          url: endpoint.url,
          event: delivered,
          status: 'pending',
          attempts: 0,
          createdAt: this.#now().toISOString(),
        };
        await this.store.createDelivery(delivery);
        await this.#enqueue(delivery.id, delivery.id);
        queued++;
      }
    }
    return queued;
  }

  /**
   * One attempt of a delivery (the webhooks worker calls it). `final` says whether no attempt follows
   * a failure. Returns the delivery as recorded; undefined when it expired or is delivered already.
   */
  async attempt(deliveryId: string, final: boolean): Promise<AttemptOutcome | undefined> {
    const delivery = await this.store.getDelivery(deliveryId);
    if (!delivery || delivery.status === 'delivered') return undefined;
    const endpoint = await this.store.getEndpoint(delivery.endpointId);
    const at = this.#now().toISOString();
    const refusal = endpoint ? targetRefusal(endpoint.url, this.#targets) : undefined;
    const result = !endpoint
      ? { ok: false, error: 'the endpoint was deleted' }
      : refusal
        ? { ok: false, error: refusal }
        : await sendWebhook(endpoint.url, delivery.event, delivery.id, this.#signer, {
            dispatcher: this.#agent,
            timeoutMs: this.#timeoutMs,
            nowSeconds: Math.floor(this.#wallClock() / 1000),
          });
    const next: Delivery = { ...delivery, attempts: delivery.attempts + 1, lastAttemptAt: at };
    if (result.status !== undefined) next.lastStatus = result.status;
    if (result.ok) {
      next.status = 'delivered';
      next.deliveredAt = at;
      delete next.lastError;
    } else {
      next.lastError = result.error ?? 'failed';
      const gaveUp = final || !endpoint;
      if (gaveUp) {
        next.status = 'failed';
        next.failedAt = at;
      }
      await this.store.saveDelivery(next);
      return { delivery: next, gaveUp };
    }
    await this.store.saveDelivery(next);
    return { delivery: next, gaveUp: false };
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  #enqueue(deliveryId: string, jobId: string) {
    return this.#queue.add(
      'deliver',
      { deliveryId },
      {
        jobId,
        attempts: this.#attempts,
        backoff: { type: 'exponential', delay: this.#backoffMs },
        removeOnComplete: { age: 7 * 86_400 },
        removeOnFail: { age: 30 * 86_400 },
      },
    );
  }
}

/** Whose endpoints an actor manages: a dept-admin its department's, the bureau its own (`bureau`). */
export function ownerOf(actor: ActorRef): string {
  if (actor.role === 'bureau') return BUREAU_RECIPIENT;
  if (actor.role === 'dept-admin' && actor.dept) return actor.dept;
  throw new WEBHOOK_FORBIDDEN(
    `role ${actor.role} has no webhook endpoints; department administrators and the bureau do`,
  );
}

/** Why an endpoint registered earlier may not be called under today's policy (it is checked anew). */
function targetRefusal(url: string, targets: WebhookTargetPolicy): string | undefined {
  try {
    checkWebhookUrl(url, targets);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
