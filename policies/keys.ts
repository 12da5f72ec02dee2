/**
 * Every Redis key of policies/ (grants and quota counters), from the prefix the caller passes (e.g. `gs:`).
 * The hash tags put keys that one Lua script touches into one Redis Cluster slot: all grant keys share
 * `{grants}`, the two quota counters of a grant share `{quota:<grantId>}`.
 */
export function grantKeys(prefix: string) {
  const base = `${prefix}{grants}:`;
  return {
    /** Hash: grant id → Grant JSON. */
    data: `${base}data`,
    /** Hash: consumer key (dept:system:resource) → id of that consumer's current grant. */
    current: `${base}current`,
    /** Sorted sets of grant ids, score = grantedAt in ms. */
    all: `${base}idx:all`,
    byConsumer: (deptCode: string) => `${base}idx:consumer:${deptCode}`,
    byProvider: (deptCode: string) => `${base}idx:provider:${deptCode}`,
    byResource: (resourceCode: string) => `${base}idx:resource:${resourceCode}`,
    /** Pub/sub channel announcing every change (a channel, not a key; named alike for clarity). */
    changed: `${base}changed`,
  };
}

export function quotaKeys(prefix: string) {
  return {
    /** Counter of the calls in one epoch minute. */
    minute: (grantId: string, epochMinute: number) => `${prefix}{quota:${grantId}}:m:${epochMinute}`,
    /** Counter of the calls in one CST calendar day, `yyyymmdd`. */
    day: (grantId: string, cstDay: string) => `${prefix}{quota:${grantId}}:d:${cstDay}`,
  };
}
