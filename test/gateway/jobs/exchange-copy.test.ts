/**
 * A worker process killed with SIGKILL while it streams a PostgreSQL front-end database through COPY:
 * another worker resumes the job from its checkpoint, and the file is byte-identical (so the same after
 * decryption) to an uninterrupted run's. The same for a job cut into parts (a BullMQ flow): the killed
 * worker's part alone is redone, and the parts decrypt to what one file holds.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { canonicalJson } from '../../../audit/canonical.js';
import { ConnectorRegistry } from '../../../connectors/registry.js';
import { SqlConnectorFactory } from '../../../connectors/sql/connector.js';
import { resolveSqlSources } from '../../../connectors/sql/sources.js';
import type { ExchangeDeps } from '../../../exchange/deps.js';
import { verifyManifest } from '../../../exchange/manifest.js';
import { jobDir, jobFilePath, partFilePath } from '../../../exchange/paths.js';
import { runExportJob } from '../../../exchange/runner.js';
import type { ExchangeJob } from '../../../exchange/schema.js';
import { submitExchangeJob } from '../../../exchange/service.js';
import { ExchangeStore } from '../../../exchange/store.js';
import { createExchangeQueue, startExchangeWorker } from '../../../gateway/jobs/exchange.js';
import { createRedisClient } from '../../../platform/redis.js';
import { frontEndDatabaseResidents } from '../../../scripts/lib/demo-catalog.js';
import { exchangeWorld, openFile, parseJsonl } from '../../exchange/fixtures.js';
import { usePostgres } from '../../helpers/postgres.js';

const ROWS = 60_000;
const CODE = '101001/000043';

const world = await exchangeWorld(t, { residents: 10, realClock: true });
const db = await usePostgres(t);
await db.pool.query(
  `CREATE TABLE residents ("idNumber" text PRIMARY KEY, "name" text, "phone" text, "divisionCode" text,
     "updatedAt" timestamptz)`,
);
await db.pool.query(
  `INSERT INTO residents
   SELECT '42' || lpad(i::text, 16, '0'), '张伟' || i, '138' || lpad(i::text, 8, '0'),
          (ARRAY['420102','420103','420104'])[1 + i % 3],
          timestamptz '2026-11-01 00:00:00+08' + (i / 2) * interval '1.000001 second'
   FROM generate_series(1, $1) AS i ORDER BY md5(i::text)`,
  [ROWS],
);
const fep = {
  host: db.connection.host,
  port: db.connection.port,
  database: db.connection.database,
  user: db.connection.user,
};
const sql = new SqlConnectorFactory(
  resolveSqlSources(
    { sources: { fep: { dialect: 'postgres', ...fep, passwordEnv: 'FEP_PASSWORD' } } },
    { env: { FEP_PASSWORD: db.connection.password } },
  ),
);
t.teardown(() => sql.close());
const entry = frontEndDatabaseResidents({
  code: CODE,
  name: '人口基础信息（前置库）',
  summary: '前置库中的人口基础信息，用于批量交换。',
  table: 'residents',
  items: ['idNumber', 'name', 'phone', 'divisionCode', 'updatedAt'],
});
await world.catalog.importEntry({ role: 'system', name: 'test' }, entry);
await world.grants.create(
  { role: 'bureau', name: 'exchange test' },
  (await world.catalog.publishedEntry(CODE))!.entry,
  {
    deptCode: world.consumer.caller.deptCode,
    systemId: world.consumer.caller.systemId,
    resourceCode: CODE,
    items: ['idNumber', 'name', 'phone', 'divisionCode', 'updatedAt'],
    purposes: ['pension-check'],
    modes: ['api', 'bulk'],
    validTo: new Date(Date.now() + 365 * 86_400_000).toISOString(),
    basis: '《政务信息资源共享管理办法》第二十一条',
  },
);

// Pages of 200 rows, one page a segment: 300 checkpoints, each fsynced, so the kill lands mid-read.
const settings = { pageSize: 200, segmentPages: 1 };
const queue = createExchangeQueue(world.redis, world.prefix, { attempts: 3, backoffMs: 100 });
t.teardown(() => queue.close());
const deps: ExchangeDeps = {
  ...world.deps(settings),
  connectors: new ConnectorRegistry({ sql }),
  queue: queue.port,
};
const store = new ExchangeStore(world.redis, world.prefix);
const fast = { lockDuration: 1000, stalledInterval: 300, providerBusyDelayMs: 100 };

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function childWorker(t: Test, childSettings: ExchangeDeps['settings'] = deps.settings) {
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./exchange-worker-child.js', import.meta.url))],
    {
      env: {
        ...process.env,
        FEP_PASSWORD: db.connection.password,
        GOVSHARE_TEST_EXCHANGE_CHILD: JSON.stringify({
          redisUrl: world.server.url,
          prefix: world.prefix,
          platformDir: world.platformDir,
          fep,
          settings: { ...childSettings },
          worker: { ...fast, concurrency: 1 },
        }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    child.once('exit', () => reject(new Error('the worker child exited early')));
  });
  return { child, exited };
}

t.test('a worker killed with SIGKILL mid-COPY: another worker resumes it to an identical file', async (t) => {
  const parked: ExchangeDeps = { ...deps, queue: { ...deps.queue, enqueue: async () => undefined } };
  const submitted = await submitExchangeJob(
    parked,
    world.consumer.caller,
    { resource: CODE, kind: 'full', format: 'jsonl' },
    { purpose: 'pension-check', userId: 'test.official' },
  );
  const k = store.keys;
  const saved = await Promise.all([
    world.redis.dumpBuffer(k.job(submitted.id)),
    world.redis.dumpBuffer(k.sealedKey(submitted.id)),
  ]);
  const reference = await runExportJob(deps, submitted.id);
  const path = jobFilePath(world.exchangeDir, submitted.id, 'jsonl');
  const referenceBytes = readFileSync(path);
  await rm(jobDir(world.exchangeDir, submitted.id), { recursive: true });
  await world.redis.restore(k.job(submitted.id), 0, saved[0]!, 'REPLACE');
  await world.redis.restore(k.sealedKey(submitted.id), 0, saved[1]!, 'REPLACE');
  await world.redis.zrem(k.expiry, submitted.id);

  const { child, exited } = await childWorker(t);
  await queue.port.enqueue(submitted.id);
  let halfway: ExchangeJob | undefined;
  await until('ten checkpoints in the child', async () => {
    halfway = await store.get(submitted.id);
    return (halfway?.checkpoint?.segment ?? 0) >= 10;
  });
  child.kill('SIGKILL');
  t.equal(await exited, 'SIGKILL');
  halfway = await store.get(submitted.id);
  const at = halfway?.checkpoint?.segment ?? 0;
  t.ok(halfway?.state !== 'completed' && at < 300, `killed at segment ${at} of 300`);

  const connection = createRedisClient(world.server.url, { maxRetriesPerRequest: null });
  const started = await startExchangeWorker(deps, { connection, queue, concurrency: 1, ...fast });
  t.teardown(async () => {
    await started.close(true);
    await connection.quit();
  });
  await until('the resumed job', async () =>
    ['completed', 'failed'].includes((await store.get(submitted.id))?.state ?? ''),
  );
  const resumed = (await store.get(submitted.id))!;
  t.equal(resumed.state, 'completed');
  t.ok(readFileSync(path).equals(referenceBytes), 'the delivered file is byte-identical');
  t.equal(
    canonicalJson(resumed.manifest!.manifest),
    canonicalJson(reference.manifest!.manifest),
    'so is the manifest (digests of the file and of its plaintext, row count)',
  );
  const rows = parseJsonl(await openFile(path, world.consumer.keyPem));
  t.equal(rows.length, ROWS);
  // The killed backend is gone: no COPY is left running on the front-end database.
  await until('the killed COPY to end', async () => {
    const { rows: running } = await db.pool.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'COPY%' AND state = 'active'`,
      [db.database],
    );
    return running[0].n === 0;
  });
});

t.test(
  'a job in parts, a worker killed mid-part: only that part is redone, the parts make the same file',
  async (t) => {
    // 60 000 rows in parts of 15 000: four BullMQ children of one flow, written by whichever worker is free.
    const partDeps: ExchangeDeps = { ...deps, settings: { ...deps.settings, partRows: 15_000 } };
    const parked: ExchangeDeps = { ...partDeps, queue: { ...deps.queue, enqueue: async () => undefined } };
    const submit = (d: ExchangeDeps) =>
      submitExchangeJob(
        d,
        world.consumer.caller,
        { resource: CODE, kind: 'full', format: 'jsonl' },
        { purpose: 'pension-check', userId: 'test.official' },
      );
    // The reference: the same export written as one file (a run that does not split).
    const single = await runExportJob(partDeps, (await submit(parked)).id);
    t.equal(single.parts, undefined);
    const singleText = await openFile(
      jobFilePath(world.exchangeDir, single.id, 'jsonl'),
      world.consumer.keyPem,
    );

    const { child, exited } = await childWorker(t, partDeps.settings);
    const killed = await submit(partDeps);
    const k = store.keys;
    let writing: number | undefined;
    await until('a part halfway in the child', async () => {
      const job = await store.get(killed.id);
      if (!job?.parts) return false;
      const parts = await store.getParts(killed.id, job.parts);
      writing = parts.findIndex((p) => !p?.done && (p?.checkpoint?.segment ?? 0) >= 10);
      return writing !== -1;
    });
    child.kill('SIGKILL');
    t.equal(await exited, 'SIGKILL');
    const atKill = await store.getParts(killed.id, 4);
    t.ok(!atKill[writing!]?.done, `killed while writing part ${writing}`);
    const doneBefore = atKill.filter((p) => p?.done).map((p) => p!.index);

    const connection = createRedisClient(world.server.url, { maxRetriesPerRequest: null });
    const started = await startExchangeWorker(partDeps, { connection, queue, concurrency: 2, ...fast });
    t.teardown(async () => {
      await started.close(true);
      await connection.quit();
    });
    const settled = async (id: string) =>
      until(
        `job ${id}`,
        async () => ['completed', 'failed'].includes((await store.get(id))?.state ?? ''),
        60_000,
      );
    // Watch the parts until the job completes (their records are dropped then): who ran what.
    const attempts = new Map<number, number>();
    await until(
      'the resumed job',
      async () => {
        const parts = await store.getParts(killed.id, 4);
        for (const p of parts) if (p) attempts.set(p.index, p.attempts);
        return ['completed', 'failed'].includes((await store.get(killed.id))?.state ?? '');
      },
      60_000,
    );
    const resumed = (await store.get(killed.id))!;
    t.equal(resumed.state, 'completed', resumed.error?.message ?? 'completed');
    t.equal(resumed.parts, 4);
    for (const index of doneBefore)
      t.equal(attempts.get(index), 1, `part ${index}, done before the kill, is not redone`);
    t.equal(attempts.get(writing!), 2, `part ${writing} is run again, from its checkpoint`);
    t.equal(await world.redis.exists(k.partPlan(killed.id), k.part(killed.id, 0)), 0, 'the plan is dropped');

    // Uninterrupted, on the in-process worker alone.
    const straightJob = await submit(partDeps);
    await settled(straightJob.id);
    const straight = (await store.get(straightJob.id))!;
    t.equal(straight.state, 'completed');

    const signed = resumed.manifest!;
    t.ok(verifyManifest(signed, world.platform.signingCertPem).ok, 'the version 2 manifest verifies');
    const manifest = signed.manifest;
    t.equal(manifest.version, 2);
    t.equal(manifest.file, undefined);
    t.equal(manifest.rows, ROWS);
    t.same(
      manifest.parts!.map((p) => [p.index, p.rows, p.plaintextSha256, p.firstRow]),
      straight.manifest!.manifest.parts!.map((p) => [p.index, p.rows, p.plaintextSha256, p.firstRow]),
      'the same parts, digests of the plaintext and row counts as the uninterrupted run',
    );
    t.same(
      manifest.parts!.map((p) => p.rows),
      [15_000, 15_000, 15_000, 15_000],
    );
    // The key (an ID number) is delivered masked: no part names the clear key values it starts or ends at.
    t.ok(
      manifest.parts!.every((p) => p.keyRange === undefined),
      'no key ranges for a masked key',
    );
    t.notMatch(JSON.stringify(resumed), /420000000000015000/, 'nor does the job record');
    let text = '';
    for (const part of manifest.parts!) {
      const path = partFilePath(world.exchangeDir, killed.id, 'jsonl', part.index);
      t.equal(readFileSync(path).length, part.bytes);
      text += await openFile(path, world.consumer.keyPem);
    }
    t.equal(text, singleText, 'the decrypted parts, in order, are the one-file export');
    t.equal(parseJsonl(text).length, ROWS);
  },
);
