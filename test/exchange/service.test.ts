import { existsSync } from 'node:fs';
import t from 'tap';
import { revokeCertificate } from '../../certs/registry.js';
import { cleanupExpiredFiles } from '../../exchange/cleanup.js';
import { isPermanentError } from '../../exchange/errors.js';
import { jobFilePath } from '../../exchange/paths.js';
import { failExportJob, runExportJob } from '../../exchange/runner.js';
import {
  getJobForCaller,
  jobView,
  listJobsForCaller,
  openJobFileForCaller,
  submitExchangeJob,
} from '../../exchange/service.js';
import { ExchangeStore } from '../../exchange/store.js';
import { DATE_WATERMARK, exchangeWorld, NO_WATERMARK, POPULATION } from './fixtures.js';

const world = await exchangeWorld(t, { residents: 3000 });
const DAY = 86_400_000;
const deps = world.deps({ pageSize: 500, fileTtlMs: 7 * DAY });
const store = new ExchangeStore(world.redis, world.prefix);
const purpose = { purpose: 'pension-check', requestId: 'req-1', userId: 'test.official' };
const full = { resource: POPULATION, kind: 'full', format: 'jsonl' } as const;

t.test('submission is decided in mode bulk against the caller’s own grant', async (t) => {
  const cases: {
    name: string;
    request: unknown;
    code: string;
    status: number;
    caller?: typeof world.other.caller;
    purpose?: string;
  }[] = [
    { name: 'no grant at all', request: full, code: 'GRANT_MISSING', status: 403 },
    {
      name: 'malformed request',
      request: { ...full, format: 'xlsx' },
      code: 'EXCHANGE_REQUEST_INVALID',
      status: 422,
    },
    {
      name: 'since on a full export',
      request: { ...full, since: '2024-01-01T00:00:00Z' },
      code: 'EXCHANGE_REQUEST_INVALID',
      status: 422,
    },
    {
      name: 'unknown resource',
      request: { ...full, resource: '101001/000777' },
      code: 'EXCHANGE_RESOURCE_NOT_FOUND',
      status: 404,
    },
  ];
  for (const c of cases) {
    await t.rejects(
      submitExchangeJob(deps, c.caller ?? world.consumer.caller, c.request, {
        purpose: c.purpose ?? 'pension-check',
        userId: 'test.official',
      }),
      { code: c.code, statusCode: c.status },
      c.name,
    );
  }
  await world.grant({ modes: ['api'] });
  await t.rejects(
    submitExchangeJob(deps, world.consumer.caller, full, purpose),
    { code: 'MODE_NOT_GRANTED', statusCode: 403 },
    'api-only grant',
  );
  const denied = world.audits.filter((a) => a.action === 'exchange.submit' && a.decision === 'deny');
  t.ok(
    denied.some((a) => a.reasonCode === 'MODE_NOT_GRANTED' && a.requestId === 'req-1'),
    'denials are audited',
  );
  t.equal(world.enqueued.length, 0, 'nothing enqueued');

  await world.grant({ rowFilter: { item: 'divisionCode', equals: '420102' } });
  const more: { name: string; request: unknown; code: string; purpose?: string }[] = [
    { name: 'wrong purpose', request: full, code: 'PURPOSE_MISMATCH', purpose: 'marketing' },
    { name: 'ungranted item', request: { ...full, items: ['name', 'religion'] }, code: 'ITEM_UNKNOWN' },
    {
      name: 'filter against the grant row filter',
      request: { ...full, filter: { item: 'divisionCode', equals: '420103' } },
      code: 'EXCHANGE_FILTER_CONFLICT',
    },
    {
      name: 'a since that is not a date-time like the watermark (updatedAt)',
      request: { ...full, kind: 'incremental', since: 'last tuesday' },
      code: 'EXCHANGE_REQUEST_INVALID',
    },
    {
      name: 'a since on a day the month does not have',
      request: { ...full, kind: 'incremental', since: '2024-02-30T00:00:00Z' },
      code: 'EXCHANGE_REQUEST_INVALID',
    },
  ];
  for (const c of more) {
    await t.rejects(
      submitExchangeJob(deps, world.consumer.caller, c.request, {
        purpose: c.purpose ?? 'pension-check',
        userId: 'test.official',
      }),
      { code: c.code },
      c.name,
    );
  }
  const job = await submitExchangeJob(
    deps,
    world.consumer.caller,
    { ...full, filter: { item: 'divisionCode', equals: '420102' } },
    purpose,
  );
  t.equal(job.state, 'queued', 'a filter equal to the grant row filter is fine');
  const incremental = await submitExchangeJob(
    deps,
    world.consumer.caller,
    { ...full, kind: 'incremental', since: '2026-03-01T08:00:00.123+08:00' },
    purpose,
  );
  t.equal(incremental.watermark?.from, '2026-03-01T08:00:00.123+08:00', 'a date-time since is taken');
});

t.test('incremental exports need a watermark item', async (t) => {
  await grantInBulk(world.consumer.caller, NO_WATERMARK, ['name']);
  await t.rejects(
    submitExchangeJob(
      deps,
      world.consumer.caller,
      { resource: NO_WATERMARK, kind: 'incremental', format: 'csv' },
      purpose,
    ),
    { code: 'EXCHANGE_INCREMENTAL_UNSUPPORTED' },
  );
  const job = await submitExchangeJob(
    deps,
    world.consumer.caller,
    { resource: NO_WATERMARK, kind: 'full', format: 'csv' },
    purpose,
  );
  t.equal(job.watermark, undefined);

  await grantInBulk(world.consumer.caller, DATE_WATERMARK, ['gender']);
  await t.rejects(
    submitExchangeJob(
      deps,
      world.consumer.caller,
      { resource: DATE_WATERMARK, kind: 'incremental', format: 'csv' },
      purpose,
    ),
    { code: 'EXCHANGE_INCREMENTAL_UNSUPPORTED', message: /birthDate .* is a date/ },
    'a date cannot tell apart rows changed earlier and later on one day',
  );
});

t.test('only the job’s own system sees the job and its file; the file expires', async (t) => {
  await world.grant();
  const job = await submitExchangeJob(deps, world.consumer.caller, full, purpose);
  // The download names the acting official, as the submission did.
  const own = { ...world.consumer.caller, userId: 'test.official' };
  t.equal((await getJobForCaller(deps, own, job.id)).id, job.id);
  for (const [name, caller] of [
    ['another department', world.other.caller],
    ['another system of the same department', world.sibling.caller],
  ] as const) {
    await t.rejects(
      getJobForCaller(deps, caller, job.id),
      { code: 'EXCHANGE_JOB_NOT_FOUND', statusCode: 404 },
      `${name}: status`,
    );
    await t.rejects(
      openJobFileForCaller(deps, caller, job.id),
      { code: 'EXCHANGE_JOB_NOT_FOUND' },
      `${name}: file`,
    );
    t.notOk(
      (await listJobsForCaller(deps, caller)).some((j) => j.id === job.id),
      `${name}: list`,
    );
  }
  await t.rejects(
    getJobForCaller(deps, own, `x${'0'.repeat(32)}`),
    { code: 'EXCHANGE_JOB_NOT_FOUND' },
    'unknown id',
  );
  await t.rejects(
    getJobForCaller(deps, own, '../../etc/passwd'),
    { code: 'EXCHANGE_JOB_NOT_FOUND' },
    'not an id',
  );
  await t.rejects(
    openJobFileForCaller(deps, own, job.id),
    { code: 'EXCHANGE_JOB_NOT_READY', statusCode: 409 },
    'queued: no file yet',
  );
  t.ok((await listJobsForCaller(deps, own)).some((j) => j.id === job.id));
  t.notOk('envelopeHeader' in jobView(job) || 'checkpoint' in jobView(job), 'the view hides internals');

  const done = await runExportJob(deps, job.id);
  const file = await openJobFileForCaller(deps, own, job.id);
  t.equal(file.bytes, done.file?.bytes);
  t.equal(file.path, jobFilePath(world.exchangeDir, job.id, 'jsonl'));
  t.equal(file.name, 'data.jsonl.gz.enc');

  t.same((await cleanupExpiredFiles(deps)).expired, [], 'not yet expired');
  world.clock.now += 7 * DAY + 1;
  const refused = new Error('audit down');
  const unaudited = {
    ...deps,
    audit: async (record: Parameters<typeof deps.audit>[0]) =>
      record.action === 'exchange.expire' ? Promise.reject(refused) : deps.audit(record),
  };
  await t.rejects(cleanupExpiredFiles(unaudited), refused);
  t.equal((await store.get(job.id))?.state, 'completed', 'unrecorded, the expiry waits');
  t.ok(existsSync(file.path), 'with its file');
  t.same((await cleanupExpiredFiles(deps)).expired, [job.id]);
  t.notOk(existsSync(file.path), 'the file is deleted');
  t.equal((await store.get(job.id))?.state, 'expired');
  await t.rejects(openJobFileForCaller(deps, own, job.id), {
    code: 'EXCHANGE_FILE_EXPIRED',
    statusCode: 410,
  });
  t.same((await cleanupExpiredFiles(deps)).expired, [], 'a second sweep finds nothing');
  t.equal(
    world.audits.filter((a) => a.action === 'exchange.expire' && a.requestId === job.id).length,
    1,
    'recorded once',
  );
  world.clock.now = Date.now();
});

t.test('a certificate revoked after submission fails the job for good', async (t) => {
  const job = await submitExchangeJob(deps, world.sibling.caller, full, purpose).catch((e) => e);
  t.equal(job.code, 'GRANT_MISSING', 'the sibling system has no grant of its own');
  const queued = await submitExchangeJob(deps, world.consumer.caller, full, purpose);
  await revokeCertificate(
    world.certs,
    world.consumer.caller.serial,
    'keyCompromise',
    new Date(world.clock.now),
  );
  const error = await runExportJob(deps, queued.id, { token: 'run-1' }).catch((e) => e);
  t.equal(error.code, 'EXCHANGE_CERT_UNUSABLE');
  t.ok(isPermanentError(error));
  const failed = await failExportJob(deps, queued.id, 'run-1', error, true);
  t.equal(failed?.state, 'failed');
  t.same(failed?.error?.code, 'EXCHANGE_CERT_UNUSABLE');
  t.equal(await store.sealedKey(queued.id), null, 'the data key is dropped');
  t.notOk(existsSync(jobFilePath(world.exchangeDir, queued.id, 'jsonl')), 'no partial file is left');
  const fail = world.audits.find((a) => a.action === 'exchange.fail' && a.requestId === queued.id);
  t.equal(fail?.reasonCode, 'EXCHANGE_CERT_UNUSABLE');
  t.equal((await runExportJob(deps, queued.id)).state, 'failed', 'a failed job stays failed');
  await t.rejects(
    submitExchangeJob(deps, world.consumer.caller, full, purpose),
    { code: 'EXCHANGE_CERT_UNUSABLE' },
    'no new job for a revoked certificate',
  );
});

/** The bureau grants the caller the population register's `name` item in bulk mode, for 30 days. */
/** A bulk grant of `items` of `resource` to `caller`, for pension-check, 30 days. */
async function grantInBulk(
  caller: { deptCode: string; systemId: string },
  resource: string = POPULATION,
  items = ['name'],
) {
  const entry = (await world.catalog.publishedEntry(resource))!.entry;
  await world.grants.create({ role: 'bureau', name: 't' }, entry, {
    deptCode: caller.deptCode,
    systemId: caller.systemId,
    resourceCode: resource,
    items,
    purposes: ['pension-check'],
    modes: ['bulk'],
    validTo: new Date(world.clock.now + 30 * DAY).toISOString(),
    basis: '《政务信息资源共享管理办法》第二十一条',
  });
}

t.test('a queue that refuses the job fails it instead of leaving it queued', async (t) => {
  const refusing = {
    ...deps,
    queue: { ...deps.queue, enqueue: async () => Promise.reject(new Error('queue down')) },
  };
  const [caller] = [world.other.caller];
  await grantInBulk(caller);
  await t.rejects(submitExchangeJob(refusing, caller, full, purpose), /queue down/);
  const [job] = await listJobsForCaller(deps, caller);
  t.equal(job?.state, 'failed');
  t.equal(await store.sealedKey(job!.id), null);
});

t.test('a job whose submission cannot be audited is failed, never queued', async (t) => {
  const unaudited = {
    ...deps,
    audit: async (record: Parameters<typeof deps.audit>[0]) =>
      record.action === 'exchange.submit' && record.decision === 'allow'
        ? Promise.reject(new Error('audit down'))
        : deps.audit(record),
  };
  const caller = world.sibling.caller;
  await grantInBulk(caller);
  const enqueuedBefore = world.enqueued.length;
  await t.rejects(submitExchangeJob(unaudited, caller, full, purpose), /audit down/);
  t.equal(world.enqueued.length, enqueuedBefore, 'not enqueued');
  const [job] = await listJobsForCaller(deps, caller);
  t.equal(job?.state, 'failed');
  t.equal(await store.sealedKey(job!.id), null, 'its data key is dropped');
});
