/**
 * Every Redis key of the catalog. The module part is a hash tag (`{catalog}`) so that all catalog keys
 * live in one Cluster slot and a write can touch the resource, its versions and the search index in one
 * Lua script.
 */
export interface CatalogKeys {
  /** JSON CatalogResource. */
  resource(code: string): string;
  /** JSON CatalogVersion. */
  version(code: string, version: number): string;
  /** JSON of the entry in force with its status declarations: the data path reads only this. */
  published(code: string): string;
  /** Hash: code → compact search document (see search-document.ts). */
  searchDocs: string;
  /** Counter bumped by every write; search caches compare it. */
  generation: string;
  /** Sorted set: code scored by the generation of its last write, so a cache reloads only what changed. */
  changes: string;
  /** Hash: semantic id → code of the resource that is its authoritative source (一数一源). */
  itemSources: string;
  /** Hash: arbitration id → JSON ItemSourceArbitration (a contested source before the bureau). */
  arbitrations: string;
  /** Counter of arbitration ids. */
  arbitrationSeq: string;
  /** Pub/sub channel (not a key): the code of every changed resource. */
  channel: string;
}

export function catalogKeys(prefix: string): CatalogKeys {
  const base = `${prefix}{catalog}:`;
  return {
    resource: (code) => `${base}res:${code}`,
    version: (code, version) => `${base}ver:${code}:${version}`,
    published: (code) => `${base}pub:${code}`,
    searchDocs: `${base}search`,
    generation: `${base}gen`,
    changes: `${base}changes`,
    channel: `${base}changed`,
    itemSources: `${base}item-sources`,
    arbitrations: `${base}arbitrations`,
    arbitrationSeq: `${base}arbitration-seq`,
  };
}
