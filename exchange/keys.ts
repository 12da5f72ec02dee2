/**
 * Every Redis key of bulk exchange. All share the hash tag {exchange} so that the Lua scripts that
 * complete a job (job, its sealed key, the expiry index, a subscription's watermark) work on Redis
 * Cluster. BullMQ's own keys live under the queue prefix (see gateway/jobs/exchange.ts), not here.
 */
export function exchangeKeys(prefix: string) {
  const base = `${prefix}{exchange}:`;
  return {
    /** String, JSON ExchangeJob. */
    job: (id: string) => `${base}job:${id}`,
    /** String, the job's data key sealed under the platform (key-vault.ts); deleted when the job ends. */
    sealedKey: (id: string) => `${base}job-key:${id}`,
    /** String, the fencing token of the run that owns the job now. */
    owner: (id: string) => `${base}job-owner:${id}`,
    /** String, JSON array of the cursors that cut a job into parts (parts.ts); set once. */
    partPlan: (id: string) => `${base}job-parts:${id}`,
    /** String, JSON ExportPart: the progress of one part. */
    part: (id: string, index: number) => `${base}job-part:${id}:${index}`,
    /** String, the fencing token of the run that owns one part now. */
    partOwner: (id: string, index: number) => `${base}job-part-owner:${id}:${index}`,
    /** Sorted set of a consumer system's job ids scored by creation time (ms). */
    consumerJobs: (deptCode: string, systemId: string) => `${base}jobs:consumer:${deptCode}:${systemId}`,
    /** Sorted set of completed job ids scored by the time their file expires (ms). */
    expiry: `${base}expiry`,
    /** Sorted set of lease ids scored by lease expiry (ms): the running jobs against one provider. */
    providerLeases: (providerCode: string) => `${base}provider-leases:${providerCode}`,
    /** String, JSON Subscription. */
    subscription: (id: string) => `${base}sub:${id}`,
    /** String, the subscription id of a consumer system for a resource (one schedule per grant). */
    consumerResourceSubscription: (deptCode: string, systemId: string, resource: string) =>
      `${base}sub-of:${deptCode}:${systemId}:${resource}`,
    /** String, the watermark value the next run of a subscription starts after; absent before the first. */
    subscriptionWatermark: (id: string) => `${base}sub-watermark:${id}`,
    /** String, id of the subscription's job in progress. */
    subscriptionActive: (id: string) => `${base}sub-active:${id}`,
    /** Set of every subscription id (a worker re-registers their schedules at start). */
    subscriptions: `${base}subs`,
    /** String, JSON OfflineRequest (offline-schema.ts). */
    offline: (id: string) => `${base}offline:${id}`,
    /** Sorted set of every offline request id scored by request time (ms). */
    offlineIndex: `${base}offline-index`,
    /** Set of a consumer system's subscription ids. */
    consumerSubscriptions: (deptCode: string, systemId: string) =>
      `${base}subs:consumer:${deptCode}:${systemId}`,
  };
}

export type ExchangeKeys = ReturnType<typeof exchangeKeys>;
