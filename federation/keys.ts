/**
 * Every Redis key (and the pub/sub channel) of the federation. All share the hash tag {federation}, so the
 * Lua scripts that touch several of them work on Redis Cluster.
 */
export function federationKeys(prefix: string) {
  const base = `${prefix}{federation}:`;
  return {
    /** String, JSON StoredAgreement. */
    agreement: (id: string) => `${base}agreement:${id}`,
    /** Sorted set of agreement ids scored by the time they were first stored (ms). */
    agreements: `${base}agreements`,
    /** Counter bumped by every change: each instance polls it as the safety net of the channel. */
    generation: `${base}gen`,
    /** String: the watermark value a data return job of `peer`'s resource `code` last stored up to. */
    returnWatermark: (peer: string, code: string) => `${base}return:${peer}:${code}`,
    /** Pub/sub channel (not a key): the id of every agreement just stored or revoked. */
    channel: `${base}changed`,
  };
}

export type FederationKeys = ReturnType<typeof federationKeys>;
