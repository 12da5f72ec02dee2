/**
 * Every Redis key of the audit trail. The keys of one instance share the hash tag `{audit:<instance>}`
 * so that the append script (stream, head, shipped position) runs on Redis Cluster. Search indexes are
 * not kept in Redis: they are the PostgreSQL store's.
 */
export function auditKeys(prefix: string) {
  const instanceTag = (instance: string) => `${prefix}{audit:${instance}}`;
  return {
    /** Set of every instance id that ever wrote; verifiers and searches start here. */
    instances: `${prefix}audit:instances`,
    /** Stream of records: fields `seq`, `prev`, `hash`, `rec` (canonical JSON). */
    stream: (instance: string) => `${instanceTag(instance)}:stream`,
    /** Hash `seq`, `hash`, `id`: the last record of the chain. */
    head: (instance: string) => `${instanceTag(instance)}:head`,
    /** Hash `seq`, `id`: the last record shipped to the PostgreSQL store (mirrored by the shipper). */
    shipped: (instance: string) => `${instanceTag(instance)}:shipped`,
    /** Stream of signed checkpoints: fields `payload`, `sig`, `alg`, `signer`. */
    checkpoints: (instance: string) => `${instanceTag(instance)}:checkpoints`,
  };
}

export type AuditKeys = ReturnType<typeof auditKeys>;
