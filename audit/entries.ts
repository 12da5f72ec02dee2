/**
 * Reading the audit streams: one chained record per stream entry with the fields `seq`, `prev`, `hash`
 * and `rec` (canonical JSON of the record). Stream ids are `<ms>-<n>`, the ms part being the record's
 * time (or, when a record arrives after one with a later time, that later time: ids only grow).
 */
import type { RedisClient } from '../platform/redis.js';
import type { AuditRecord } from './record.js';

export type RawEntry = [id: string, fields: string[]];

export interface ChainEntry {
  id: string;
  seq: number;
  prev: string;
  hash: string;
  /** The canonical JSON exactly as stored. */
  rec: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const SEQ = /^[1-9][0-9]{0,15}$/;

export function fieldMap(fields: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  return map;
}

/** The entry's chain fields, or the reason it is torn (a field missing or malformed). */
export function readChainEntry([id, fields]: RawEntry): ChainEntry | { id: string; torn: string } {
  const map = fieldMap(fields);
  const seq = map.get('seq');
  const prev = map.get('prev');
  const hash = map.get('hash');
  const rec = map.get('rec');
  if (seq === undefined || !SEQ.test(seq)) return { id, torn: 'seq missing or not a positive integer' };
  if (prev === undefined || !HEX64.test(prev)) return { id, torn: 'prev missing or not 64 hex digits' };
  if (hash === undefined || !HEX64.test(hash)) return { id, torn: 'hash missing or not 64 hex digits' };
  if (rec === undefined) return { id, torn: 'rec missing' };
  return { id, seq: Number(seq), prev, hash, rec };
}

/** Parses a record's canonical JSON; undefined when it is not a JSON object. */
export function parseRecord(rec: string): AuditRecord | undefined {
  try {
    const value: unknown = JSON.parse(rec);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as AuditRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

export function idTime(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

export function parseStreamId(id: string): { ms: number; n: number } {
  const dash = id.indexOf('-');
  return { ms: Number(id.slice(0, dash)), n: Number(id.slice(dash + 1)) };
}

/** Walks a stream oldest first in chunks of `count` entries. */
export async function* walkStream(redis: RedisClient, key: string, count = 1000): AsyncGenerator<RawEntry[]> {
  let start = '-';
  for (;;) {
    const chunk = (await redis.xrange(key, start, '+', 'COUNT', count)) as RawEntry[];
    if (chunk.length > 0) yield chunk;
    if (chunk.length < count) return;
    start = `(${chunk[chunk.length - 1]![0]}`;
  }
}

/** The last entry of a stream, if any. */
export async function lastEntry(redis: RedisClient, key: string): Promise<RawEntry | undefined> {
  const [entry] = (await redis.xrevrange(key, '+', '-', 'COUNT', 1)) as RawEntry[];
  return entry;
}
