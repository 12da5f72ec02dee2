/**
 * Searching the trail, newest first (stream-id time, then id sequence, then instance). With the
 * PostgreSQL store, shipped records are found through its indexes and the streams' unshipped tails
 * (normally a second's worth) are scanned and merged in, so a record is found as soon as it is written.
 * Without a store the streams are scanned, at most MAX_SCAN entries per instance per page.
 *
 * Time bounds apply to the stream-id time: the record's time, or a slightly later one for a record that
 * was written after one with a later time. `from` is inclusive, `to` exclusive.
 */
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { parseInstant } from '../platform/instant.js';
import type { RedisClient } from '../platform/redis.js';
import { parseRecord, parseStreamId, type RawEntry, readChainEntry } from './entries.js';
import { AuditQueryInvalid } from './errors.js';
import { type AuditKeys, auditKeys } from './keys.js';
import { AuditDecision, type AuditRecord, type StoredAuditRecord } from './record.js';
import type { AuditStore, SearchPosition, ShippingPosition, StoreFilter } from './store/store.js';
import { subjectHash } from './subject.js';

const ISO_DATE_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})$';
const Value = (description: string) =>
  Type.Optional(Type.String({ minLength: 1, maxLength: 128, description }));

export const AuditFilters = Type.Object(
  {
    from: Type.Optional(Type.String({ pattern: ISO_DATE_TIME, description: 'From this time (inclusive)' })),
    to: Type.Optional(Type.String({ pattern: ISO_DATE_TIME, description: 'Up to this time (exclusive)' })),
    deptCode: Value('Calling department'),
    providerDept: Value('Department providing the resource'),
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
    actorRole: Value("Role of the acting person (e.g. auditor: the audit administrator's own actions)"),
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
/** Most stream entries one instance's scan examines per page before handing back a cursor. */
const MAX_SCAN = 5000;
const SCAN_CHUNK = 500;

interface Plan {
  fromMs: number | undefined;
  toMs: number | undefined;
  filters: StoreFilter[];
  limit: number;
}

interface Candidate extends SearchPosition {
  record: StoredAuditRecord;
}

export async function searchAudit(
  redis: RedisClient,
  prefix: string,
  subjectSecret: Buffer,
  query: AuditQuery,
  store?: AuditStore,
): Promise<AuditPage> {
  const plan = planQuery(query, subjectSecret);
  return searchPlanned(redis, prefix, plan, query.cursor, store);
}

/** A search already reduced to store filters (subjects hashed), for callers other than `/v1/audit`. */
export interface FilteredSearch {
  filters: StoreFilter[];
  fromMs?: number;
  toMs?: number;
  /** 1 to 500. */
  limit: number;
  /** nextCursor of the previous page. */
  cursor?: string;
}

/** The same search, newest first with keyset pagination, on filters built by the caller. */
export function searchFiltered(
  redis: RedisClient,
  prefix: string,
  search: FilteredSearch,
  store?: AuditStore,
): Promise<AuditPage> {
  if (!Number.isInteger(search.limit) || search.limit < 1 || search.limit > 500) {
    throw new AuditQueryInvalid(`audit query /limit: ${search.limit} is not 1 to 500`);
  }
  const plan: Plan = {
    fromMs: search.fromMs,
    toMs: search.toMs,
    filters: search.filters,
    limit: search.limit,
  };
  return searchPlanned(redis, prefix, plan, search.cursor, store);
}

async function searchPlanned(
  redis: RedisClient,
  prefix: string,
  plan: Plan,
  cursor: string | undefined,
  store?: AuditStore,
): Promise<AuditPage> {
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  const keys = auditKeys(prefix);
  // Positions before the tails: a record shipped meanwhile is then found twice (and kept once), never
  // missed, since a stream is trimmed only below shipped records.
  const positions = store ? await store.positions() : new Map<string, ShippingPosition>();
  const instances = (await redis.smembers(keys.instances)).sort();
  const tails = await Promise.all(
    instances.map((instance) => scanTail(redis, keys, instance, positions.get(instance), plan, after)),
  );
  const candidates: Candidate[] = tails.flatMap((tail) => tail.matches);
  // Nothing older than a scan's frontier may be answered: an instance scanned only so far may hold
  // newer matches below it.
  let bound: SearchPosition | undefined;
  for (const tail of tails)
    if (tail.frontier && (!bound || newer(tail.frontier, bound))) bound = tail.frontier;
  if (store) {
    const rows = await store.search({
      filters: plan.filters,
      ...(plan.fromMs === undefined ? {} : { fromMs: plan.fromMs }),
      ...(plan.toMs === undefined ? {} : { toMs: plan.toMs }),
      ...(after ? { after } : {}),
      limit: plan.limit,
    });
    const seen = new Set(candidates.map((c) => `${c.instance}|${c.record.seq}`));
    for (const row of rows) {
      if (seen.has(`${row.instance}|${row.seq}`)) continue;
      const record = parseRecord(row.rec);
      if (record)
        candidates.push({
          ms: row.ms,
          n: row.n,
          instance: row.instance,
          record: { ...record, id: `${row.ms}-${row.n}`, seq: row.seq },
        });
    }
    const last = rows[rows.length - 1];
    if (rows.length === plan.limit && last) {
      const position = { ms: last.ms, n: last.n, instance: last.instance };
      if (!bound || newer(position, bound)) bound = position;
    }
  }
  candidates.sort((a, b) => (newer(a, b) ? -1 : newer(b, a) ? 1 : 0));
  const answerable = bound ? candidates.filter((c) => !newer(bound!, c)) : candidates;
  const records = answerable.slice(0, plan.limit);
  const lastTaken = records.length === plan.limit ? answerable[plan.limit - 1] : undefined;
  const next = lastTaken ?? bound;
  return next
    ? { records: records.map((c) => c.record), nextCursor: encodeCursor(next) }
    : { records: records.map((c) => c.record) };
}

/** Every record matching the filters, newest first, one JSON object per line (each ending in "\n"). */
export async function* exportAudit(
  redis: RedisClient,
  prefix: string,
  subjectSecret: Buffer,
  filters: AuditFilters,
  store?: AuditStore,
): AsyncGenerator<string> {
  if (!filtersChecker.Check(filters)) {
    const first = filtersChecker.Errors(filters).First();
    throw new AuditQueryInvalid(`audit export ${first?.path || '/'}: ${first?.message ?? 'invalid'}`);
  }
  let cursor: string | undefined;
  do {
    const page = await searchAudit(
      redis,
      prefix,
      subjectSecret,
      { ...filters, limit: 500, ...(cursor ? { cursor } : {}) },
      store,
    );
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
  const filters: StoreFilter[] = [];
  const add = (kind: StoreFilter[0], value: string | undefined) =>
    value !== undefined && filters.push([kind, value] as StoreFilter);
  add('request', query.requestId);
  add('subject', query.subject === undefined ? undefined : subjectHash(subjectSecret, query.subject));
  add('grant', query.grantId);
  add('resource', query.resource);
  add('system', query.systemId);
  add('dept', query.deptCode);
  add('provider', query.providerDept);
  add('reason', query.reasonCode);
  add('decision', query.decision);
  add('actorRole', query.actorRole);
  return { fromMs, toMs, filters, limit: query.limit ?? 100 };
}

function matches(record: AuditRecord, ms: number, filters: readonly StoreFilter[]): boolean {
  return filters.every(([kind, value]) => {
    switch (kind) {
      case 'kind':
        return record.kind === value;
      case 'disclosedBefore':
        return record.investigation !== true || ms < value;
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
      case 'provider':
        return record.providerDept === value;
      case 'reason':
        return record.reasonCode === value;
      case 'decision':
        return record.decision === value;
      case 'actorRole':
        return record.actor?.role === value;
    }
    return false;
  });
}

/** Whether a comes before b in newest-first order. */
function newer(a: SearchPosition, b: SearchPosition): boolean {
  if (a.ms !== b.ms) return a.ms > b.ms;
  if (a.n !== b.n) return a.n > b.n;
  return a.instance > b.instance;
}

/**
 * Scans one instance's stream newest first, from the cursor (or `to`) down to the shipped position (or
 * `from`), for at most `limit` matches and MAX_SCAN entries. `frontier` is the last entry examined when
 * the scan stopped before the end of its range.
 */
async function scanTail(
  redis: RedisClient,
  keys: AuditKeys,
  instance: string,
  shipped: ShippingPosition | undefined,
  plan: Plan,
  after: SearchPosition | undefined,
): Promise<{ matches: Candidate[]; frontier?: SearchPosition }> {
  let end: string;
  if (after) {
    end = instance < after.instance ? `${after.ms}-${after.n}` : `(${after.ms}-${after.n}`;
    if (plan.toMs !== undefined && plan.toMs - 1 < after.ms) end = String(plan.toMs - 1);
  } else {
    end = plan.toMs === undefined ? '+' : String(plan.toMs - 1);
  }
  let start = plan.fromMs === undefined ? '-' : String(plan.fromMs);
  if (shipped && (plan.fromMs === undefined || parseStreamId(shipped.streamId).ms >= plan.fromMs)) {
    start = `(${shipped.streamId}`;
  }
  const found: Candidate[] = [];
  let scanned = 0;
  for (;;) {
    const chunk = (await redis.xrevrange(
      keys.stream(instance),
      end,
      start,
      'COUNT',
      SCAN_CHUNK,
    )) as RawEntry[];
    for (const raw of chunk) {
      scanned++;
      const { ms, n } = parseStreamId(raw[0]);
      const record = stored(raw);
      if (record && (plan.toMs === undefined || ms < plan.toMs) && matches(record, ms, plan.filters)) {
        found.push({ ms, n, instance, record });
        if (found.length === plan.limit) return { matches: found, frontier: { ms, n, instance } };
      }
    }
    if (chunk.length < SCAN_CHUNK) return { matches: found };
    const last = chunk[chunk.length - 1]!;
    if (scanned >= MAX_SCAN) return { matches: found, frontier: { ...parseStreamId(last[0]), instance } };
    end = `(${last[0]}`;
  }
}

function stored(raw: RawEntry): StoredAuditRecord | undefined {
  const entry = readChainEntry(raw);
  if ('torn' in entry) return undefined;
  const record = parseRecord(entry.rec);
  return record && { ...record, id: entry.id, seq: entry.seq };
}

function encodeCursor(position: SearchPosition): string {
  return Buffer.from(JSON.stringify({ ms: position.ms, n: position.n, i: position.instance })).toString(
    'base64url',
  );
}

function decodeCursor(text: string): SearchPosition {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as {
      ms?: number;
      n?: number;
      i?: unknown;
    };
    if (
      Number.isSafeInteger(value.ms) &&
      value.ms! >= 0 &&
      Number.isSafeInteger(value.n) &&
      value.n! >= 0 &&
      typeof value.i === 'string' &&
      value.i.length <= 64
    ) {
      return { ms: value.ms!, n: value.n!, instance: value.i };
    }
  } catch {
    // falls through to the error below
  }
  throw new AuditQueryInvalid('audit query /cursor: not a cursor returned by a previous page');
}
