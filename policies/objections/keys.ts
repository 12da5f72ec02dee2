/**
 * Every Redis key of objections, from the prefix the caller passes (e.g. `gs:`). All share the hash tag
 * `{objections}`: one Lua script writes an objection, its indexes, the "one open objection per record and
 * item" claim and the outbox entry of the change atomically, so they must live in one Redis Cluster slot.
 */
export function objectionKeys(prefix: string) {
  const base = `${prefix}{objections}:`;
  return {
    /** Hash: objection id → Objection JSON. */
    data: `${base}data`,
    /** Counter behind the ids OBJ-<yyyymmdd>-<n>. */
    seq: `${base}seq`,
    /** Hash: record key (dept:resource:item:sha256 of the key value) → id of the open objection. */
    pending: `${base}pending`,
    /** Stream of committed changes' events and timers (field `entry`), drained by the gateway. */
    outbox: `${base}outbox`,
    /** Sorted sets of ids scored by submittedAt (ms). */
    all: `${base}idx:all`,
    byConsumer: (dept: string) => `${base}idx:consumer:${dept}`,
    byProvider: (dept: string) => `${base}idx:provider:${dept}`,
    byResource: (code: string) => `${base}idx:resource:${code}`,
    /** Open objections scored by their answer deadline. */
    open: `${base}idx:open`,
  };
}

export type ObjectionKeys = ReturnType<typeof objectionKeys>;
