/**
 * Incremental subscriptions: one schedule per consumer system and resource (so per grant), e.g. daily at
 * 02:00 Asia/Shanghai, that exports the rows changed since the subscription's watermark. Each run is an
 * ordinary incremental job under the system's current grant; the watermark moves to the run's `to` only
 * when its file is complete (store.ts FINISH), so a failed run leaves it and the next run covers its rows.
 * At most one run of a subscription is in progress: a schedule that fires while one runs is skipped.
 */
import type { Caller } from '../policies/decide.js';
import { jobAudit } from './audit.js';
import { type ExchangeDeps, nowOf } from './deps.js';
import { exchangeErrors } from './errors.js';
import { exchangeKeys } from './keys.js';
import { isSubscriptionId, newSubscriptionId } from './paths.js';
import {
  checkSubscriptionRequest,
  type ExchangeJob,
  type Subscription,
  type SubscriptionRequest,
} from './schema.js';
import { createJob, type SubmitContext } from './service.js';
import { ExchangeStore } from './store.js';
import { resolveTerms, usableCertificate } from './terms.js';

export const DEFAULT_SCHEDULE = { pattern: '0 2 * * *', tz: 'Asia/Shanghai' } as const;

/*
 * KEYS[1] consumer+resource → id, KEYS[2] subscription, KEYS[3] all ids, KEYS[4] the consumer's ids,
 * KEYS[5] watermark
 * ARGV[1] id, ARGV[2] JSON, ARGV[3] initial watermark ('' = none)
 * Returns 1, or 0 when the consumer already subscribes to the resource.
 */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
if ARGV[3] ~= '' then redis.call('SET', KEYS[5], ARGV[3]) end
return 1`;

/*
 * KEYS[1] consumer+resource → id, KEYS[2] subscription, KEYS[3] all ids, KEYS[4] the consumer's ids,
 * KEYS[5] watermark, KEYS[6] active run
 * ARGV[1] id
 */
const DELETE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('DEL', KEYS[2], KEYS[5], KEYS[6])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
return 1`;

export async function createSubscription(
  deps: ExchangeDeps,
  caller: Caller,
  request: unknown,
  context: SubmitContext,
): Promise<Subscription> {
  if (!checkSubscriptionRequest.Check(request)) {
    const first = checkSubscriptionRequest.Errors(request).First();
    throw new exchangeErrors.EXCHANGE_REQUEST_INVALID(
      `subscription request${first?.path ?? ''}: ${first?.message ?? 'invalid'}`,
    );
  }
  const body = request as SubscriptionRequest;
  const now = nowOf(deps);
  const consumer = {
    deptCode: caller.deptCode,
    systemId: caller.systemId,
    certSerial: caller.serial,
    // The official who subscribes: each scheduled run acts for them (and is refused without one).
    ...(context.userId ? { userId: context.userId } : {}),
  };
  const terms = await resolveTerms(
    deps,
    caller,
    {
      resource: body.resource,
      ...(body.items ? { items: body.items } : {}),
      ...(body.filter ? { filter: body.filter } : {}),
      kind: 'incremental',
      purpose: context.purpose,
      ...(body.since === undefined ? {} : { since: body.since }),
      actingUser: { userId: context.userId, machineCallsAllowed: deps.machineCallsAllowed === true },
    },
    now,
  );
  await usableCertificate(deps, consumer, now);
  const subscription: Subscription = {
    id: newSubscriptionId(),
    consumer,
    purpose: context.purpose,
    resource: body.resource,
    grantId: terms.grant.id,
    ...(body.items ? { items: body.items } : {}),
    ...(body.filter ? { filter: body.filter } : {}),
    format: body.format,
    schedule: { ...DEFAULT_SCHEDULE, ...body.schedule },
    createdAt: new Date(now).toISOString(),
  };
  const k = exchangeKeys(deps.prefix);
  const id = subscription.id;
  const created = await deps.redis.eval(
    CREATE,
    5,
    k.consumerResourceSubscription(consumer.deptCode, consumer.systemId, body.resource),
    k.subscription(id),
    k.subscriptions,
    k.consumerSubscriptions(consumer.deptCode, consumer.systemId),
    k.subscriptionWatermark(id),
    id,
    JSON.stringify(subscription),
    body.since ?? '',
  );
  if (Number(created) !== 1) {
    throw new exchangeErrors.EXCHANGE_SUBSCRIPTION_EXISTS(
      `system "${consumer.systemId}" already subscribes to resource ${body.resource}; delete that subscription first`,
    );
  }
  try {
    await deps.queue.schedule(subscription);
  } catch (error) {
    await removeSubscription(deps, subscription);
    throw new exchangeErrors.EXCHANGE_REQUEST_INVALID(
      `schedule ${JSON.stringify(subscription.schedule)} is not usable: ${(error as Error).message}`,
    );
  }
  try {
    await deps.audit(
      jobAudit(
        { ...subscription, id, items: [...terms.obligations.items], subscriptionId: id },
        {
          action: 'exchange.subscribe',
          now,
          status: 201,
          ...(context.requestId ? { requestId: context.requestId } : {}),
          detail: { schedule: subscription.schedule, ...(body.since ? { since: body.since } : {}) },
        },
      ),
    );
  } catch (error) {
    // A subscription the trail does not hold never runs: undone, and the caller told it failed.
    await deps.queue.unschedule(id);
    await removeSubscription(deps, subscription);
    throw error;
  }
  return subscription;
}

export async function getSubscription(
  deps: Pick<ExchangeDeps, 'redis' | 'prefix'>,
  id: string,
): Promise<Subscription | undefined> {
  if (!isSubscriptionId(id)) return undefined;
  const json = await deps.redis.get(exchangeKeys(deps.prefix).subscription(id));
  return json === null ? undefined : (JSON.parse(json) as Subscription);
}

/** The subscription and its watermark, if it is the caller's own; EXCHANGE_SUBSCRIPTION_NOT_FOUND otherwise. */
export async function getSubscriptionForCaller(
  deps: Pick<ExchangeDeps, 'redis' | 'prefix'>,
  caller: Pick<Caller, 'deptCode' | 'systemId'>,
  id: string,
): Promise<Subscription & { watermark?: string }> {
  const subscription = await getSubscription(deps, id);
  if (
    !subscription ||
    subscription.consumer.deptCode !== caller.deptCode ||
    subscription.consumer.systemId !== caller.systemId
  ) {
    throw new exchangeErrors.EXCHANGE_SUBSCRIPTION_NOT_FOUND(`no subscription ${id}`);
  }
  const watermark = await subscriptionWatermark(deps, id);
  return watermark === undefined ? subscription : { ...subscription, watermark };
}

export async function listSubscriptionsForCaller(
  deps: Pick<ExchangeDeps, 'redis' | 'prefix'>,
  caller: Pick<Caller, 'deptCode' | 'systemId'>,
): Promise<Subscription[]> {
  const k = exchangeKeys(deps.prefix);
  const ids = await deps.redis.smembers(k.consumerSubscriptions(caller.deptCode, caller.systemId));
  if (ids.length === 0) return [];
  const values = await deps.redis.mget(ids.map((id) => k.subscription(id)));
  return values
    .filter((v): v is string => v !== null)
    .map((v) => JSON.parse(v) as Subscription)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** Every subscription (a worker re-registers their schedules when it starts). */
export async function listAllSubscriptions(
  deps: Pick<ExchangeDeps, 'redis' | 'prefix'>,
): Promise<Subscription[]> {
  const k = exchangeKeys(deps.prefix);
  const ids = await deps.redis.smembers(k.subscriptions);
  if (ids.length === 0) return [];
  const values = await deps.redis.mget(ids.map((id) => k.subscription(id)));
  return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as Subscription);
}

export async function deleteSubscription(
  deps: ExchangeDeps,
  caller: Pick<Caller, 'deptCode' | 'systemId'>,
  id: string,
): Promise<void> {
  const subscription = await getSubscriptionForCaller(deps, caller, id);
  // Recorded first: a refused record leaves the subscription as it was.
  await deps.audit(
    jobAudit(
      { ...subscription, items: subscription.items ?? [], subscriptionId: id },
      { action: 'exchange.unsubscribe', now: nowOf(deps) },
    ),
  );
  await deps.queue.unschedule(id);
  await removeSubscription(deps, subscription);
}

async function removeSubscription(
  deps: Pick<ExchangeDeps, 'redis' | 'prefix'>,
  s: Subscription,
): Promise<void> {
  const k = exchangeKeys(deps.prefix);
  await deps.redis.eval(
    DELETE,
    6,
    k.consumerResourceSubscription(s.consumer.deptCode, s.consumer.systemId, s.resource),
    k.subscription(s.id),
    k.subscriptions,
    k.consumerSubscriptions(s.consumer.deptCode, s.consumer.systemId),
    k.subscriptionWatermark(s.id),
    k.subscriptionActive(s.id),
    s.id,
  );
}

/** The value the next run starts after; undefined before the first complete run (and without `since`). */
export async function subscriptionWatermark(
  deps: Pick<ExchangeDeps, 'redis' | 'prefix'>,
  id: string,
): Promise<string | undefined> {
  return (await deps.redis.get(exchangeKeys(deps.prefix).subscriptionWatermark(id))) ?? undefined;
}

/**
 * What a subscription's schedule does when it fires: creates (and enqueues) an incremental job from the
 * watermark. Returns undefined when the subscription is gone or its previous run is still in progress.
 */
export async function startSubscriptionRun(
  deps: ExchangeDeps,
  subscriptionId: string,
): Promise<ExchangeJob | undefined> {
  const subscription = await getSubscription(deps, subscriptionId);
  if (!subscription) return undefined;
  const k = exchangeKeys(deps.prefix);
  const activeId = await deps.redis.get(k.subscriptionActive(subscriptionId));
  if (activeId !== null) {
    const active = await new ExchangeStore(deps.redis, deps.prefix).get(activeId);
    if (active && (active.state === 'queued' || active.state === 'running')) return undefined;
  }
  const since = await subscriptionWatermark(deps, subscriptionId);
  const job = await createJob(deps, {
    consumer: subscription.consumer,
    purpose: subscription.purpose,
    resource: subscription.resource,
    ...(subscription.items ? { items: subscription.items } : {}),
    ...(subscription.filter ? { filter: subscription.filter } : {}),
    kind: 'incremental',
    format: subscription.format,
    ...(since === undefined ? {} : { since }),
    subscriptionId,
  });
  // Set after the job exists: a job that finished first left a terminal job here, which the next run skips past.
  await deps.redis.set(k.subscriptionActive(subscriptionId), job.id);
  return job;
}
