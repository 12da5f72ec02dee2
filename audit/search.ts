/**
 * Searching the trail, newest first. With any filter besides time, the most selective index drives
 * (the one with the fewest members in the time range, counted with ZCOUNT); the other filters are
 * applied in process to each record read, which also keeps stray index members (see indexes.ts) out.
 * With a time range only, the instances' streams are merged with XREVRANGE.
 *
 * Time bounds apply to the stream-id time: the record's time, or a slightly later one for a record that
 * was written after one with a later time. `from` is inclusive, `to` exclusive.
 */
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { parseInstant } from '../platform/instant.js';
import type { RedisClient } from '../platform/redis.js';
import { idTime, parseRecord, parseStreamId, type RawEntry, readChainEntry } from './entries.js';
import { AuditQueryInvalid } from './errors.js';
import { type AuditKeys, auditKeys, type IndexKind, parseIndexMember } from './keys.js';
import { AuditDecision, type AuditRecord, type StoredAuditRecord } from './record.js';
import { type Command, roundTripValues } from './scripts.js';
import { subjectHash } from './subject.js';

const ISO_DATE_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})$';
const Value = (description: string) =>
  Type.Optional(Type.String({ minLength: 1, maxLength: 128, description }));

export const AuditFilters = Type.Object(
  {
    from: Type.Optional(Type.String({ pattern: ISO_DATE_TIME, description: 'From this time (inclusive)' })),
    to: Type.Optional(Type.String({ pattern: ISO_DATE_TIME, description: 'Up to this time (exclusive)' })),
    deptCode: Value('Calling department'),
    systemId: Value('Calling system'),
    resource: Value('Catalog resource code'),
    grantId: Value('Grant'),
    requestId: Value('Request id'),
    subject: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'Plain key value (e.g. an ID number); hashed here',
      }),
    ),
    decision: Type.Optional(AuditDecision),
    reasonCode: Value('Reason code of a deny or error'),
  },
  { additionalProperties: false },
);
export type AuditFilters = Static<typeof AuditFilters>;

export const AuditQuery = Type.Composite(
  [
    AuditFilters,
    Type.Object({
      limit: Type.Optional(
        Type.Integer({ minimum: 1, maximum: 500, description: 'Records per page (default 100)' }),
      ),
      cursor: Type.Optional(
        Type.String({ minLength: 1, maxLength: 512, description: 'nextCursor of the previous page' }),
      ),
    }),
  ],
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

export interface AuditPage {
  records: StoredAuditRecord[];
  nextCursor?: string;
}

const queryChecker = TypeCompiler.Compile(AuditQuery);
const filtersChecker = TypeCompiler.Compile(AuditFilters);
/** Most index members one call examines before handing back a cursor (bounds the work per page). */
const MAX_SCAN = 5000;

interface Plan {
  fromMs: number | undefined;
  toMs: number | undefined;
  filters: [IndexKind, string][];
  limit: number;
}

type IndexCursor = { k: 'i'; s: number; m: string };
type TimeCursor = { k: 't'; ms: number; n: number; i: string };

export async function searchAudit(
  redis: RedisClient,
  prefix: string,
  subjectSecret: Buffer,
  query: AuditQuery,
): Promise<AuditPage> {
  const plan = planQuery(query, subjectSecret);
  const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const keys = auditKeys(prefix);
  if (plan.filters.length === 0) {
    if (cursor && cursor.k !== 't') throw new AuditQueryInvalid('the cursor belongs to a query with filters');
    return searchStreams(redis, keys, plan, cursor);
  }
  if (cursor && cursor.k !== 'i')
    throw new AuditQueryInvalid('the cursor belongs to a time-range-only query');
  return searchIndex(redis, keys, plan, cursor);
}

/** Every record matching the filters, newest first, one JSON object per line (each ending in "\n"). */
export async function* exportAudit(
  redis: RedisClient,
  prefix: string,
  subjectSecret: Buffer,
  filters: AuditFilters,
): AsyncGenerator<string> {
  if (!filtersChecker.Check(filters)) {
    const first = filtersChecker.Errors(filters).First();
    throw new AuditQueryInvalid(`audit export ${first?.path || '/'}: ${first?.message ?? 'invalid'}`);
  }
  let cursor: string | undefined;
  do {
    const page = await searchAudit(redis, prefix, subjectSecret, {
      ...filters,
      limit: 500,
      ...(cursor ? { cursor } : {}),
    });
    for (const record of page.records) yield `${JSON.stringify(record)}\n`;
    cursor = page.nextCursor;
  } while (cursor);
}

function planQuery(query: AuditQuery, subjectSecret: Buffer): Plan {
  if (!queryChecker.Check(query)) {
    const first = queryChecker.Errors(query).First();
    throw new AuditQueryInvalid(`audit query ${first?.path || '/'}: ${first?.message ?? 'invalid'}`);
  }
  const time = (name: 'from' | 'to') => {
    const value = query[name];
    if (value === undefined) return undefined;
    const ms = parseInstant(value);
    if (Number.isNaN(ms)) {
      throw new AuditQueryInvalid(`audit query /${name}: "${value}" is not a valid time`);
    }
    // Stream ids count milliseconds from 1970: the trail holds nothing earlier.
    if (name === 'from' ? ms < 0 : ms <= 0) {
      throw new AuditQueryInvalid(`audit query /${name}: "${value}" is before 1970; the trail starts later`);
    }
    return ms;
  };
  const fromMs = time('from');
  const toMs = time('to');
  if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs) {
    throw new AuditQueryInvalid('audit query: from must be earlier than to');
  }
  const filters: [IndexKind, string][] = [];
  const add = (kind: IndexKind, value: string | undefined) =>
    value !== undefined && filters.push([kind, value]);
  add('request', query.requestId);
  add('subject', query.subject === undefined ? undefined : subjectHash(subjectSecret, query.subject));
  add('grant', query.grantId);
  add('resource', query.resource);
  add('system', query.systemId);
  add('dept', query.deptCode);
  add('reason', query.reasonCode);
  add('decision', query.decision);
  return { fromMs, toMs, filters, limit: query.limit ?? 100 };
}

function matches(record: AuditRecord, filters: [IndexKind, string][]): boolean {
  return filters.every(([kind, value]) => {
    switch (kind) {
      case 'request':
        return record.requestId === value;
      case 'subject':
        return record.subjects?.includes(value) === true;
      case 'grant':
        return record.grantId === value;
      case 'resource':
        return record.resource === value;
      case 'system':
        return record.actor?.systemId === value;
      case 'dept':
        return record.actor?.deptCode === value;
      case 'reason':
        return record.reasonCode === value;
      case 'decision':
        return record.decision === value;
    }
    return false;
  });
}

function stored(raw: RawEntry): StoredAuditRecord | undefined {
  const entry = readChainEntry(raw);
  if ('torn' in entry) return undefined;
  const record = parseRecord(entry.rec);
  return record && { ...record, id: entry.id, seq: entry.seq };
}

async function searchIndex(
  redis: RedisClient,
  keys: AuditKeys,
  plan: Plan,
  cursor: IndexCursor | undefined,
): Promise<AuditPage> {
  const min = plan.fromMs === undefined ? '-inf' : String(plan.fromMs);
  const max = plan.toMs === undefined ? '+inf' : `(${plan.toMs}`;
  const candidates = plan.filters.map(([kind, value]) => keys.index(kind, value));
  let driving = candidates[0]!;
  if (candidates.length > 1) {
    const counts = (await roundTripValues(
      redis,
      candidates.map((key) => ['zcount', key, min, max]),
    )) as number[];
    driving = candidates[counts.indexOf(Math.min(...counts))]!;
  }
  const records: StoredAuditRecord[] = [];
  let position = cursor;
  let offset = 0;
  let scanned = 0;
  for (;;) {
    // Several filters: read wide pages, most members fail another filter. One filter: read what is asked.
    const count = plan.filters.length > 1 ? 500 : plan.limit - records.length;
    const upper = position ? String(position.s) : max;
    const flat = await redis.zrange(
      driving,
      upper,
      min,
      'BYSCORE',
      'REV',
      'LIMIT',
      offset,
      count,
      'WITHSCORES',
    );
    const page: { s: number; m: string }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) page.push({ m: flat[i]!, s: Number(flat[i + 1]) });
    const exhausted = page.length < count;
    // Members of the cursor's own score at or above it come first in the page: skip past them.
    const fresh = position ? page.filter((p) => !isAtOrBefore(p, position!)) : page;
    if (fresh.length === 0) {
      if (exhausted) return { records };
      offset += page.length;
      continue;
    }
    offset = 0;
    const entries = (await roundTripValues(
      redis,
      fresh.map(({ m }) => {
        const where = parseIndexMember(m);
        return where
          ? (['xrange', keys.stream(where.instance), where.id, where.id] as Command)
          : (['echo', ''] as Command);
      }),
    )) as (RawEntry[] | string)[];
    for (let i = 0; i < fresh.length; i++) {
      position = { k: 'i', ...fresh[i]! };
      scanned++;
      const raw = entries[i];
      const record = Array.isArray(raw) && raw[0] ? stored(raw[0]) : undefined;
      if (record && matches(record, plan.filters)) {
        records.push(record);
        if (records.length === plan.limit) {
          return exhausted && i === fresh.length - 1
            ? { records }
            : { records, nextCursor: encodeCursor(position) };
        }
      }
    }
    if (exhausted) return { records };
    if (scanned >= MAX_SCAN) return { records, nextCursor: encodeCursor(position!) };
  }
}

/** Whether index item p comes at or before the cursor in newest-first order (score, then member, descending). */
function isAtOrBefore(p: { s: number; m: string }, c: { s: number; m: string }): boolean {
  if (p.s !== c.s) return p.s > c.s;
  return Buffer.compare(Buffer.from(p.m), Buffer.from(c.m)) >= 0;
}

async function searchStreams(
  redis: RedisClient,
  keys: AuditKeys,
  plan: Plan,
  cursor: TimeCursor | undefined,
): Promise<AuditPage> {
  const instances = (await redis.smembers(keys.instances)).sort();
  const start = plan.fromMs === undefined ? '-' : String(plan.fromMs);
  const defaultEnd = plan.toMs === undefined ? '+' : String(plan.toMs - 1);
  const lists = (await roundTripValues(
    redis,
    instances.map((instance) => {
      // Order: stream-id time, then id sequence, then instance name, all descending.
      const end = !cursor
        ? defaultEnd
        : instance < cursor.i
          ? `${cursor.ms}-${cursor.n}`
          : `(${cursor.ms}-${cursor.n}`;
      return ['xrevrange', keys.stream(instance), end, start, 'COUNT', plan.limit] as Command;
    }),
  )) as RawEntry[][];
  const merged: { instance: string; ms: number; n: number; raw: RawEntry }[] = [];
  let more = false;
  lists.forEach((list, i) => {
    if (list.length === plan.limit) more = true;
    for (const raw of list) merged.push({ instance: instances[i]!, ...parseStreamId(raw[0]), raw });
  });
  merged.sort(
    (a, b) => b.ms - a.ms || b.n - a.n || (a.instance < b.instance ? 1 : a.instance > b.instance ? -1 : 0),
  );
  const taken = merged.slice(0, plan.limit);
  const records: StoredAuditRecord[] = [];
  for (const { raw } of taken) {
    const record = stored(raw);
    if (record && (plan.toMs === undefined || idTime(raw[0]) < plan.toMs)) records.push(record);
  }
  const last = taken[taken.length - 1];
  if (last && (merged.length > plan.limit || more)) {
    return { records, nextCursor: encodeCursor({ k: 't', ms: last.ms, n: last.n, i: last.instance }) };
  }
  return { records };
}

function encodeCursor(cursor: IndexCursor | TimeCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string): IndexCursor | TimeCursor {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as {
      k?: unknown;
      s?: number;
      m?: unknown;
      ms?: number;
      n?: number;
      i?: unknown;
    };
    if (value.k === 'i' && Number.isFinite(value.s) && typeof value.m === 'string') {
      return { k: 'i', s: value.s!, m: value.m };
    }
    if (
      value.k === 't' &&
      Number.isSafeInteger(value.ms) &&
      value.ms! >= 0 &&
      Number.isSafeInteger(value.n) &&
      value.n! >= 0 &&
      typeof value.i === 'string'
    ) {
      return { k: 't', ms: value.ms!, n: value.n!, i: value.i };
    }
  } catch {
    // falls through to the error below
  }
  throw new AuditQueryInvalid('audit query /cursor: not a cursor returned by a previous page');
}
