/**
 * Bulk exports from a PostgreSQL front-end database read through one COPY (connectors/sql/copy-pages.ts):
 * the file is the one page reads make, a run killed mid-way resumes to an identical file, hostile filter
 * and watermark values give exactly the right rows (or a refusal), and an item that is not granted is
 * never read.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import t from 'tap';
import type { ResourceEntry } from '../../catalog/schema.js';
import { ConnectorRegistry } from '../../connectors/registry.js';
import { readsArrayPages } from '../../connectors/sql/array-pages.js';
import { SqlConnectorFactory } from '../../connectors/sql/connector.js';
import { resolveSqlSources } from '../../connectors/sql/sources.js';
import type { Connector, ConnectorFactory } from '../../connectors/types.js';
import type { ExchangeDeps } from '../../exchange/deps.js';
import { completeExportParts, runExportPart } from '../../exchange/parts.js';
import { jobDir, jobFilePath, partFilePath } from '../../exchange/paths.js';
import { runExportJob } from '../../exchange/runner.js';
import type { ExchangeJob, ExchangeJobRequest } from '../../exchange/schema.js';
import { submitExchangeJob } from '../../exchange/service.js';
import { ExchangeStore } from '../../exchange/store.js';
import { frontEndDatabaseResidents } from '../../scripts/lib/demo-catalog.js';
import { usePostgres } from '../helpers/postgres.js';
import { exchangeWorld, openFile, parseJsonl } from './fixtures.js';

const ROWS = 5000;
const CODE = '101001/000042';
const HOSTILE = ["O'Brien", "'; DROP TABLE residents; --", 'back\\slash\\', '张三;李四 𝄞', 'tab\there'];
const ITEMS = ['idNumber', 'name', 'phone', 'address', 'divisionCode', 'updatedAt'] as const;

const world = await exchangeWorld(t, { residents: 10 });
const db = await usePostgres(t);
await db.pool.query(
  `CREATE TABLE residents ("idNumber" text PRIMARY KEY, "name" text, "phone" text, "address" text,
     "divisionCode" text, "updatedAt" timestamptz)`,
);
// The simulator's residents (unique ID numbers); every 1000th with a hostile division code; a NULL address
// now and then; updatedAt with microseconds and ties.
await db.pool.query(
  `INSERT INTO residents
   SELECT r."idNumber", r.name, r.phone, CASE WHEN i % 97 = 0 THEN NULL ELSE r.address END,
          CASE WHEN i % 1000 = 7 THEN ($2::text[])[1 + (i / 1000) % 5] ELSE r."divisionCode" END,
          timestamptz '2025-03-01 00:00:00+08' + (i / 3) * interval '1.000001 second'
   FROM json_populate_recordset(NULL::residents, $1) WITH ORDINALITY AS r(
     "idNumber", name, phone, address, "divisionCode", "updatedAt", i)`,
  [JSON.stringify(world.residents(ROWS)), HOSTILE],
);

const sources = resolveSqlSources(
  {
    sources: {
      fep: {
        dialect: 'postgres',
        host: db.connection.host,
        port: db.connection.port,
        database: db.connection.database,
        user: db.connection.user,
        passwordEnv: 'FEP_PASSWORD',
        countTotal: true,
      },
    },
  },
  { env: { FEP_PASSWORD: db.connection.password } },
);
const sql = new SqlConnectorFactory(sources);
t.teardown(() => sql.close());
/** The same connectors without COPY: the page reads the exporter used before. */
function pagesOnly(factory: SqlConnectorFactory): ConnectorFactory {
  return {
    create(service, shape) {
      const c = factory.create(service, shape);
      if (!readsArrayPages(c)) throw new Error('array pages expected');
      const wrapped: Connector & Pick<typeof c, 'arrayPage'> = {
        kind: c.kind,
        endpoint: c.endpoint,
        lookup: (...a) => c.lookup(...a),
        page: (o) => c.page(o),
        arrayPage: (o) => c.arrayPage(o),
        health: () => c.health(),
        close: () => c.close(),
      };
      return wrapped;
    },
    close: async () => undefined,
  };
}
const entry: ResourceEntry = frontEndDatabaseResidents({
  code: CODE,
  name: '人口基础信息（前置库 COPY）',
  summary: '前置库中的人口基础信息，用于批量交换。',
  table: 'residents',
  items: ITEMS,
});
await world.catalog.importEntry({ role: 'system', name: 'test' }, entry);
const bureau = { role: 'bureau' as const, name: 'exchange test' };
await world.grants.create(bureau, (await world.catalog.publishedEntry(CODE))!.entry, {
  deptCode: world.consumer.caller.deptCode,
  systemId: world.consumer.caller.systemId,
  resourceCode: CODE,
  items: ['idNumber', 'name', 'divisionCode', 'updatedAt'],
  purposes: ['pension-check'],
  modes: ['api', 'bulk'],
  validTo: new Date(world.clock.now + 365 * 86_400_000).toISOString(),
  basis: '《政务信息资源共享管理办法》第二十一条',
});

const withCopy: ExchangeDeps = {
  ...world.deps({ pageSize: 100, segmentPages: 3 }),
  connectors: new ConnectorRegistry({ sql }),
};
const withPages: ExchangeDeps = { ...withCopy, connectors: new ConnectorRegistry({ sql: pagesOnly(sql) }) };
const store = new ExchangeStore(world.redis, world.prefix);
const path = (job: ExchangeJob) => jobFilePath(world.exchangeDir, job.id, job.format);

async function exportWith(deps: ExchangeDeps, request: Omit<ExchangeJobRequest, 'resource'>) {
  const submitted = await submitExchangeJob(
    deps,
    world.consumer.caller,
    { resource: CODE, ...request },
    { purpose: 'pension-check', userId: 'test.official' },
  );
  const job = await runExportJob(deps, submitted.id);
  const text = job.state === 'completed' ? await openFile(path(job), world.consumer.keyPem) : '';
  return { job, text };
}

t.test('the COPY export writes what the page export writes, full, csv and incremental', async (t) => {
  const requests: Omit<ExchangeJobRequest, 'resource'>[] = [
    { kind: 'full', format: 'jsonl' },
    { kind: 'full', format: 'csv' },
    { kind: 'incremental', format: 'jsonl', since: '2025-02-28T16:10:00.000001Z' },
  ];
  for (const request of requests) {
    const copied = await exportWith(withCopy, request);
    const paged = await exportWith(withPages, request);
    t.equal(copied.job.state, 'completed');
    t.ok(copied.text.length > 1000, `${request.kind} ${request.format}: a file`);
    t.equal(copied.text, paged.text, `${request.kind} ${request.format}: the same content`);
    t.same(copied.job.progress, paged.job.progress, 'the same progress');
    t.same(copied.job.manifest?.manifest.watermark, paged.job.manifest?.manifest.watermark);
  }
  const rows = parseJsonl((await exportWith(withCopy, { kind: 'full', format: 'jsonl' })).text);
  t.equal(rows.length, ROWS);
  t.same(Object.keys(rows[0]!), ['idNumber', 'name', 'divisionCode', 'updatedAt'], 'granted items only');
  t.match(String(rows[0]!.updatedAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?\+00:00$/);
});

t.test('hostile request filters and watermarks: exactly the right rows, or refused', async (t) => {
  for (const value of HOSTILE) {
    const { job, text } = await exportWith(withCopy, {
      kind: 'full',
      format: 'jsonl',
      filter: { item: 'divisionCode', equals: value },
    });
    const rows = parseJsonl(text);
    const want = await db.pool.query('SELECT count(*)::int AS n FROM residents WHERE "divisionCode" = $1', [
      value,
    ]);
    t.ok(want.rows[0].n > 0, `${JSON.stringify(value)} is in the table`);
    t.equal(rows.length, want.rows[0].n, `${JSON.stringify(value)}: its rows`);
    t.ok(
      rows.every((r) => r.divisionCode === value),
      'only rows with that value',
    );
    t.equal(job.progress.rows, rows.length);
    t.match(job.progress, { total: rows.length, percent: 100 }, 'the total counts the filtered rows');
    t.ok(job.progress.scanned < ROWS, 'the filter ran in the database');
  }
  const since = '2025-02-28T16:20:00.000002+00:00';
  const { text } = await exportWith(withCopy, { kind: 'incremental', format: 'jsonl', since });
  const later = await db.pool.query('SELECT count(*)::int AS n FROM residents WHERE "updatedAt" > $1', [
    since,
  ]);
  t.equal(parseJsonl(text).length, later.rows[0].n, 'the rows after a watermark with microseconds');

  // Refused before any read (the connector's own refusals: test/connectors/sql/copy-pages.test.ts).
  for (const bad of ["2025-01-01'; DROP TABLE residents; --", 'x\\', '2025-01-01\u0000']) {
    await t.rejects(
      submitExchangeJob(
        withCopy,
        world.consumer.caller,
        { resource: CODE, kind: 'incremental', format: 'jsonl', since: bad },
        { purpose: 'pension-check', userId: 'test.official' },
      ),
      { code: 'EXCHANGE_REQUEST_INVALID' },
      `watermark ${JSON.stringify(bad)} refused`,
    );
  }
  const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM residents');
  t.equal(rows[0].n, ROWS, 'the table is intact');
});

t.test('a run killed mid-way resumes to a byte-identical file', async (t) => {
  const submitted = await submitExchangeJob(
    withCopy,
    world.consumer.caller,
    { resource: CODE, kind: 'full', format: 'jsonl' },
    { purpose: 'pension-check', userId: 'test.official' },
  );
  const k = store.keys;
  const saved = await Promise.all([
    world.redis.dumpBuffer(k.job(submitted.id)),
    world.redis.dumpBuffer(k.sealedKey(submitted.id)),
  ]);
  const straight = await runExportJob(withCopy, submitted.id);
  const straightBytes = readFileSync(path(straight));

  await rm(jobDir(world.exchangeDir, submitted.id), { recursive: true });
  await world.redis.restore(k.job(submitted.id), 0, saved[0]!, 'REPLACE');
  await world.redis.restore(k.sealedKey(submitted.id), 0, saved[1]!, 'REPLACE');
  await world.redis.zrem(k.expiry, submitted.id);
  // Stopped in the middle of the fifth segment, with the COPY still streaming.
  const stop = new AbortController();
  let pages = 0;
  const counting: ExchangeDeps = {
    ...withCopy,
    connectors: new ConnectorRegistry({
      sql: {
        create(service, shape) {
          const c = sql.create(service, shape) as Connector & { copyPages: (o: unknown) => AsyncGenerator };
          return Object.assign(Object.create(c), {
            copyPages: async function* (o: unknown) {
              for await (const page of c.copyPages(o)) {
                if (++pages === 13) stop.abort(new Error('simulated crash'));
                yield page;
              }
            },
          });
        },
        close: async () => undefined,
      },
    }),
  };
  await t.rejects(runExportJob(counting, submitted.id, { token: 'first', signal: stop.signal }));
  const halfway = (await store.get(submitted.id))!;
  t.equal(halfway.checkpoint?.segment, 4, 'four segments were checkpointed');
  appendFileSync(path(halfway), Buffer.alloc(3000, 9));
  const resumed = await runExportJob(withCopy, submitted.id, { token: 'second' });
  t.equal(resumed.state, 'completed');
  t.ok(readFileSync(path(resumed)).equals(straightBytes), 'the file is byte-identical');
  t.equal(
    resumed.manifest?.manifest.file?.plaintextSha256,
    straight.manifest?.manifest.file?.plaintextSha256,
  );
  t.equal(resumed.progress.rows, ROWS);
});

t.test('an item that is not granted is never read (column privileges)', async (t) => {
  const role = `fep_reader_${db.database}`;
  await db.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD 'fep-reader'`);
  t.teardown(() => db.pool.query(`DROP OWNED BY ${role}`).then(() => db.pool.query(`DROP ROLE ${role}`)));
  // The grant holds idNumber, name, divisionCode, updatedAt: phone and address may not be read at all.
  await db.pool.query(`GRANT SELECT ("idNumber", name, "divisionCode", "updatedAt") ON residents TO ${role}`);
  const narrow = new SqlConnectorFactory(
    resolveSqlSources(
      {
        sources: {
          fep: {
            dialect: 'postgres',
            host: db.connection.host,
            port: db.connection.port,
            database: db.connection.database,
            user: role,
            passwordEnv: 'FEP_READER',
          },
        },
      },
      { env: { FEP_READER: 'fep-reader' } },
    ),
  );
  t.teardown(() => narrow.close());
  const { job, text } = await exportWith(
    { ...withCopy, connectors: new ConnectorRegistry({ sql: narrow }) },
    { kind: 'full', format: 'jsonl' },
  );
  t.equal(job.state, 'completed');
  t.equal(parseJsonl(text).length, ROWS);
  // The page reads select every item of the entry, so the same account fails there: the check can fail.
  const paging = { ...withCopy, connectors: new ConnectorRegistry({ sql: pagesOnly(narrow) }) };
  const submitted = await submitExchangeJob(
    paging,
    world.consumer.caller,
    { resource: CODE, kind: 'full', format: 'jsonl' },
    { purpose: 'pension-check', userId: 'test.official' },
  );
  await t.rejects(runExportJob(paging, submitted.id), { code: 'UPSTREAM_REJECTED' });
});

/** A job cut into parts of `partRows`, its parts and completion run here one after the other. */
async function exportInParts(
  deps: ExchangeDeps,
  request: Omit<ExchangeJobRequest, 'resource'> & { resource?: string },
  partRows: number,
) {
  const d: ExchangeDeps = { ...deps, settings: { ...deps.settings, partRows } };
  const submitted = await submitExchangeJob(
    d,
    world.consumer.caller,
    { resource: CODE, ...request },
    { purpose: 'pension-check', userId: 'test.official' },
  );
  const planned = await runExportJob(d, submitted.id, { split: true });
  const parts = planned.parts ?? 0;
  for (let i = parts - 1; i >= 0; i--) await runExportPart(d, submitted.id, i);
  const job = parts > 0 ? await completeExportParts(d, submitted.id) : planned;
  let text = '';
  for (const part of job.manifest?.manifest.parts ?? [])
    text += await openFile(
      partFilePath(world.exchangeDir, job.id, job.format, part.index),
      world.consumer.keyPem,
    );
  return { planned, job, text };
}

t.test('a job in parts holds what one file holds: full csv, incremental, filtered', async (t) => {
  const requests: Omit<ExchangeJobRequest, 'resource'>[] = [
    { kind: 'full', format: 'csv' },
    { kind: 'incremental', format: 'jsonl', since: '2025-02-28T16:10:00.000001Z' },
    { kind: 'full', format: 'jsonl', filter: { item: 'divisionCode', equals: HOSTILE[1]! } },
  ];
  for (const request of requests) {
    const what = `${request.kind} ${request.format}${request.filter ? ' filtered' : ''}`;
    const one = await exportWith(withCopy, request);
    const { planned, job, text } = await exportInParts(withCopy, request, 1200);
    t.ok((planned.parts ?? 0) >= 2, `${what}: cut into ${planned.parts} parts`);
    t.equal(job.state, 'completed');
    t.equal(text, one.text, `${what}: the parts concatenate into the one-file content`);
    const manifest = job.manifest!.manifest;
    t.equal(manifest.version, 2);
    t.equal(manifest.rows, one.job.manifest!.manifest.rows);
    t.same(manifest.watermark, one.job.manifest!.manifest.watermark, `${what}: the same watermark`);
    t.same(
      manifest.parts!.map((p) => p.firstRow),
      manifest.parts!.map((_, i) => manifest.parts!.slice(0, i).reduce((n, p) => n + p.rows, 0)),
      'firstRow counts the rows before',
    );
    t.equal(job.progress.rows, manifest.rows);
    t.notOk(job.file, 'no one file');
    t.equal(await world.redis.exists(store.keys.partPlan(job.id)), 0, 'the plan is dropped');
  }
  // Fewer rows than a part: one file, a version 1 manifest, as before.
  const small = await exportInParts(withCopy, { kind: 'full', format: 'jsonl' }, ROWS);
  t.equal(small.planned.state, 'completed');
  t.equal(small.planned.parts, undefined);
  t.equal(small.planned.manifest?.manifest.version, 1);
});

t.test('a part whose file was lost is written again at completion; parts use distinct nonces', async (t) => {
  const d: ExchangeDeps = { ...withCopy, settings: { ...withCopy.settings, partRows: 2000 } };
  const submitted = await submitExchangeJob(
    d,
    world.consumer.caller,
    { resource: CODE, kind: 'full', format: 'jsonl' },
    { purpose: 'pension-check', userId: 'test.official' },
  );
  const planned = await runExportJob(d, submitted.id, { split: true });
  t.equal(planned.parts, 3);
  t.equal(planned.state, 'running');
  t.same(
    await runExportJob(d, submitted.id, { split: true }),
    JSON.parse(JSON.stringify(planned)),
    'a second run adds nothing',
  );
  for (let i = 0; i < 3; i++) await runExportPart(d, submitted.id, i);
  const first = readFileSync(partFilePath(world.exchangeDir, submitted.id, 'jsonl', 1));
  await rm(partFilePath(world.exchangeDir, submitted.id, 'jsonl', 1));
  const job = await completeExportParts(d, submitted.id);
  t.equal(job.state, 'completed');
  const again = readFileSync(partFilePath(world.exchangeDir, submitted.id, 'jsonl', 1));
  t.ok(again.equals(first), 'the part written again is byte-identical');
  const headers = [0, 1, 2].map((i) =>
    readFileSync(partFilePath(world.exchangeDir, submitted.id, 'jsonl', i)),
  );
  const prefixes = new Set(headers.map((h) => h.subarray(12, 19).toString('hex')));
  t.equal(prefixes.size, 3, 'three nonce prefixes for three parts');
  t.equal(
    parseJsonl(await openFile(partFilePath(world.exchangeDir, job.id, 'jsonl', 2), world.consumer.keyPem))
      .length,
    1000,
  );
  t.equal(job.manifest!.manifest.rows, ROWS);
});

t.test('key ranges are listed only for a key the consumer receives unmasked', async (t) => {
  const clear = { ...entry, code: '101001/000044', name: '人口基础信息（前置库 COPY，明文身份证号）' };
  await world.catalog.importEntry({ role: 'system', name: 'test' }, clear);
  await world.grants.create(bureau, (await world.catalog.publishedEntry(clear.code))!.entry, {
    deptCode: world.consumer.caller.deptCode,
    systemId: world.consumer.caller.systemId,
    resourceCode: clear.code,
    items: ['idNumber', 'name'],
    masking: { idNumber: 'none' },
    purposes: ['pension-check'],
    modes: ['bulk'],
    validTo: new Date(world.clock.now + 365 * 86_400_000).toISOString(),
    basis: '《政务信息资源共享管理办法》第二十一条',
  });
  const { job, text } = await exportInParts(
    withCopy,
    { resource: clear.code, kind: 'full', format: 'jsonl' },
    2000,
  );
  const parts = job.manifest!.manifest.parts!;
  const ids = parseJsonl(text).map((r) => String(r.idNumber));
  t.equal(ids.length, ROWS);
  t.match(ids[0], /^\d{17}[\dX]$/, 'the ID numbers are delivered clear');
  t.same(
    parts.map((p) => p.keyRange),
    [
      { until: { key: [ids[1999]] } },
      { after: { key: [ids[1999]] }, until: { key: [ids[3999]] } },
      { after: { key: [ids[3999]] } },
    ],
    'each part names the key after which it starts and the key it ends at',
  );
});
