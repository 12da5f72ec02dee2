import type { Job, Worker } from 'bullmq';
import type pg from 'pg';
import t, { type Test } from 'tap';
import { QualityStore } from '../../../catalog/quality/store.js';
import type { ResourceEntry } from '../../../catalog/schema.js';
import { ConnectorRegistry } from '../../../connectors/registry.js';
import { SqlConnectorFactory } from '../../../connectors/sql/connector.js';
import { ProviderLimiter } from '../../../exchange/provider-limit.js';
import {
  createQualityQueue,
  enqueueQualityCheck,
  QUALITY_TIME_ZONE,
  type QualityJobData,
  type QualityJobResult,
  type QualityWorkerDeps,
  qualitySchedule,
  startQualityWorker,
  syncQualitySchedules,
} from '../../../gateway/jobs/quality.js';
import { createRedisClient } from '../../../platform/redis.js';
import { enrolmentEntry, spread, syntheticRows } from '../../catalog/quality/fixtures.js';
import { sourcesFor } from '../../connectors/sql/fixtures.js';
import { usePostgres } from '../../helpers/postgres.js';
import { useRedis } from '../../helpers/redis.js';

const NOW = Date.parse('2025-06-10T02:00:00Z');
const HOUR = 3_600_000;
const BAD_IDS = spread(29, 11, 83);
const BAD_CODES = spread(17, 13, 131);
const DUPLICATES = spread(9, 40, 333);
const MISSING_KEYS = 3;

/** The enrolment table without a primary key (front-end tables often have none), with planted faults. */
async function createEnrolment(pool: pg.Pool): Promise<void> {
  await pool.query(`CREATE TABLE enrolment (
    "idNumber" text, "name" text, "employerCreditCode" text, "divisionCode" text, "phone" text,
    "enrolledOn" date, "monthlyBase" numeric, "updatedAt" timestamptz)`);
  const rows = [
    ...syntheticRows({
      rows: 4000,
      badIdNumbers: BAD_IDS,
      badCreditCodes: BAD_CODES,
      duplicateOf: DUPLICATES,
      newestMs: NOW - 30 * HOUR,
    }),
  ];
  await pool.query('INSERT INTO enrolment SELECT * FROM json_populate_recordset(NULL::enrolment, $1)', [
    JSON.stringify(rows),
  ]);
  // Rows without a key: no page can address them; the source counts them for the check instead.
  await pool.query(
    `INSERT INTO enrolment ("name", "updatedAt") SELECT 'no key', '2025-06-08T00:00:00Z' FROM generate_series(1, ${MISSING_KEYS})`,
  );
  await pool.query('CREATE INDEX ON enrolment ("idNumber")');
}

function completion(
  worker: Worker<QualityJobData, QualityJobResult>,
  jobId: string,
): Promise<QualityJobResult> {
  return new Promise((resolve, reject) => {
    const onDone = (job: Job<QualityJobData, QualityJobResult>, result: QualityJobResult) => {
      if (job.id !== jobId) return;
      worker.off('completed', onDone);
      resolve(result);
    };
    worker.on('completed', onDone);
    worker.on('failed', (job, error) => {
      if (job?.id === jobId) reject(error);
    });
  });
}

async function setup(t: Test, extra: Partial<QualityWorkerDeps> = {}, busyDelayMs?: number) {
  const { server, redis, prefix } = await useRedis(t);
  const db = await usePostgres(t);
  await createEnrolment(db.pool);
  const blocking = createRedisClient(server.url, { maxRetriesPerRequest: null });
  const entry: ResourceEntry = enrolmentEntry('daily');
  const entries = new Map([[entry.code, entry]]);
  const factory = new SqlConnectorFactory(sourcesFor(db));
  const connectors = new ConnectorRegistry({ sql: factory });
  const store = new QualityStore(redis, prefix, { now: () => NOW });
  const queue = createQualityQueue(redis, prefix);
  const deps: QualityWorkerDeps = {
    catalog: {
      publishedEntry: async (code) => {
        const found = entries.get(code);
        return found ? { version: 2, status: 'active', entry: found } : null;
      },
    },
    connectors,
    store,
    pageSize: 250,
    now: () => NOW,
    ...extra,
  };
  const worker = startQualityWorker(deps, {
    connection: blocking,
    redisPrefix: prefix,
    ...(busyDelayMs ? { providerBusyDelayMs: busyDelayMs } : {}),
  });
  t.teardown(async () => {
    await worker.close();
    await queue.close();
    await blocking.quit();
    await connectors.close();
  });
  await worker.waitUntilReady();
  return { redis, prefix, entry, store, queue, worker, connectors };
}

t.test(
  'an on-demand check stores a report with the planted counts and opens a correction task',
  async (t) => {
    const { entry, store, queue, worker, redis, prefix, connectors } = await setup(t);
    const first = await enqueueQualityCheck(queue, entry.code, { requestedBy: 'bureau 张审核' });
    const second = await enqueueQualityCheck(queue, entry.code);
    t.same(second, { jobId: first.jobId, deduplicated: true }, 'a waiting check is not queued twice');
    const result = await completion(worker, first.jobId);
    t.match(result, { runId: first.jobId, rowsChecked: 4012, taskAction: 'opened', duplicate: false });

    const report = (await store.latest(entry.code))!;
    const count = (rule: string) => report.rules.find((r) => r.rule === rule)?.violations;
    t.match(report, { id: first.jobId, resource: entry.code, version: 2, trigger: 'manual', rowsRead: 4012 });
    t.equal(count('key:missing'), MISSING_KEYS, 'rows without a key, counted by the source');
    t.equal(count('idNumber:idNumber'), 29, 'bad ID numbers');
    t.equal(count('uscc:employerCreditCode'), 17, 'bad credit codes');
    t.equal(count('unique:key'), 9, 'duplicate keys, read once each across pages');
    t.match(report.freshness, { stale: true, ageSeconds: 30 * 3600 });
    t.same(
      report.rules.filter((r) => r.violations > 0).map((r) => r.rule),
      ['idNumber:idNumber', 'uscc:employerCreditCode', 'key:missing', 'unique:key', 'freshness'],
    );
    t.ok(report.score < 90);
    t.notMatch(JSON.stringify(report), /\d{17}[\dX]/, 'no clear ID number in the stored report');
    t.match(await store.openTask(entry.code), { state: 'open', runId: first.jobId });

    const { runQualityJob } = await import('../../../gateway/jobs/quality.js');
    const again = await runQualityJob(
      { catalog: { publishedEntry: async () => null }, connectors: new ConnectorRegistry({}), store },
      first.jobId,
      { code: entry.code, trigger: 'manual' },
    );
    t.match(
      again,
      { duplicate: true, runId: first.jobId },
      'a retried job whose report is stored ends at once',
    );

    const unknown = await enqueueQualityCheck(queue, '999001/1');
    const failed = await new Promise<Error>((resolve) =>
      worker.on('failed', (job, error) => job?.id === unknown.jobId && resolve(error)),
    );
    t.match(failed, { name: 'UnrecoverableError', message: 'resource 999001/1 is not published' });
    const moved = { ...entry, service: { ...entry.service!, table: 'enrolment_renamed' } };
    await t.rejects(
      runQualityJob(
        {
          catalog: { publishedEntry: async () => ({ version: 3, status: 'active', entry: moved }) },
          connectors,
          store,
        },
        'run-x',
        { code: entry.code, trigger: 'manual' },
      ),
      { name: 'UnrecoverableError', message: /does not exist or may not be read/ },
      'a table that is gone is not retried',
    );
    t.ok(
      (await redis.keys(`{${prefix}bull}:quality:*`)).length > 0,
      'queue keys live under the {<prefix>bull} hash tag',
    );
  },
);

t.test('schedules follow the update cycle; a scheduled job runs the check', async (t) => {
  const { entry, store, queue, worker } = await setup(t);
  const schedule = qualitySchedule(entry.code, 'daily')!;
  t.match(schedule, { pattern: /^\d{1,2} [1-5] \* \* \*$/, tz: QUALITY_TIME_ZONE });
  t.same(qualitySchedule(entry.code, 'daily'), schedule, 'the same time for the same resource');
  t.match(qualitySchedule(entry.code, 'realtime'), { pattern: /^\d{1,2} \* \* \* \*$/ });
  t.match(qualitySchedule(entry.code, 'weekly'), { pattern: / \* \* 1$/ });
  t.match(qualitySchedule(entry.code, 'quarterly'), { pattern: / 1 1,4,7,10 \*$/ });
  t.equal(qualitySchedule(entry.code, 'other'), undefined, 'irregular cycles are checked on demand only');

  const synced = await syncQualitySchedules(queue, [
    { code: entry.code, updateCycle: 'daily' },
    { code: '102001/1', updateCycle: 'monthly' },
    { code: '103001/1', updateCycle: 'other' },
  ]);
  t.same(synced, { scheduled: [entry.code, '102001/1'], removed: [] });
  const schedulers = await queue.getJobSchedulers();
  t.match(
    schedulers.find((s) => s.key === `quality-${entry.code}`),
    {
      pattern: schedule.pattern,
      tz: QUALITY_TIME_ZONE,
      template: { data: { code: entry.code, trigger: 'schedule' } },
    },
  );

  const delayed = await queue.getDelayed();
  const next = delayed.find((job) => job.data.code === entry.code)!;
  t.ok(next, 'the scheduler queued the next check');
  const done = completion(worker, next.id!);
  await next.promote();
  t.match(await done, { taskAction: 'opened' });
  t.match(await store.latest(entry.code), { trigger: 'schedule', id: next.id });

  t.same(await syncQualitySchedules(queue, [{ code: entry.code, updateCycle: 'daily' }]), {
    scheduled: [entry.code],
    removed: ['102001/1'],
  });
  t.same(
    (await queue.getJobSchedulers()).map((s) => s.key),
    [`quality-${entry.code}`],
  );
});

t.test('a check waits while its provider is at its limit of bulk reads', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const slots = new ProviderLimiter(redis, prefix, { limit: 1, leaseMs: 5_000 });
  const { entry, store, queue, worker } = await setup(t, { providerSlots: slots }, 800);
  const export1 = await slots.hold(entry.provider.code, 'an-export');
  const { jobId } = await enqueueQualityCheck(queue, entry.code);
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(await store.latest(entry.code), undefined, 'not run while the provider is full');
  t.equal(await queue.getJobState(jobId), 'delayed');
  const done = completion(worker, jobId);
  await export1!.release();
  t.match(await done, { runId: jobId, rowsChecked: 4012 });
  t.equal(await slots.held(entry.provider.code), 0, 'the slot is released after the check');
});
