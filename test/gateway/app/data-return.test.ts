/**
 * Data return (回流) between two complete platforms: the city pulls the province's population resource
 * into its own front-end database (a real PostgreSQL) under the province's bulk grant to the city
 * platform, masked by the province; a second run delivers nothing new; a run from an earlier watermark
 * delivers exactly the rows changed after it; both trails record every page and the run.
 */
import t from 'tap';
import type { AuditRecord } from '../../../audit/record.js';
import { PostgresReturnTable, ReturnWatermarks } from '../../../federation/data-return.js';
import { FEDERATION_SYSTEM_ID } from '../../../federation/origin.js';
import { runDataReturn } from '../../../gateway/app/data-return.js';
import { auditRecordsOf } from '../../helpers/audit.js';
import { cli } from '../../helpers/cli.js';
import { buildCascade, CITY } from '../../helpers/federation.js';
import { usePostgres } from '../../helpers/postgres.js';

t.test('an incremental return job delivers only new rows, masked by the province', async (t) => {
  const cascade = await buildCascade(t);
  const { city, province, federatedCode: code } = cascade;
  const db = await usePostgres(t);
  const table = new PostgresReturnTable(
    db.pool,
    'population_return',
    ['idNumber', 'name', 'updatedAt'],
    'idNumber',
  );
  await table.ensure();
  const job = { peer: 'hubei-province', code, sink: table, purpose: 'population-return', pageSize: 400 };

  await t.rejects(runDataReturn(city.context, job), {
    code: 'UPSTREAM_PLATFORM_REFUSED',
    message: /GRANT_MISSING/,
  });

  const res = await province.app.inject({
    method: 'POST',
    url: '/v1/grants',
    headers: province.auth({ sub: 'bureau-1', role: 'bureau' }),
    payload: {
      deptCode: CITY.operator,
      systemId: FEDERATION_SYSTEM_ID,
      resourceCode: code,
      items: ['idNumber', 'name', 'updatedAt'],
      purposes: ['population-return'],
      modes: ['bulk'],
      // The key is returned in clear (the province lifts its masking for this grant): a masked ID number
      // would make different people one row of the city's table. The name stays masked.
      masking: { idNumber: 'none' },
      validTo: new Date(Date.now() + 86_400_000).toISOString(),
      basis: '《政务信息资源共享管理办法》第二十一条',
    },
  });
  t.equal(res.statusCode, 201, res.body);

  const first = await runDataReturn(city.context, job);
  const count = async (where = '') =>
    Number((await db.pool.query(`SELECT count(*)::int AS n FROM population_return ${where}`)).rows[0].n);
  t.equal(first.rows, 2000, 'every resident the province holds');
  t.equal(first.pages, 5);
  t.equal(await count(), 2000);
  const sample = (await db.pool.query('SELECT * FROM population_return LIMIT 1')).rows[0];
  t.match(sample.name, /^.\*+$/u, "masked by the province's rule");
  t.match(sample.idNumber, /^\d{17}[\dX]$/, 'the key in clear, as the grant says');
  const max = (await db.pool.query('SELECT max("updatedAt") AS m FROM population_return')).rows[0].m;
  t.equal(first.watermark, max, 'the watermark is the latest change delivered');
  const watermarks = new ReturnWatermarks(city.context.redis, city.context.prefix);
  t.equal(await watermarks.get('hubei-province', code), max);

  const second = await runDataReturn(city.context, job);
  t.equal(second.rows, 0, 'nothing changed since: nothing delivered');
  t.equal(second.since, max);

  const { m: middle } = (
    await db.pool.query(
      'SELECT "updatedAt" AS m FROM population_return ORDER BY "updatedAt" OFFSET 1500 LIMIT 1',
    )
  ).rows[0];
  await watermarks.set('hubei-province', code, middle);
  const third = await runDataReturn(city.context, job);
  t.equal(
    third.rows,
    await count(`WHERE "updatedAt" > '${middle}'`),
    'exactly the rows changed after the watermark',
  );
  t.ok(third.rows > 0 && third.rows < 2000);
  t.equal(await count(), 2000, 'upserted, not duplicated');

  const cityRuns = (
    await auditRecordsOf(city.context.dataRedis, city.context.prefix, city.context.audit.instance)
  ).filter((r: AuditRecord) => r.action === 'federation.return');
  t.same(
    cityRuns.map((r) => [r.decision, r.rowCount ?? null]),
    [
      ['error', null],
      ['allow', 2000],
      ['allow', 0],
      ['allow', third.rows],
    ],
  );
  const provincePages = (
    await auditRecordsOf(province.context.dataRedis, province.context.prefix, province.context.audit.instance)
  ).filter((r) => r.action === 'data.returned');
  const firstPages = provincePages.filter((r) => r.requestId.startsWith(`${first.correlationId}.`));
  t.equal(firstPages.length, 5, 'the province audited each page under the run correlation id');
  t.equal(
    firstPages.reduce((sum, r) => sum + (r.rowCount ?? 0), 0),
    2000,
  );
  t.match(firstPages[0], {
    actor: { deptCode: CITY.operator, systemId: FEDERATION_SYSTEM_ID },
    decision: 'allow',
  });

  // The same job from the command line (as cron would run it), into a table of its own.
  await watermarks.set('hubei-province', code, middle);
  const run = await cli(
    [
      'federation',
      'return',
      '--peer',
      'hubei-province',
      '--resource',
      code,
      '--items',
      'idNumber,name,updatedAt',
      '--key',
      'idNumber',
      '--table',
      'population_cli',
      '--database-url',
      db.url,
      '--purpose',
      'population-return',
    ],
    {
      GOVSHARE_REDIS_URL: city.redisUrl,
      GOVSHARE_REDIS_PREFIX: city.config.GOVSHARE_REDIS_PREFIX,
      GOVSHARE_DATA_DIR: city.dataDir,
      GOVSHARE_LOG_LEVEL: 'silent',
    },
  );
  t.equal(run.code, 0, run.err.join('\n'));
  t.match(run.out[0], `returned ${third.rows} rows in 1 page(s) since ${middle}`);
  const cliRows = (await db.pool.query('SELECT count(*)::int AS n FROM population_cli')).rows[0].n;
  t.equal(cliRows, third.rows);
});
