/**
 * A stretch of one instance's chain, oldest first: the shipped part from the PostgreSQL store, the rest
 * from the stream (read newest first, so only the unshipped tail is scanned), checked to be continuous
 * (seq, prev links, the chain hash of prev + rec, SHA-256 or the SM3 a record names). Checkpoint tree heads and inclusion proofs are built from it.
 */
import type { RedisClient } from '../platform/redis.js';
import { chainHash } from './canonical.js';
import { type ChainEntry, type RawEntry, readChainEntry } from './entries.js';
import { AuditChainBroken } from './errors.js';
import type { AuditKeys } from './keys.js';
import type { AuditStore } from './store/store.js';

const CHUNK = 1000;

export interface ChainRange {
  instance: string;
  /** First seq wanted (inclusive, ≥ 1). */
  fromSeq: number;
  /** Last seq wanted (inclusive). */
  toSeq: number;
  /** Stream id of the record at toSeq when known (the writer's head): the backwards scan starts there. */
  endId?: string;
}

/** The records fromSeq..toSeq; AUDIT_CHAIN_BROKEN when one is missing or the links do not hold. */
export async function readChainRange(
  redis: RedisClient,
  keys: AuditKeys,
  range: ChainRange,
  store?: AuditStore,
): Promise<ChainEntry[]> {
  const { instance, fromSeq, toSeq } = range;
  if (!Number.isSafeInteger(fromSeq) || !Number.isSafeInteger(toSeq) || fromSeq < 1 || toSeq < fromSeq) {
    throw new RangeError(`no chain range ${fromSeq}..${toSeq}`);
  }
  const entries: ChainEntry[] = [];
  let next = fromSeq;
  while (store && next <= toSeq) {
    const want = Math.min(CHUNK, toSeq - next + 1);
    const rows = await store.chain(instance, next, want);
    for (const r of rows) {
      entries.push({ id: `${r.ms}-${r.n}`, seq: r.seq, prev: r.prev, hash: r.hash, rec: r.rec });
    }
    if (rows.length < want) break;
    next = rows[rows.length - 1]!.seq + 1;
  }
  next = (entries[entries.length - 1]?.seq ?? fromSeq - 1) + 1;
  if (next <= toSeq) entries.push(...(await streamTail(redis, keys, range, next)));
  checkContinuous(instance, fromSeq, toSeq, entries);
  return entries;
}

/** The stream's records next..toSeq, scanning back from `endId` (or the end) until before `next`. */
async function streamTail(
  redis: RedisClient,
  keys: AuditKeys,
  range: ChainRange,
  next: number,
): Promise<ChainEntry[]> {
  const newestFirst: ChainEntry[] = [];
  let end = range.endId ?? '+';
  for (;;) {
    const chunk = (await redis.xrevrange(
      keys.stream(range.instance),
      end,
      '-',
      'COUNT',
      CHUNK,
    )) as RawEntry[];
    for (const raw of chunk) {
      const entry = readChainEntry(raw);
      if ('torn' in entry) {
        throw new AuditChainBroken(`audit entry ${raw[0]} of ${range.instance} is torn: ${entry.torn}`);
      }
      if (entry.seq < next) return newestFirst.reverse();
      if (entry.seq <= range.toSeq) newestFirst.push(entry);
    }
    if (chunk.length < CHUNK) return newestFirst.reverse();
    end = `(${chunk[chunk.length - 1]![0]}`;
  }
}

function checkContinuous(instance: string, fromSeq: number, toSeq: number, entries: ChainEntry[]): void {
  const where = `records ${fromSeq}..${toSeq} of instance ${instance}`;
  if (entries.length !== toSeq - fromSeq + 1) {
    throw new AuditChainBroken(`${where}: ${entries.length} found, neither store nor stream holds the rest`);
  }
  entries.forEach((entry, i) => {
    if (entry.seq !== fromSeq + i) throw new AuditChainBroken(`${where}: seq ${entry.seq} out of place`);
    if (i > 0 && entry.prev !== entries[i - 1]!.hash) {
      throw new AuditChainBroken(`${where}: seq ${entry.seq} does not link to seq ${entry.seq - 1}`);
    }
    if (chainHash(entry.prev, entry.rec) !== entry.hash) {
      throw new AuditChainBroken(
        `${where}: the hash of seq ${entry.seq} is not the chain hash of prev + rec`,
      );
    }
  });
}
