import t from 'tap';
import type { AuditRecord, StoredAuditRecord } from '../../audit/record.js';
import { type AuditQuery, exportAudit, searchAudit } from '../../audit/search.js';
import { subjectHash } from '../../audit/subject.js';
import { AuditWriter } from '../../audit/writer.js';
import type { RedisClient } from '../../platform/redis.js';
import { useRedis } from '../helpers/redis.js';
import { BASE_TIME, makeRecord, makeSigner, SUBJECT_SECRET } from './fixtures.js';

const signer = makeSigner();
/** The writers' clock (index retention counts from it): a day after the fixture's records. */
const now = () => BASE_TIME + 86_400_000;
const COUNT = 60;
const at = (i: number) => new Date(BASE_TIME + i * 1000).toISOString();
const idNumber = (i: number) => (i % 10 === 9 ? '11010519491231002X' : `1101051949123100${20 + (i % 10)}`);

function recordFor(i: number): AuditRecord {
  const instance = i % 2 ? 'gw-b' : 'gw-a';
  const deny = i % 7 === 0;
  return makeRecord(instance, {
    time: at(i),
    requestId: `req-${i}`,
    actor: { deptCode: `D${i % 3}`, systemId: `s${i % 4 < 2 ? 1 : 2}` },
    resource: `r${i % 4}`,
    grantId: `g${i % 5}`,
    subjects: [subjectHash(SUBJECT_SECRET, idNumber(i))],
    decision: deny ? 'deny' : 'allow',
    ...(deny ? { reasonCode: 'GRANT_MISSING', status: 403 } : {}),
  });
}

async function populate(redis: RedisClient, prefix: string): Promise<AuditRecord[]> {
  const writers = new Map(
    ['gw-a', 'gw-b'].map((id) => [id, new AuditWriter(redis, prefix, id, { signer, now })]),
  );
  const records: AuditRecord[] = [];
  for (let i = 0; i < COUNT; i++) {
    const record = recordFor(i);
    await writers.get(record.instance)!.append(record);
    records.push(record);
  }
  await Promise.all([...writers.values()].map((w) => w.close()));
  return records;
}

async function allPages(redis: RedisClient, prefix: string, query: AuditQuery): Promise<StoredAuditRecord[]> {
  const out: StoredAuditRecord[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await searchAudit(redis, prefix, SUBJECT_SECRET, {
      ...query,
      ...(cursor ? { cursor } : {}),
    });
    out.push(...page.records);
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  return out;
}

const ids = (records: { requestId: string }[]) => records.map((r) => r.requestId);
const newestFirst = (records: AuditRecord[]) =>
  [...records].sort((a, b) => Date.parse(b.time) - Date.parse(a.time));

t.test('search by each filter, in pages and at once, newest first', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const records = await populate(redis, prefix);
  const plainX = subjectHash(SUBJECT_SECRET, '11010519491231002X');
  const cases: [string, AuditQuery, (r: AuditRecord) => boolean][] = [
    ['department', { deptCode: 'D1' }, (r) => r.actor.deptCode === 'D1'],
    ['system', { systemId: 's2' }, (r) => r.actor.systemId === 's2'],
    ['resource', { resource: 'r3' }, (r) => r.resource === 'r3'],
    ['grant', { grantId: 'g4' }, (r) => r.grantId === 'g4'],
    ['request id', { requestId: 'req-17' }, (r) => r.requestId === 'req-17'],
    [
      'plain subject (lowercase x, spaces)',
      { subject: ' 11010519491231002x ' },
      (r) => r.subjects![0] === plainX,
    ],
    ['decision', { decision: 'deny' }, (r) => r.decision === 'deny'],
    ['reason code', { reasonCode: 'GRANT_MISSING' }, (r) => r.reasonCode === 'GRANT_MISSING'],
    [
      'department and decision (intersection)',
      { deptCode: 'D2', decision: 'allow' },
      (r) => r.actor.deptCode === 'D2' && r.decision === 'allow',
    ],
    [
      'resource in a time range',
      { resource: 'r1', from: at(10), to: at(41) },
      (r) => r.resource === 'r1' && r.time >= at(10) && r.time < at(41),
    ],
    ['nothing (all records, both instances)', {}, () => true],
    [
      'a time range across both instances',
      { from: at(15), to: at(33) },
      (r) => r.time >= at(15) && r.time < at(33),
    ],
    ['a department that never called', { deptCode: 'nobody' }, () => false],
  ];
  for (const [name, query, keep] of cases) {
    const expected = ids(newestFirst(records.filter(keep)));
    t.ok(expected.length > 0 || name.includes('never'), `${name}: the fixture has matches`);
    t.same(ids(await allPages(redis, prefix, { ...query, limit: 7 })), expected, `${name}: pages of 7`);
    const once = await searchAudit(redis, prefix, SUBJECT_SECRET, { ...query, limit: 500 });
    t.same(ids(once.records), expected, `${name}: one page`);
    t.equal(once.nextCursor, undefined, `${name}: no cursor after the last page`);
  }
  const [first] = (await searchAudit(redis, prefix, SUBJECT_SECRET, { requestId: 'req-17' })).records;
  t.match(first, { instance: 'gw-b', seq: 9, id: `${Date.parse(at(17))}-0`, actor: { deptCode: 'D2' } });
});

t.test('records with the same millisecond page without loss or repetition', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const time = at(1000);
  for (const instance of ['gw-c', 'gw-d']) {
    const writer = new AuditWriter(redis, prefix, instance, { signer, now });
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        writer.append(
          makeRecord(instance, { time, requestId: `${instance}-${i}`, actor: { deptCode: 'TIE' } }),
        ),
      ),
    );
    await writer.close();
  }
  for (const query of [{ deptCode: 'TIE' }, { from: time }] as AuditQuery[]) {
    const found = ids(await allPages(redis, prefix, { ...query, limit: 5 }));
    t.equal(found.length, 24, `${JSON.stringify(query)}: all found`);
    t.equal(new Set(found).size, 24, `${JSON.stringify(query)}: none twice`);
  }
});

t.test(
  'the writer keeps no search indexes in Redis: only the stream, its head and checkpoints',
  async (t) => {
    const { redis, prefix } = await useRedis(t);
    const writer = new AuditWriter(redis, prefix, 'gw-lean', { signer });
    for (let i = 0; i < 20; i++) {
      await writer.append(
        makeRecord('gw-lean', { time: at(i), requestId: `lean-${i}`, actor: { deptCode: 'D1' } }),
      );
    }
    await writer.close();
    const keys = (await redis.keys(`${prefix}*`)).sort();
    t.same(
      keys,
      [
        `${prefix}audit:instances`,
        `${prefix}{audit:gw-lean}:checkpoints`,
        `${prefix}{audit:gw-lean}:head`,
        `${prefix}{audit:gw-lean}:stream`,
      ],
      'no index keys',
    );
    t.equal((await searchAudit(redis, prefix, SUBJECT_SECRET, { requestId: 'lean-7' })).records.length, 1);
  },
);

t.test('export yields JSON lines for the same filters', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const records = await populate(redis, prefix);
  const lines: string[] = [];
  for await (const line of exportAudit(redis, prefix, SUBJECT_SECRET, { decision: 'allow' }))
    lines.push(line);
  t.ok(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')));
  const parsed = lines.map((l) => JSON.parse(l) as StoredAuditRecord);
  t.same(ids(parsed), ids(newestFirst(records.filter((r) => r.decision === 'allow'))));
  t.match(parsed[0], { id: /^\d+-\d+$/, seq: Number, instance: /^gw-/ });
  const everything: string[] = [];
  for await (const line of exportAudit(redis, prefix, SUBJECT_SECRET, {})) everything.push(line);
  t.equal(everything.length, COUNT);
});

t.test('malformed queries are refused with AUDIT_QUERY_INVALID', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const indexCursor = Buffer.from(JSON.stringify({ k: 'i', s: 1, m: 'a|1-0' })).toString('base64url');
  const timeCursor = (at: { ms: number; n: number }) =>
    Buffer.from(JSON.stringify({ k: 't', ...at, i: 'gw' })).toString('base64url');
  const cases: [string, unknown, RegExp][] = [
    ['limit too large', { limit: 501 }, /limit/],
    ['limit zero', { limit: 0 }, /limit/],
    ['unknown field', { dept: 'D1' }, /dept|additional/i],
    ['bad time', { from: 'yesterday' }, /from/],
    ['impossible date', { from: '2025-13-45T00:00:00Z' }, /from/],
    ['from after to', { from: at(5), to: at(1) }, /earlier/],
    ['bad decision', { decision: 'maybe' }, /decision/],
    ['cursor garbage', { cursor: 'not-a-cursor' }, /cursor/],
    ['cursor of another kind of query', { cursor: indexCursor }, /cursor/],
    ['a day the month does not have', { from: '2024-02-30T00:00:00Z' }, /from.*not a valid time/],
    ['from before 1970', { from: '1969-12-31T00:00:00Z' }, /from.*before 1970/],
    ['from in year 1', { from: '0001-01-01T00:00:00Z' }, /from.*before 1970/],
    ['to at the epoch', { to: '1970-01-01T00:00:00Z' }, /to.*before 1970/],
    ['cursor with a negative time', { cursor: timeCursor({ ms: -5, n: 0 }) }, /cursor/],
    ['cursor with a negative sequence', { cursor: timeCursor({ ms: 5, n: -1 }) }, /cursor/],
  ];
  for (const [name, query, message] of cases) {
    await t.rejects(
      searchAudit(redis, prefix, SUBJECT_SECRET, query as AuditQuery),
      {
        code: 'AUDIT_QUERY_INVALID',
        statusCode: 400,
        message,
      },
      name,
    );
  }
  await t.rejects(exportAudit(redis, prefix, SUBJECT_SECRET, { limit: 3 } as never).next(), {
    code: 'AUDIT_QUERY_INVALID',
  });
  await t.rejects(exportAudit(redis, prefix, SUBJECT_SECRET, { to: '1969-07-20T20:17:00Z' }).next(), {
    code: 'AUDIT_QUERY_INVALID',
  });
  t.same(
    (await searchAudit(redis, prefix, SUBJECT_SECRET, { from: '1970-01-01T00:00:00Z' })).records,
    [],
    'from the epoch itself is a valid start',
  );
});
