/**
 * Every Redis key of the audit trail. The keys of one instance share the hash tag `{audit:<instance>}`
 * so that the append script (stream + head) runs on Redis Cluster; each index key has a tag of its own,
 * so indexes spread over the cluster.
 */
export type IndexKind =
  | 'dept'
  | 'system'
  | 'resource'
  | 'grant'
  | 'subject'
  | 'decision'
  | 'reason'
  | 'request';

export function auditKeys(prefix: string) {
  const instanceTag = (instance: string) => `${prefix}{audit:${instance}}`;
  return {
    /** Set of every instance id that ever wrote; verifiers and searches start here. */
    instances: `${prefix}audit:instances`,
    /** Stream of records: fields `seq`, `prev`, `hash`, `rec` (canonical JSON). */
    stream: (instance: string) => `${instanceTag(instance)}:stream`,
    /** Hash `seq`, `hash`, `id`: the last record of the chain. */
    head: (instance: string) => `${instanceTag(instance)}:head`,
    /** Stream of signed checkpoints: fields `payload`, `sig`, `alg`, `signer`. */
    checkpoints: (instance: string) => `${instanceTag(instance)}:checkpoints`,
    /** Sorted set, score = stream-id time (ms), member = `<instance>|<stream id>`. */
    index: (kind: IndexKind, value: string) => `${prefix}{audit:idx:${kind}:${value}}`,
    /** Glob matching every index key (the prefix escaped), for rebuilding. */
    indexPattern: `${prefix.replace(/[*?[\]\\]/g, '\\$&')}{audit:idx:*`,
  };
}

export type AuditKeys = ReturnType<typeof auditKeys>;

export function indexMember(instance: string, id: string): string {
  return `${instance}|${id}`;
}

export function parseIndexMember(member: string): { instance: string; id: string } | undefined {
  const bar = member.indexOf('|');
  if (bar <= 0) return undefined;
  return { instance: member.slice(0, bar), id: member.slice(bar + 1) };
}
