/**
 * Every Redis key of the application workflow, from the prefix the caller passes (e.g. `gs:`). All share
 * the hash tag `{applications}`: one Lua script writes the application, its indexes and the outbox entry
 * of the change atomically, so they must live in one Redis Cluster slot.
 */
export function applicationKeys(prefix: string) {
  const base = `${prefix}{applications}:`;
  return {
    /** Hash: application id → Application JSON. */
    data: `${base}data`,
    /** Counter behind the ids APP-<yyyymmdd>-<n>. */
    seq: `${base}seq`,
    /** Hash: consumer key (dept:system:resource) → id of that system's open application. */
    pending: `${base}pending`,
    /** Stream of committed changes' events and timers (field `entry`), drained by the gateway. */
    outbox: `${base}outbox`,
    /** Sorted sets of ids scored by submittedAt (ms). */
    all: `${base}idx:all`,
    byConsumer: (dept: string) => `${base}idx:consumer:${dept}`,
    byProvider: (dept: string) => `${base}idx:provider:${dept}`,
    byResource: (code: string) => `${base}idx:resource:${code}`,
    /** Open applications scored by the deadline of their current stage. */
    open: `${base}idx:open`,
    /** Decided applications scored by decidedAt. */
    decided: `${base}idx:decided`,
    /** String: token of the request deciding the application now (ApplicationStore.exclusive). */
    decisionLock: (id: string) => `${base}lock:${id}`,
    /** Every stage as `<id>.<seq>`, scored by its deadline (statistics of overdue stages). */
    due: `${base}idx:due`,
  };
}

export type ApplicationKeys = ReturnType<typeof applicationKeys>;
