/**
 * Data return (回流) on a schedule, with two complete platforms: the province serves a population table
 * from its own front-end database (PostgreSQL, SQL connector); the city's worker runs a return subscription
 * as a BullMQ job scheduler into the city's own front-end database. The first scheduled run delivers every
 * row, the next only the rows the province added or changed since. The city then offers the returned
 * table on its own catalog with the province's provider still named as the provider (一数一源: no item is
 * claimed as a city source), and a city system reads it under a city grant.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import type { AuditRecord } from '../../../audit/record.js';
import { ReturnWatermarks, returnedEntry } from '../../../federation/data-return.js';
import { FEDERATION_SYSTEM_ID } from '../../../federation/origin.js';
import { ReturnSubscriptions } from '../../../federation/return-schedule.js';
import { startDataReturns } from '../../../gateway/jobs/data-return.js';
import { createRedisClient } from '../../../platform/redis.js';
import { DEMO_DEPARTMENTS, frontEndDatabaseResidents } from '../../../scripts/lib/demo-catalog.js';
import { auditRecordsOf } from '../../helpers/audit.js';
import { cli } from '../../helpers/cli.js';
import { buildCascade, CITY, CITY_DEPT } from '../../helpers/federation.js';
import { usePostgres } from '../../helpers/postgres.js';
import { signedHeaders } from '../../helpers/world.js';
import { eventually } from './workflow-app.js';

const PROVINCE_FEP = '101001/000002';
const CITY_COPY = '101001/000102';
const bureau = { sub: 'bureau-1', role: 'bureau' } as const;

function sourcesFile(
  t: Test,
  db: { connection: { host: string; port: number; user: string; database: string } },
  env: string,
): string {
  const dir = mkdtempSync(join(tmpdir(), 'govshare-return-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'sql-sources.json');
  writeFileSync(
    file,
    JSON.stringify({
      sources: {
        fep: {
          dialect: 'postgres',
          host: db.connection.host,
          port: db.connection.port,
          database: db.connection.database,
          user: db.connection.user,
          passwordEnv: env,
        },
      },
    }),
  );
  return file;
}

t.test('scheduled runs deliver only new rows; the city offers the returned table', async (t) => {
  const provinceDb = await usePostgres(t);
  const cityDb = await usePostgres(t);
  process.env.GOVSHARE_TEST_PROVINCE_PG = provinceDb.connection.password;
  process.env.GOVSHARE_TEST_CITY_PG = cityDb.connection.password;
  await provinceDb.pool.query(
    `CREATE TABLE residents ("idNumber" text PRIMARY KEY, "name" text, "updatedAt" timestamptz)`,
  );
  await provinceDb.pool.query(
    `INSERT INTO residents
     SELECT '42' || lpad(i::text, 16, '0'), (ARRAY['张伟','王芳','李娜','刘洋'])[1 + i % 4] || i::text,
            timestamptz '2026-11-01 00:00:00+08' + (i || ' seconds')::interval
     FROM generate_series(1, 120) AS i`,
  );
  const cascade = await buildCascade(t, {
    offers: ['101001/000001', PROVINCE_FEP],
    env: {
      province: { GOVSHARE_SQL_SOURCES_FILE: sourcesFile(t, provinceDb, 'GOVSHARE_TEST_PROVINCE_PG') },
      city: { GOVSHARE_SQL_SOURCES_FILE: sourcesFile(t, cityDb, 'GOVSHARE_TEST_CITY_PG') },
    },
  });
  const { city, province } = cascade;
  const upstream = frontEndDatabaseResidents({
    code: PROVINCE_FEP,
    name: '人口基础信息（前置库）',
    summary: '省前置库中的人口基础信息。',
    table: 'residents',
    items: ['idNumber', 'name', 'updatedAt'],
  });
  await province.context.catalog.importEntry({ role: 'system', name: 'test' }, upstream);
  const granted = await province.app.inject({
    method: 'POST',
    url: '/v1/grants',
    headers: province.auth(bureau),
    payload: {
      deptCode: CITY.operator,
      systemId: FEDERATION_SYSTEM_ID,
      resourceCode: PROVINCE_FEP,
      items: ['idNumber', 'name', 'updatedAt'],
      purposes: ['population-return'],
      modes: ['bulk'],
      masking: { idNumber: 'none' },
      validTo: new Date(Date.now() + 86_400_000).toISOString(),
      basis: '《政务信息资源共享管理办法》第二十一条',
    },
  });
  t.equal(granted.statusCode, 201, granted.body);

  const subscriptions = new ReturnSubscriptions(city.context.redis, city.context.prefix);
  await subscriptions.put({
    id: 'population',
    peer: 'hubei-province',
    code: PROVINCE_FEP,
    items: ['idNumber', 'name', 'updatedAt'],
    key: 'idNumber',
    table: 'population_return',
    purpose: 'population-return',
    pageSize: 50,
    everyMs: 1500,
  });
  const connection = createRedisClient(city.redisUrl, { maxRetriesPerRequest: null });
  const returns = await startDataReturns(city.context, cityDb.url, connection, pino({ level: 'silent' }));
  t.teardown(async () => {
    await returns.close();
    await connection.quit();
  });
  t.equal(returns.scheduled, 1);

  const watermarks = new ReturnWatermarks(city.context.redis, city.context.prefix);
  const runs = async () =>
    (await auditRecordsOf(city.context.dataRedis, city.context.prefix, city.context.audit.instance)).filter(
      (r: AuditRecord) => r.action === 'federation.return' && r.decision === 'allow',
    );
  const count = async () =>
    Number((await cityDb.pool.query('SELECT count(*)::int AS n FROM population_return')).rows[0].n);

  const first = await eventually(
    async () => ((await runs()).length >= 1 ? (await runs())[0] : undefined),
    'the first scheduled run',
    20_000,
  );
  t.equal(first.rowCount, 120, 'the first run delivers every row');
  await eventually(
    async () => (await watermarks.get('hubei-province', PROVINCE_FEP)) ?? undefined,
    'the watermark',
  );

  // The province adds five people and changes one, in one statement (so one run sees all six).
  await provinceDb.pool.query(
    `WITH changed AS (
       UPDATE residents SET "name" = '王芳改', "updatedAt" = now() + interval '10 seconds'
       WHERE "idNumber" = '420000000000000001' RETURNING 1)
     INSERT INTO residents
     SELECT '43' || lpad(i::text, 16, '0'), '新增' || i::text, now() + (i || ' seconds')::interval
     FROM generate_series(1, 5) AS i`,
  );
  const delivered = await eventually(
    async () => {
      const found = (await runs()).find(
        (r) => (r.rowCount ?? 0) > 0 && r !== first && r.requestId !== first.requestId,
      );
      return found;
    },
    'a scheduled run with the new rows',
    20_000,
  );
  t.equal(delivered.rowCount, 6, 'only the five new rows and the changed one');
  const between = (await runs()).filter(
    (r) => r.requestId !== first.requestId && r.requestId !== delivered.requestId,
  );
  t.ok(
    between.every((r) => r.rowCount === 0),
    'runs with nothing new deliver nothing',
  );
  t.equal(await count(), 125, 'upserted by key');
  const changed = (
    await cityDb.pool.query(`SELECT "name" FROM population_return WHERE "idNumber" = '420000000000000001'`)
  ).rows[0];
  t.match(changed.name, /^.\*+$/u, "the changed row, masked by the province's rule");

  // The same schedule from the command line: stored, listed, removed.
  const env = {
    GOVSHARE_REDIS_URL: city.redisUrl,
    GOVSHARE_REDIS_PREFIX: city.config.GOVSHARE_REDIS_PREFIX,
    GOVSHARE_DATA_DIR: city.dataDir,
    GOVSHARE_LOG_LEVEL: 'silent',
  };
  const scheduled = await cli(
    [
      'federation',
      'return-schedule',
      '--id',
      'population-nightly',
      '--peer',
      'hubei-province',
      '--resource',
      PROVINCE_FEP,
      '--items',
      'idNumber,name,updatedAt',
      '--key',
      'idNumber',
      '--table',
      'population_nightly',
      '--purpose',
      'population-return',
      '--cron',
      '0 2 * * *',
    ],
    env,
  );
  t.equal(scheduled.code, 0, scheduled.err.join('\n'));
  const listed = await cli(['federation', 'return-schedule', '--list'], env);
  t.match(
    listed.out.join('\n'),
    /population\thubei-province\/101001\/000002[\s\S]*population-nightly\t.*cron 0 2 \* \* \*/,
  );
  const bad = await cli(
    [
      'federation',
      'return-schedule',
      '--id',
      'x',
      '--peer',
      'hubei-province',
      '--resource',
      PROVINCE_FEP,
      '--items',
      'name',
      '--key',
      'idNumber',
      '--table',
      't',
      '--purpose',
      'p',
      '--every',
      '1h',
    ],
    env,
  );
  t.not(bad.code, 0, 'a key outside the items is refused');
  t.equal((await cli(['federation', 'return-schedule', '--remove', 'population-nightly'], env)).code, 0);
  t.same(
    (await subscriptions.list()).map((s) => s.id),
    ['population'],
  );

  // The city offers the returned table, the province's provider named as the provider.
  const entry = returnedEntry(upstream, {
    peerPlatformId: 'hubei-province',
    peerName: '湖北省政务数据共享平台',
    code: CITY_COPY,
    source: 'fep',
    table: 'population_return',
  });
  await city.context.catalog.importEntry({ role: 'system', name: 'test' }, entry);
  const published = (await city.context.catalog.publishedEntry(CITY_COPY))!.entry;
  t.equal(
    published.provider.code,
    DEMO_DEPARTMENTS.publicSecurity.code,
    'the source is the province provider',
  );
  t.notOk(
    published.items.some((i) => i.source),
    'no item is claimed as a city source',
  );
  t.match(published.summary, /回流自湖北省政务数据共享平台（hubei-province）资源 101001\/000002/);

  const cityGrant = await city.app.inject({
    method: 'POST',
    url: '/v1/grants',
    headers: city.auth(bureau),
    payload: {
      deptCode: CITY_DEPT.code,
      systemId: CITY_DEPT.system,
      resourceCode: CITY_COPY,
      items: ['idNumber', 'name'],
      purposes: ['market-supervision'],
      modes: ['api'],
      validTo: new Date(Date.now() + 86_400_000).toISOString(),
      basis: '《政务信息资源共享管理办法》第二十一条',
    },
  });
  t.equal(cityGrant.statusCode, 201, cityGrant.body);
  const path = `/v1/data/${encodeURIComponent(CITY_COPY)}?idNumber=430000000000000003`;
  const read = await city.app.inject({
    method: 'GET',
    url: path,
    headers: signedHeaders(cascade.citySystem, { method: 'GET', path, headers: { 'x-user-id': 'wang.li' } }),
  });
  t.equal(read.statusCode, 200, read.body);
  t.equal(read.json().data.length, 1);
  t.same(Object.keys(read.json().data[0]).sort(), ['idNumber', 'name']);
  t.match(read.json().data[0].name, /^新/u, 'the returned row, from the city front-end database');
});
