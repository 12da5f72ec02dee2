/**
 * "More than one machine": two `govshare serve` processes and one `govshare worker` process on a
 * three-master Redis Cluster. Quotas are counted once across the gateways, a revocation through one
 * gateway reaches the other within 2 s, every call has its audit record in its instance's chain and the
 * chains verify, and the worker process runs a bulk export submitted through a gateway.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { createDecryptStream } from '../../certs/envelope.js';
import { sampleKeys } from '../../connectors/simulator/datasets.js';
import { epochMinute } from '../../policies/quota-windows.js';
import { buildTestApp } from '../helpers/app.js';
import { auditRecordsOf, servedLookups } from '../helpers/audit.js';
import { cli } from '../helpers/cli.js';
import { startLocalCluster } from '../helpers/cluster.js';
import {
  type GatewayProcess,
  type HttpAnswer,
  personRequest,
  signedRequest,
  startGatewayProcess,
  startWorkerProcess,
  waitFor,
} from '../helpers/processes.js';
import { buildWorld, enc, type SignedCall, type SystemIdentity } from '../helpers/world.js';

const QUOTA = 4;
const CALLS = 10;

t.test('two gateway processes and a worker process on a Redis Cluster', async (t) => {
  const cluster = await startLocalCluster(t);
  // An in-process gateway context only sets the platform up (departments, certificates, catalog).
  const setup = await buildTestApp(t, { redisUrl: cluster.url });
  const world = await buildWorld(t, setup.context);
  const { amr, psb, hrss } = world.systems;
  const prefix = setup.config.GOVSHARE_REDIS_PREFIX;
  const exchangeDir = mkdtempSync(join(tmpdir(), 'govshare-exchange-'));
  t.teardown(() => rmSync(exchangeDir, { recursive: true, force: true }));
  const env = {
    GOVSHARE_REDIS_URL: cluster.url,
    GOVSHARE_REDIS_PREFIX: prefix,
    GOVSHARE_DATA_DIR: setup.config.GOVSHARE_DATA_DIR,
    GOVSHARE_EXCHANGE_DIR: exchangeDir,
  };
  const [gw1, gw2] = await Promise.all([
    startGatewayProcess(t, 'gateway 1', { ...env, GOVSHARE_INSTANCE_ID: 'gw-1' }),
    startGatewayProcess(t, 'gateway 2', { ...env, GOVSHARE_INSTANCE_ID: 'gw-2' }),
    startWorkerProcess(t, 'worker', { ...env, GOVSHARE_INSTANCE_ID: 'wk-1' }),
  ]);

  // Every signed call, by gateway, to match against the audit streams at the end.
  const calls = new Map<GatewayProcess, (HttpAnswer & { path: string })[]>([
    [gw1, []],
    [gw2, []],
  ]);
  const call = async (gw: GatewayProcess, system: SystemIdentity, signed: SignedCall) => {
    const answer = await signedRequest(gw.origin, system, signed);
    calls.get(gw)!.push({ ...answer, path: signed.path });
    return answer;
  };
  const grant = async (system: SystemIdentity, extra: Record<string, unknown>) => {
    const answer = await personRequest(gw1.origin, setup.auth({ sub: 'b', role: 'bureau' }), {
      method: 'POST',
      path: '/v1/grants',
      body: {
        deptCode: system.deptCode,
        systemId: system.systemId,
        resourceCode: world.codes.population,
        items: ['idNumber', 'name', 'gender'],
        purposes: ['market-supervision'],
        modes: ['api'],
        validTo: new Date(Date.now() + 86400_000).toISOString(),
        basis: '《政务信息资源共享管理办法》第二十一条',
        ...extra,
      },
    });
    t.equal(
      answer.status,
      201,
      answer.status === 201 ? `granted to ${system.systemId}` : String(answer.body),
    );
  };
  await grant(amr, { quota: { perMinute: QUOTA } });
  await grant(psb, {});
  await grant(hrss, { modes: ['bulk'], purposes: ['pension-check'] });
  const keys = sampleKeys('residents', CALLS);
  const lookup = (i: number): SignedCall => ({
    method: 'GET',
    path: `/v1/data/${enc(world.codes.population)}?idNumber=${keys[i % keys.length]}`,
  });

  t.test('(a) a per-minute quota is enforced in total across both gateways', async (t) => {
    // The quota window is the epoch minute: a burst takes well under a second, so only one begun in
    // the minute's last 5 s waits for the next minute.
    await waitFor(
      async () => Date.now() % 60_000,
      (ms) => ms < 55_000,
      { timeoutMs: 6000, intervalMs: 100 },
    );
    const minute = epochMinute(Date.now());
    const answers: HttpAnswer[] = [];
    for (let i = 0; i < CALLS; i++) answers.push(await call(i % 2 ? gw2 : gw1, amr, lookup(i)));
    t.equal(epochMinute(Date.now()), minute, 'the burst stayed in one quota minute');
    t.same(
      answers.map((a) => a.status),
      [...Array(QUOTA).fill(200), ...Array(CALLS - QUOTA).fill(429)],
      `exactly ${QUOTA} calls served, alternating between the gateways`,
    );
    t.same(
      [...new Set(answers.slice(QUOTA).map((a) => a.json().code))],
      ['QUOTA_EXCEEDED'],
      'every refusal says QUOTA_EXCEEDED',
    );
  });

  t.test('(b) a revocation through gateway 1 reaches gateway 2 within 2 s', async (t) => {
    t.equal((await call(gw2, psb, lookup(0))).status, 200, 'gateway 2 has accepted the certificate');
    t.equal((await call(gw1, psb, lookup(1))).status, 200, 'and so has gateway 1');
    const revoked = await personRequest(gw1.origin, setup.auth({ sub: 's', role: 'security-admin' }), {
      method: 'POST',
      path: `/v1/certificates/${psb.serial}/revoke`,
      body: { reason: 'keyCompromise' },
    });
    t.equal(revoked.status, 200, revoked.status === 200 ? 'revoked through gateway 1' : String(revoked.body));
    const started = Date.now();
    const refused = await waitFor(
      async () => (await call(gw2, psb, lookup(2))).json().code,
      (code) => code === 'CERT_REVOKED',
      { timeoutMs: 2000, intervalMs: 20 },
    );
    t.equal(refused, 'CERT_REVOKED', `gateway 2 refuses after ${Date.now() - started} ms`);
    t.equal((await call(gw1, psb, lookup(3))).json().code, 'CERT_REVOKED', 'gateway 1 refuses too');
  });

  t.test('(c) the worker process runs a bulk export submitted through gateway 2', async (t) => {
    const bulk = { purpose: 'pension-check' };
    const submitted = await call(gw2, hrss, {
      ...bulk,
      method: 'POST',
      path: '/v1/exchange/jobs',
      body: { resource: world.codes.population, kind: 'full', format: 'jsonl' },
    });
    t.equal(submitted.status, 202, submitted.status === 202 ? 'job accepted' : String(submitted.body));
    const id = String(submitted.json().id);
    // Polled through gateway 1: the job lives in the cluster, not in a gateway.
    const job = await waitFor(
      async () => (await call(gw1, hrss, { ...bulk, method: 'GET', path: `/v1/exchange/jobs/${id}` })).json(),
      (j) => j.state === 'completed' || j.state === 'failed',
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    t.equal(job.state, 'completed', `the job completed ${JSON.stringify(job.error ?? '')}`);
    const manifest = (job.manifest as { manifest: { rows: number; file: { bytes: number } } }).manifest;
    t.equal(manifest.rows, 2000, 'every resident of the simulator exported');

    const file = await call(gw2, hrss, { ...bulk, method: 'GET', path: `/v1/exchange/jobs/${id}/file` });
    t.equal(file.status, 200, 'the file downloads through gateway 2');
    t.equal(file.body.length, manifest.file!.bytes, 'the downloaded file is the whole file');
    const plain = await decrypt(file.body, hrss.keyPem);
    const lines = gunzipSync(plain).toString('utf8').trim().split('\n');
    t.equal(lines.length, manifest.rows, 'the consumer decrypts every row');
    t.same(Object.keys(JSON.parse(lines[0]!)), ['idNumber', 'name', 'gender'], 'projected to the grant');

    const steps = (await auditRecordsOf(setup.context.redis, prefix, 'wk-1'))
      .filter((r) => r.requestId === id)
      .map((r) => r.action);
    // (a run interrupted by a slow provider under load is retried: start … start, complete)
    t.equal(steps[0], 'exchange.start', "the worker process's chain records the run");
    t.equal(steps.at(-1), 'exchange.complete', 'and its completion');
  });

  t.test('(d) every call has its audit record and every chain verifies', async (t) => {
    for (const [gw, answers] of calls) {
      const instance = gw === gw1 ? 'gw-1' : 'gw-2';
      const records = await auditRecordsOf(setup.context.redis, prefix, instance);
      const recorded = new Set(records.map((r) => r.requestId));
      // Reading a job's status shares no data and is not audited; everything else is.
      const audited = answers.filter((a) => !/^\/v1\/exchange\/jobs\/[^/]+$/.test(a.path));
      t.same(
        audited.filter((a) => !recorded.has(a.requestId)).map((a) => `${a.status} ${a.path}`),
        [],
        `every call to ${instance} has a record in its chain (${audited.length} calls)`,
      );
      const data200 = answers
        .filter((a) => a.status === 200 && a.path.startsWith('/v1/data/'))
        .map((a) => a.requestId);
      t.same(
        [...(await servedLookups(setup.context.redis, prefix, instance))].sort(),
        data200.sort(),
        `${instance}: allowed data records = its 200 data responses (${data200.length})`,
      );
    }
    const quotaRefusals = [
      ...(await auditRecordsOf(setup.context.redis, prefix, 'gw-1')),
      ...(await auditRecordsOf(setup.context.redis, prefix, 'gw-2')),
    ].filter((r) => r.decision === 'deny' && r.reasonCode === 'QUOTA_EXCEEDED');
    t.equal(quotaRefusals.length, CALLS - QUOTA, 'each quota refusal is recorded as such');
    const verify = await cli(['audit', 'verify'], env);
    if (verify.code !== 0) t.comment(verify.out.concat(verify.err).join('\n'));
    t.equal(verify.code, 0, 'govshare audit verify exits 0');
    for (const instance of ['gw-1', 'gw-2', 'wk-1']) {
      t.match(
        verify.out.find((line) => line.startsWith(`${instance}: `)) ?? '',
        /records, \d+ signed checkpoints \([^)]*\) — intact( \(\d+ after the last checkpoint\))?$/,
        `${instance}'s chain is intact`,
      );
    }
    t.match(verify.out.at(-1), /^OK: /);
  });
});

async function decrypt(data: Buffer, privateKey: string): Promise<Buffer> {
  const stream = createDecryptStream({ privateKey });
  const parts: Buffer[] = [];
  stream.on('data', (c: Buffer) => parts.push(c));
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve).on('error', reject);
    stream.end(data);
  });
  return Buffer.concat(parts);
}
