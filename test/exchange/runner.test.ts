import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { canonicalJson } from '../../audit/canonical.js';
import { verifyManifest } from '../../exchange/manifest.js';
import { jobDir, jobFilePath } from '../../exchange/paths.js';
import { runExportJob } from '../../exchange/runner.js';
import type { ExchangeJob } from '../../exchange/schema.js';
import { serializerFor } from '../../exchange/serialize.js';
import { submitExchangeJob } from '../../exchange/service.js';
import { ExchangeStore } from '../../exchange/store.js';
import { exchangeDecryptCommand } from '../../gateway/cli/commands/exchange.js';
import { decide } from '../../policies/decide.js';
import { applyObligations } from '../../policies/obligations.js';
import { tempDir } from '../certs/platform-fixture.js';
import { exchangeWorld, openFile, POPULATION, parseJsonl } from './fixtures.js';

const world = await exchangeWorld(t, { residents: 20_000 });
const deps = world.deps();
const store = new ExchangeStore(world.redis, world.prefix);
const grant = await world.grant();
const purpose = { purpose: 'pension-check', userId: 'test.official' };
const published = (await world.catalog.publishedEntry(POPULATION))!;

/** What the consumer must receive: the provider's rows after the grant's projection and masking. */
function expected(rows = world.residents(), items?: string[]) {
  const decision = decide(world.consumer.caller, published, grant, {
    purpose: 'pension-check',
    mode: 'bulk',
    queryItems: [],
    now: world.clock.now,
    ...(items ? { items } : {}),
  });
  if (!decision.allow) throw new Error(decision.message);
  return { rows: applyObligations(rows, decision.obligations), items: decision.obligations.items };
}

const path = (job: ExchangeJob) => jobFilePath(world.exchangeDir, job.id, job.format);

t.test('a full jsonl export of 20k residents decrypts to the projected, masked rows', async (t) => {
  const submitted = await submitExchangeJob(
    deps,
    world.consumer.caller,
    { resource: POPULATION, kind: 'full', format: 'jsonl' },
    purpose,
  );
  t.equal(submitted.state, 'queued');
  t.same(world.enqueued.at(-1), submitted.id, 'enqueued');
  const job = await runExportJob(deps, submitted.id);
  t.equal(job.state, 'completed');
  t.same(job.progress, {
    rows: 20_000,
    scanned: 20_000,
    pagesDone: 20,
    segments: 10,
    total: 20_000,
    percent: 100,
  });
  const rows = parseJsonl(await openFile(path(job), world.consumer.keyPem));
  const want = expected();
  t.equal(rows.length, 20_000);
  t.same(rows, want.rows, 'rows match the simulator after projection and masking');
  t.same(Object.keys(rows[0]!), want.items, 'items in catalog order');
  t.match(rows[0]!.idNumber, /^\d{6}\*{8}[\dX]{4}$/, 'ID numbers are masked');
  t.not(rows[0]!.idNumber, world.residents(1)[0]!.idNumber);

  const check = verifyManifest(job.manifest, world.platform.signingCertPem);
  t.ok(check.ok, 'the manifest verifies with the platform signing certificate');
  const manifest = job.manifest!.manifest;
  t.equal(manifest.rows, 20_000);
  t.equal(manifest.file!.bytes, readFileSync(path(job)).length);
  t.equal(manifest.grantId, grant.id);
  t.equal(manifest.watermark?.item, 'updatedAt');
  const latest = world
    .residents()
    .map((r) => String(r.updatedAt))
    .sort()
    .at(-1);
  t.equal(manifest.watermark?.to, latest, 'the watermark is the latest update read');
  t.notOk(
    verifyManifest({ ...job.manifest, manifest: { ...manifest, rows: 1 } }, world.platform.signingCertPem).ok,
    'an altered manifest fails',
  );
  t.notOk(verifyManifest(job.manifest, world.consumer.certPem).ok, 'another certificate fails');
  t.notOk(verifyManifest({ nonsense: true }, world.platform.signingCertPem).ok);

  t.equal(await store.sealedKey(job.id), null, 'the platform copy of the data key is gone');
  t.same(
    world.audits.filter((a) => a.requestId === job.id).map((a) => a.action),
    ['exchange.submit', 'exchange.start', 'exchange.complete'],
  );
  t.equal(
    world.audits.find((a) => a.action === 'exchange.complete' && a.requestId === job.id)?.rowCount,
    20_000,
  );
  const again = await runExportJob(deps, job.id);
  t.same(again, job, 'running a completed job again returns it unchanged');
  await t.rejects(
    openFile(path(job), world.other.keyPem),
    { code: 'ENVELOPE_KEY_MISMATCH' },
    'only the consumer key opens it',
  );
});

t.test('csv with chosen items and a filter: RFC 4180, header row, filtered rows only', async (t) => {
  const items = ['name', 'address', 'divisionCode'];
  const division = String(world.residents(1)[0]!.divisionCode);
  const submitted = await submitExchangeJob(
    deps,
    world.consumer.caller,
    {
      resource: POPULATION,
      kind: 'full',
      format: 'csv',
      items: ['divisionCode', 'name', 'address'],
      filter: { item: 'divisionCode', equals: division },
    },
    purpose,
  );
  t.same(submitted.items, items, 'items kept in catalog order');
  const job = await runExportJob(deps, submitted.id);
  const text = await openFile(path(job), world.consumer.keyPem);
  const want = expected(
    world.residents().filter((r) => r.divisionCode === division),
    items,
  );
  const serializer = serializerFor('csv', items);
  t.ok(want.rows.length > 0 && want.rows.length < 20_000, `${want.rows.length} rows in division ${division}`);
  t.equal(text, serializer.preamble + serializer.page(want.rows));
  t.ok(text.startsWith('name,address,divisionCode\r\n'));
  t.equal(job.manifest?.manifest.rows, want.rows.length);
  t.equal(job.progress.scanned, 20_000);
});

t.test('a job killed after k segments resumes to a byte-identical file and manifest', async (t) => {
  const submitted = await submitExchangeJob(
    deps,
    world.consumer.caller,
    { resource: POPULATION, kind: 'full', format: 'jsonl' },
    purpose,
  );
  const k = store.keys;
  const saved = await Promise.all([
    world.redis.dumpBuffer(k.job(submitted.id)),
    world.redis.dumpBuffer(k.sealedKey(submitted.id)),
  ]);

  const straight = await runExportJob(deps, submitted.id);
  const straightBytes = readFileSync(path(straight));

  // The same job again, from its submitted state, this time crashing after 3 checkpoints.
  await rm(jobDir(world.exchangeDir, submitted.id), { recursive: true });
  await world.redis.restore(k.job(submitted.id), 0, saved[0]!, 'REPLACE');
  await world.redis.restore(k.sealedKey(submitted.id), 0, saved[1]!, 'REPLACE');
  await world.redis.zrem(k.expiry, submitted.id);
  const crash = new Error('simulated crash');
  await t.rejects(
    runExportJob(deps, submitted.id, {
      token: 'first-run',
      afterCheckpoint: (checkpoint) => {
        if (checkpoint.segment === 3) throw crash;
      },
    }),
    crash,
  );
  const halfway = (await store.get(submitted.id))!;
  t.equal(halfway.state, 'running');
  t.equal(halfway.checkpoint?.segment, 3);
  t.equal(halfway.progress.rows, 6000);
  t.equal(halfway.progress.percent, 30, 'percent from the provider total');
  // A torn write past the checkpoint (the crash hit mid-segment) must be cut away on resume.
  appendFileSync(path(halfway), Buffer.alloc(5000, 7));

  const resumed = await runExportJob(deps, submitted.id, { token: 'second-run' });
  t.equal(resumed.state, 'completed');
  t.equal(resumed.attempts, 2);
  t.ok(readFileSync(path(resumed)).equals(straightBytes), 'the file is byte-identical');
  t.equal(resumed.file?.sha256, straight.file?.sha256);
  t.equal(
    canonicalJson(resumed.manifest!.manifest),
    canonicalJson(straight.manifest!.manifest),
    'the manifest is identical',
  );
  t.ok(verifyManifest(resumed.manifest, world.platform.signingCertPem).ok);
  const starts = world.audits.filter((a) => a.requestId === submitted.id && a.action === 'exchange.start');
  t.same(
    starts.map((a) => a.detail?.resumeAtSegment),
    [0, 0, 3],
    'the last run started at segment 3',
  );

  await t.rejects(
    store.saveOwned(resumed, 'first-run'),
    { code: 'EXCHANGE_RUN_SUPERSEDED' },
    'the replaced run is fenced off',
  );
});

t.test('a crash after the last segment completes the job without reading the provider again', async (t) => {
  const submitted = await submitExchangeJob(
    deps,
    world.consumer.caller,
    { resource: POPULATION, kind: 'full', format: 'jsonl', items: ['gender'] },
    purpose,
  );
  const crash = new Error('crash before completion');
  await t.rejects(
    runExportJob(deps, submitted.id, {
      afterCheckpoint: (checkpoint) => {
        if (checkpoint.complete) throw crash;
      },
    }),
    crash,
  );
  const requests = world.sim.stats().requests;
  const job = await runExportJob(deps, submitted.id);
  t.equal(job.state, 'completed');
  t.equal(world.sim.stats().requests, requests, 'no page was read again');
  t.equal(job.progress.pagesDone, 20);
  t.equal(parseJsonl(await openFile(path(job), world.consumer.keyPem)).length, 20_000);
});

t.test(
  'a job whose completion record is refused is not completed; the retry completes it, recorded once',
  async (t) => {
    const submitted = await submitExchangeJob(
      deps,
      world.consumer.caller,
      { resource: POPULATION, kind: 'full', format: 'jsonl', items: ['gender'] },
      purpose,
    );
    const refused = new Error('audit down');
    const unaudited = {
      ...deps,
      audit: async (record: Parameters<typeof deps.audit>[0]) =>
        record.action === 'exchange.complete' ? Promise.reject(refused) : deps.audit(record),
    };
    await t.rejects(runExportJob(unaudited, submitted.id), refused);
    const held = await store.get(submitted.id);
    t.equal(held?.state, 'running', 'not completed');
    t.equal(held?.file, undefined, 'no file offered for download');
    t.equal(held?.checkpoint?.complete, true, 'the written file is kept for the retry');

    const requests = world.sim.stats().requests;
    const job = await runExportJob(deps, submitted.id);
    t.equal(job.state, 'completed');
    t.equal(world.sim.stats().requests, requests, 'no page was read again');
    const completions = world.audits.filter(
      (a) => a.action === 'exchange.complete' && a.requestId === submitted.id,
    );
    t.equal(completions.length, 1);
    t.equal(completions[0]?.detail?.sha256, job.file?.sha256);
  },
);

t.test('an incremental export holds only rows changed after the watermark', async (t) => {
  const all = world.residents();
  const times = all.map((r) => String(r.updatedAt)).sort();
  const since = times[Math.floor(times.length * 0.9)]!;
  const submitted = await submitExchangeJob(
    deps,
    world.consumer.caller,
    { resource: POPULATION, kind: 'incremental', format: 'jsonl', since },
    purpose,
  );
  const job = await runExportJob(deps, submitted.id);
  const rows = parseJsonl(await openFile(path(job), world.consumer.keyPem));
  const changed = all.filter((r) => Date.parse(String(r.updatedAt)) > Date.parse(since));
  t.ok(changed.length > 1000 && changed.length < 3000, `${changed.length} rows changed`);
  t.same(rows, expected(changed).rows);
  t.same(job.manifest?.manifest.watermark, { item: 'updatedAt', from: since, to: times.at(-1) });
  t.equal(job.progress.total, undefined, 'the simulator gives no total for changes');
});

t.test('the exchange directory holds only job directories', async (t) => {
  t.throws(() => jobDir(world.exchangeDir, '../escape'), { code: 'EXCHANGE_JOB_NOT_FOUND' });
  t.throws(() => jobFilePath(world.exchangeDir, 'x'.padEnd(33, '0'), 'exe' as 'csv'), {
    code: 'EXCHANGE_REQUEST_INVALID',
  });
  t.equal(jobDir(world.exchangeDir, `x${'ab'.repeat(16)}`), join(world.exchangeDir, `x${'ab'.repeat(16)}`));
});

t.test('govshare exchange decrypt checks the manifest and writes the rows', async (t) => {
  const submitted = await submitExchangeJob(
    deps,
    world.consumer.caller,
    { resource: POPULATION, kind: 'full', format: 'jsonl', items: ['name', 'gender'] },
    purpose,
  );
  const job = await runExportJob(deps, submitted.id);
  const dir = tempDir(t, 'decrypt');
  const files = {
    key: join(dir, 'key.pem'),
    job: join(dir, 'job.json'),
    cert: join(dir, 'signing-cert.pem'),
    out: join(dir, 'rows.jsonl'),
  };
  writeFileSync(files.key, world.consumer.keyPem, { mode: 0o600 });
  writeFileSync(files.job, JSON.stringify(job));
  writeFileSync(files.cert, world.platform.signingCertPem);
  const lines: string[] = [];
  const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(`err: ${l}`), env: {} };
  const args = ['--key', files.key, '--in', path(job), '--out', files.out, '--manifest', files.job];
  t.equal(await exchangeDecryptCommand.run([...args, '--platform-cert', files.cert, '--gunzip'], io), 0);
  t.same(parseJsonl(readFileSync(files.out, 'utf8')), expected(world.residents(), ['name', 'gender']).rows);
  t.match(lines.at(-1), /20000 rows of 101001\/000001/);

  const forged = { ...job, manifest: { ...job.manifest!, manifest: { ...job.manifest!.manifest, rows: 5 } } };
  writeFileSync(files.job, JSON.stringify(forged));
  await t.rejects(exchangeDecryptCommand.run([...args, '--platform-cert', files.cert], io), /not genuine/);
  writeFileSync(files.job, JSON.stringify(job.manifest));
  const other = join(dir, 'other.enc');
  writeFileSync(other, readFileSync(path(job)).subarray(0, 1000));
  await t.rejects(
    exchangeDecryptCommand.run(
      ['--key', files.key, '--in', other, '--out', join(dir, 'x'), '--manifest', files.job],
      io,
    ),
    /not the file of the manifest/,
  );
  t.match(lines.at(-1), /signature was not checked/);
});
