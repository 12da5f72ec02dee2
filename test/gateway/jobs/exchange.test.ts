import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { canonicalJson } from '../../../audit/canonical.js';
import type { ExchangeDeps } from '../../../exchange/deps.js';
import { jobDir, jobFilePath } from '../../../exchange/paths.js';
import { runExportJob } from '../../../exchange/runner.js';
import type { ExchangeJob } from '../../../exchange/schema.js';
import { submitExchangeJob } from '../../../exchange/service.js';
import { ExchangeStore } from '../../../exchange/store.js';
import {
  createSubscription,
  deleteSubscription,
  subscriptionWatermark,
} from '../../../exchange/subscriptions.js';
import {
  createExchangeQueue,
  type ExchangeQueue,
  type ExchangeWorkerOptions,
  startExchangeWorker,
} from '../../../gateway/jobs/exchange.js';
import { bullPrefix } from '../../../gateway/jobs/queues.js';
import { createRedisClient } from '../../../platform/redis.js';
import { exchangeWorld, openFile, POPULATION, parseJsonl } from '../../exchange/fixtures.js';

const world = await exchangeWorld(t, { residents: 20_000, latencyMs: 10, realClock: true });
const store = new ExchangeStore(world.redis, world.prefix);
const settings = { pageSize: 500, segmentPages: 2, providerConcurrency: 1, providerLeaseMs: 1000 };
const queue = createExchangeQueue(world.redis, world.prefix, { attempts: 3, backoffMs: 100 });
t.teardown(() => queue.close());
const deps: ExchangeDeps = { ...world.deps(settings), queue: queue.port };
const grant = await world.grant();
const purpose = { purpose: 'pension-check', userId: 'test.official' };
const fast: Omit<ExchangeWorkerOptions, 'connection' | 'queue'> = {
  lockDuration: 1000,
  stalledInterval: 300,
  providerBusyDelayMs: 100,
};

async function worker(t: Test, options: Partial<ExchangeWorkerOptions> = {}, q: ExchangeQueue = queue) {
  const connection = createRedisClient(world.server.url, { maxRetriesPerRequest: null });
  const started = await startExchangeWorker(deps, {
    connection,
    queue: q,
    concurrency: 2,
    ...fast,
    ...options,
  });
  t.teardown(async () => {
    await started.close(true);
    await connection.quit();
  });
  return started;
}

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A worker in another process (the one the test kills), started and ready. */
async function childWorker(t: Test) {
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./exchange-worker-child.js', import.meta.url))],
    {
      env: {
        ...process.env,
        GOVSHARE_TEST_EXCHANGE_CHILD: JSON.stringify({
          redisUrl: world.server.url,
          prefix: world.prefix,
          platformDir: world.platformDir,
          settings: { ...deps.settings },
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

const finished = (id: string) =>
  until(`job ${id}`, async () => ['completed', 'failed'].includes((await store.get(id))?.state ?? ''));

t.test('the worker runs a submitted job; the queue lives under one hash tag', async (t) => {
  await worker(t);
  const job = await submitExchangeJob(
    deps,
    world.consumer.caller,
    { resource: POPULATION, kind: 'full', format: 'jsonl' },
    purpose,
  );
  await finished(job.id);
  const done = (await store.get(job.id))!;
  t.equal(done.state, 'completed');
  t.equal(
    parseJsonl(await openFile(jobFilePath(world.exchangeDir, job.id, 'jsonl'), world.consumer.keyPem)).length,
    20_000,
  );
  const bull = await queue.queue.getJob(job.id);
  t.same(await bull?.getState(), 'completed');
  t.same(bull?.returnvalue, { jobId: job.id, state: 'completed', rows: 20_000, sha256: done.file?.sha256 });
  const keys = await world.redis.keys(`${bullPrefix(world.prefix)}:exchange:*`);
  t.ok(
    keys.length > 0 && keys.every((k) => k.startsWith(`{${world.prefix}bull}:`)),
    'BullMQ keys share the hash tag',
  );
  t.ok(await queue.queue.getJobScheduler('exchange-cleanup'), 'the expired-file cleanup is scheduled');

  // Idempotent: the same export processed again returns the stored result without running again.
  await bull!.remove();
  const starts = world.audits.filter((a) => a.action === 'exchange.start').length;
  await queue.port.enqueue(job.id);
  await until(
    'the re-run',
    async () => (await (await queue.queue.getJob(job.id))?.getState()) === 'completed',
  );
  t.same((await queue.queue.getJob(job.id))?.returnvalue.sha256, done.file?.sha256);
  t.equal(world.audits.filter((a) => a.action === 'exchange.start').length, starts, 'no second run');
});

t.test('permanent failures are not retried; transient ones are', async (t) => {
  await worker(t);
  const doomed = await submitExchangeJob(
    deps,
    world.consumer.caller,
    { resource: POPULATION, kind: 'full', format: 'csv' },
    purpose,
  );
  await world.grants.setStatus({ role: 'bureau', name: 't' }, grant.id, 'suspended', 'audit in progress');
  await finished(doomed.id);
  const failed = (await store.get(doomed.id))!;
  t.equal(failed.state, 'failed');
  t.equal(failed.error?.code, 'GRANT_SUSPENDED');
  // The job record is final before BullMQ files the processor's throw: wait for BullMQ's own state.
  await until(
    'BullMQ files the failure',
    async () => (await (await queue.queue.getJob(doomed.id))?.getState()) === 'failed',
  );
  const bull = await queue.queue.getJob(doomed.id);
  t.equal(await bull?.getState(), 'failed');
  t.equal(bull?.attemptsMade, 1, 'UnrecoverableError: one attempt only');
  await world.grants.setStatus({ role: 'bureau', name: 't' }, grant.id, 'active', 'audit done');

  world.sim.setFault({ kind: 'status', status: 503, times: 2 });
  const flaky = await submitExchangeJob(
    deps,
    world.consumer.caller,
    { resource: POPULATION, kind: 'full', format: 'csv' },
    purpose,
  );
  await finished(flaky.id);
  const recovered = (await store.get(flaky.id))!;
  t.equal(recovered.state, 'completed', 'completed after a retry');
  t.equal(recovered.attempts, 2);
  const interrupt = world.audits.find((a) => a.requestId === flaky.id && a.action === 'exchange.interrupt');
  t.equal(interrupt?.reasonCode, 'UPSTREAM_UNAVAILABLE', 'the interrupted attempt is audited');
});

t.test('jobs against one provider never overlap when its limit is 1', async (t) => {
  await worker(t, { concurrency: 3 });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    ids.push(
      (
        await submitExchangeJob(
          deps,
          world.consumer.caller,
          { resource: POPULATION, kind: 'full', format: 'jsonl' },
          purpose,
        )
      ).id,
    );
  }
  for (const id of ids) await finished(id);
  const span = (id: string) => {
    const at = (action: string) =>
      Date.parse(world.audits.findLast((a) => a.requestId === id && a.action === action)!.time);
    return [at('exchange.start'), at('exchange.complete')] as const;
  };
  const spans = ids.map(span).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++)
    t.ok(spans[i]![0] >= spans[i - 1]![1], `job ${i + 1} starts after job ${i} ends`);
});

t.test('a subscription schedule fires, exports the changes and moves the watermark', async (t) => {
  await worker(t);
  const since = world
    .residents()
    .map((r) => String(r.updatedAt))
    .sort()[19_000]!;
  const sub = await createSubscription(
    deps,
    world.consumer.caller,
    { resource: POPULATION, format: 'jsonl', since, schedule: { pattern: '* * * * * *', tz: 'UTC' } },
    purpose,
  );
  t.ok(await queue.queue.getJobScheduler(`subscription-${sub.id}`), 'the scheduler is registered');
  await until('the first scheduled run', async () => (await subscriptionWatermark(deps, sub.id)) !== since);
  const run = world.audits.find(
    (a) => a.action === 'exchange.complete' && a.detail?.subscriptionId === sub.id,
  )!;
  t.equal(run.rowCount, 999, 'the rows changed after the watermark');
  await deleteSubscription(deps, world.consumer.caller, sub.id);
  t.notOk(await queue.queue.getJobScheduler(`subscription-${sub.id}`), 'the scheduler is gone');
});

t.test('a worker killed with SIGKILL mid-job: another worker resumes it to an identical file', async (t) => {
  // Submitted without the queue, so the reference run and the killed run are the same job.
  const parked: string[] = [];
  const parkedDeps: ExchangeDeps = {
    ...deps,
    queue: { ...deps.queue, enqueue: async (id) => void parked.push(id) },
  };
  const submitted = await submitExchangeJob(
    parkedDeps,
    world.consumer.caller,
    { resource: POPULATION, kind: 'full', format: 'jsonl' },
    purpose,
  );
  const k = store.keys;
  const saved = await Promise.all([
    world.redis.dumpBuffer(k.job(submitted.id)),
    world.redis.dumpBuffer(k.sealedKey(submitted.id)),
  ]);
  const reference = await runExportJob(deps, submitted.id);
  const referenceBytes = readFileSync(jobFilePath(world.exchangeDir, submitted.id, 'jsonl'));
  await rm(jobDir(world.exchangeDir, submitted.id), { recursive: true });
  await world.redis.restore(k.job(submitted.id), 0, saved[0]!, 'REPLACE');
  await world.redis.restore(k.sealedKey(submitted.id), 0, saved[1]!, 'REPLACE');
  await world.redis.zrem(k.expiry, submitted.id);

  const { child, exited } = await childWorker(t);
  await queue.port.enqueue(submitted.id);
  let halfway: ExchangeJob | undefined;
  await until('three checkpoints in the child', async () => {
    halfway = await store.get(submitted.id);
    return (halfway?.checkpoint?.segment ?? 0) >= 3;
  });
  child.kill('SIGKILL');
  t.equal(await exited, 'SIGKILL');
  t.not(halfway?.state, 'completed', `killed at segment ${halfway?.checkpoint?.segment} of 20`);

  await worker(t, { concurrency: 1 });
  await finished(submitted.id);
  const resumed = (await store.get(submitted.id))!;
  t.equal(resumed.state, 'completed');
  t.ok(
    readFileSync(jobFilePath(world.exchangeDir, submitted.id, 'jsonl')).equals(referenceBytes),
    'the delivered file is identical',
  );
  t.equal(
    canonicalJson(resumed.manifest!.manifest),
    canonicalJson(reference.manifest!.manifest),
    'so is the manifest',
  );
  const resume = world.audits.findLast((a) => a.requestId === submitted.id && a.action === 'exchange.start')!;
  t.ok(Number(resume.detail?.resumeAtSegment) >= 3, `resumed at segment ${resume.detail?.resumeAtSegment}`);
  t.ok(((await queue.queue.getJob(submitted.id))?.stalledCounter ?? 0) >= 1, 'BullMQ saw the job stall');
});

t.test('a job whose workers keep dying is failed, not left running', async (t) => {
  const job = await submitExchangeJob(
    deps,
    world.consumer.caller,
    { resource: POPULATION, kind: 'full', format: 'csv' },
    purpose,
  );
  const { child, exited } = await childWorker(t);
  await until('the first checkpoint', async () => ((await store.get(job.id))?.checkpoint?.segment ?? 0) >= 1);
  child.kill('SIGKILL');
  await exited;
  await worker(t, { maxStalledCount: 0 });
  await finished(job.id);
  const failed = (await store.get(job.id))!;
  t.equal(failed.state, 'failed', 'BullMQ gave up after the stall and the job record says so');
  t.match(failed.error?.message, /stalled/);
  t.equal(await store.sealedKey(job.id), null);
});
