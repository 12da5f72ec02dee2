/**
 * Redis is the catalog's system of record. A resource record, one record per version, the published
 * view (entry in force + status, for the data path) and the search document are written together by
 * one Lua script that first compares the stored resource record with the one the change was computed
 * from (optimistic concurrency: two concurrent approvals cannot both succeed; the loser re-reads and
 * re-decides).
 */
import type { RedisClient } from '../platform/redis.js';
import { type CatalogKeys, catalogKeys } from './keys.js';
import type { CatalogResource, CatalogStatus, CatalogVersion } from './records.js';
import type { ResourceEntry } from './schema.js';
import { buildSearchDocument } from './search-document.js';

/**
 * KEYS[1] resource record, KEYS[2] published view, KEYS[3] search documents (hash),
 * KEYS[4] generation counter, KEYS[5] changes (sorted set), KEYS[6] item sources (hash: semantic id →
 * resource code), KEYS[7..n] version records to write.
 * ARGV[1] '1' when the resource must not exist yet, else '0'; ARGV[2] the resource record the change
 * was computed from; ARGV[3] new resource record; ARGV[4] code; ARGV[5] published view ('' = none);
 * ARGV[6] search document; ARGV[7] pub/sub channel; ARGV[8] semantic ids the version being published
 * is the source of, newline-separated ('' = none); ARGV[9..] version records, in KEYS order.
 * Returns the new generation; 0 when the resource record changed meanwhile; {-1, semantic id, holder}
 * when another resource is the source of an item claimed (一数一源). Nothing is written unless positive.
 */
const WRITE_SCRIPT = `
local stored = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if stored then return 0 end
elseif stored ~= ARGV[2] then
  return 0
end
local claims = {}
if ARGV[8] ~= '' then
  for sid in string.gmatch(ARGV[8], '[^\\n]+') do
    local holder = redis.call('HGET', KEYS[6], sid)
    if holder and holder ~= ARGV[4] then return {-1, sid, holder} end
    claims[#claims + 1] = sid
  end
end
for _, sid in ipairs(claims) do redis.call('HSET', KEYS[6], sid, ARGV[4]) end
redis.call('SET', KEYS[1], ARGV[3])
for i = 7, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 2]) end
if ARGV[5] ~= '' then redis.call('SET', KEYS[2], ARGV[5]) end
redis.call('HSET', KEYS[3], ARGV[4], ARGV[6])
local gen = redis.call('INCR', KEYS[4])
redis.call('ZADD', KEYS[5], gen, ARGV[4])
redis.call('PUBLISH', ARGV[7], ARGV[4])
return gen
`;

const WRITE_COMMAND = 'govshareCatalogWrite';

/** What the data path reads: the entry in force and the declarations its status is computed from. */
export interface StoredPublishedView {
  code: string;
  version: number;
  publishedDate: string;
  status: CatalogStatus;
  entry: ResourceEntry;
}

export interface LoadedResource {
  /** The stored record as read, compared by the write script. */
  raw: string;
  resource: CatalogResource;
  current?: CatalogVersion;
  latest?: CatalogVersion;
}

type ScriptCall = (numberOfKeys: number, ...args: string[]) => Promise<number | [number, string, string]>;

/** The outcome of a write: done, lost a race (re-read and re-plan), or an item's source is taken. */
export type WriteOutcome = 'written' | 'conflict' | { sourceTaken: string; holder: string };

export class CatalogStore {
  readonly keys: CatalogKeys;
  private readonly writeScript: ScriptCall;

  constructor(
    readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = catalogKeys(prefix);
    const commands = redis as unknown as Record<string, ScriptCall>;
    if (typeof commands[WRITE_COMMAND] !== 'function')
      redis.defineCommand(WRITE_COMMAND, { lua: WRITE_SCRIPT });
    this.writeScript = (...args) => commands[WRITE_COMMAND]!.apply(redis, args);
  }

  /** The resource with its current and latest versions (two round trips), or undefined. */
  async load(code: string): Promise<LoadedResource | undefined> {
    const raw = await this.redis.get(this.keys.resource(code));
    if (raw === null) return undefined;
    const resource = JSON.parse(raw) as CatalogResource;
    const wanted = [...new Set([resource.current, resource.latest].filter((v) => v !== undefined))];
    const versions = await this.readVersions(code, wanted);
    const byNumber = new Map(versions.flatMap((v) => (v ? [[v.version, v] as const] : [])));
    const loaded: LoadedResource = { raw, resource };
    if (resource.current !== undefined) loaded.current = byNumber.get(resource.current);
    loaded.latest = byNumber.get(resource.latest);
    return loaded;
  }

  async readVersions(code: string, versions: number[]): Promise<(CatalogVersion | undefined)[]> {
    if (versions.length === 0) return [];
    const raws = await this.redis.mget(...versions.map((n) => this.keys.version(code, n)));
    return raws.map((raw) => (raw === null ? undefined : (JSON.parse(raw) as CatalogVersion)));
  }

  /** Resource records of many codes in batches (export); missing ones are left out. */
  async readResources(codes: string[]): Promise<CatalogResource[]> {
    const result: CatalogResource[] = [];
    for (let i = 0; i < codes.length; i += 500) {
      const batch = codes.slice(i, i + 500);
      const raws = await this.redis.mget(...batch.map((c) => this.keys.resource(c)));
      for (const raw of raws) if (raw !== null) result.push(JSON.parse(raw) as CatalogResource);
    }
    return result;
  }

  async listCodes(): Promise<string[]> {
    return (await this.redis.hkeys(this.keys.searchDocs)).sort();
  }

  async readPublished(code: string): Promise<StoredPublishedView | undefined> {
    const raw = await this.redis.get(this.keys.published(code));
    return raw === null ? undefined : (JSON.parse(raw) as StoredPublishedView);
  }

  /**
   * Writes the resource and the given versions if the stored resource record is still `expectedRaw`
   * (or absent, when `expectedRaw` is undefined). `known` are versions read earlier that the published
   * view and the search document may need. `claims` are the semantic ids a version being published is the
   * authoritative source of (一数一源): claimed atomically with the write, refused if another resource holds one.
   */
  async write(
    expectedRaw: string | undefined,
    resource: CatalogResource,
    written: CatalogVersion[],
    known: (CatalogVersion | undefined)[],
    claims: readonly string[] = [],
  ): Promise<WriteOutcome> {
    const byNumber = new Map<number, CatalogVersion>();
    for (const v of [...known, ...written]) if (v) byNumber.set(v.version, v);
    const current = resource.current === undefined ? undefined : byNumber.get(resource.current);
    const latest = byNumber.get(resource.latest);
    const published: StoredPublishedView | undefined = current && {
      code: resource.code,
      version: current.version,
      publishedDate: current.publishedDate!,
      status: resource.status,
      entry: current.entry,
    };
    const { keys } = this;
    const generation = await this.writeScript(
      6 + written.length,
      keys.resource(resource.code),
      keys.published(resource.code),
      keys.searchDocs,
      keys.generation,
      keys.changes,
      keys.itemSources,
      ...written.map((v) => keys.version(v.code, v.version)),
      expectedRaw === undefined ? '1' : '0',
      expectedRaw ?? '',
      JSON.stringify(resource),
      resource.code,
      published ? JSON.stringify(published) : '',
      JSON.stringify(buildSearchDocument(resource, current, latest)),
      keys.channel,
      claims.join('\n'),
      ...written.map((v) => JSON.stringify(v)),
    );
    if (Array.isArray(generation)) return { sourceTaken: generation[1], holder: generation[2] };
    return generation === 0 ? 'conflict' : 'written';
  }

  /** The resource that is the authoritative source of each semantic id (一数一源). */
  async itemSources(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.itemSources);
  }
}
