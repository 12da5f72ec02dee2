/**
 * Every Redis key of policies/ (grants, nonces and quota counters), from the prefix the caller passes (e.g. `gs:`).
 * The hash tags put keys that one Lua script touches into one Redis Cluster slot: all grant keys share
 * `{grants}`; a caller's nonces and quota counters share `{adm:<dept>:<system>}` (see admission.ts).
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

export function admissionKeys(prefix: string) {
  const tag = (deptCode: string, systemId: string) => `${prefix}{adm:${deptCode}:${systemId}}`;
  return {
    /** A signature nonce seen from one keyid of the caller (expires with the signature window). */
    nonce: (deptCode: string, systemId: string, keyid: string, nonce: string) =>
      `${tag(deptCode, systemId)}:n:${keyid}:${nonce}`,
    /** BITFIELD of a grant's call counters in one CST day `yyyymmdd`: `#0` the day, `#1`.. the minutes. */
    quota: (deptCode: string, systemId: string, grantId: string, cstDay: string) =>
      `${tag(deptCode, systemId)}:q:${grantId}:${cstDay}`,
  };
}

/** Data-use terms acceptances (use-terms.ts), under their own hash tag per resource. */
export function useTermsKeys(prefix: string) {
  const tag = (resourceCode: string) => `${prefix}{terms:${resourceCode}}`;
  return {
    /** Hash: consumer department → JSON TermsAcceptance (its latest). */
    accepted: (resourceCode: string) => `${tag(resourceCode)}:accepted`,
    /** List of every acceptance (JSON TermsAcceptance), oldest first. */
    log: (resourceCode: string) => `${tag(resourceCode)}:log`,
  };
}
