/**
 * Issue 18 item 5 on the bulk path: a bulk export job, a subscription and a file download name the
 * official acting through the system in a signed x-user-id, as a data call does (USER_ID_REQUIRED); the
 * person is recorded on the job, in every audit record of it and in the signed manifest. Only a grant the
 * bureau marked machine-to-machine is exempt, and only on a platform that allows machine calls
 * (GOVSHARE_MACHINE_CALLS).
 */
import t, { type Test } from 'tap';
import { auditKeys } from '../../../audit/keys.js';
import type { AuditRecord } from '../../../audit/record.js';
import { verifyManifest } from '../../../exchange/manifest.js';
import { runExportJob } from '../../../exchange/runner.js';
import { createExchange } from '../../../gateway/app/exchange.js';
import { buildTestApp, type TestApp } from '../../helpers/app.js';
import { buildWorld, grantPopulation, signedInject, type World } from '../../helpers/world.js';

async function trail(app: TestApp): Promise<AuditRecord[]> {
  const stream = auditKeys(app.context.prefix).stream(app.context.audit.instance);
  return (await app.context.redis.xrange(stream, '-', '+')).map(
    ([, fields]) => JSON.parse(fields[fields.indexOf('rec') + 1]!) as AuditRecord,
  );
}

const jobRequest = (world: World) => ({ resource: world.codes.population, kind: 'full', format: 'jsonl' });

/** Runs a job as the worker would, with the gateway's own exchange dependencies. */
async function run(t: Test, app: TestApp, id: string) {
  const exchange = createExchange(app.context);
  t.teardown(() => exchange.queue.close());
  return runExportJob(exchange.deps, id);
}

t.test(
  'a bulk job, a subscription and a download without x-user-id are refused; the person is on the job, its records and its manifest',
  async (t) => {
    const gw = await buildTestApp(t);
    const world = await buildWorld(t, gw.context);
    const { amr } = world.systems;
    await grantPopulation(gw, world, { modes: ['api', 'bulk'] });

    const anonymous = await signedInject(gw.app, amr, {
      method: 'POST',
      path: '/v1/exchange/jobs',
      body: jobRequest(world),
      userId: '',
    });
    t.equal(anonymous.statusCode, 400, anonymous.body);
    t.match(anonymous.json(), { code: 'USER_ID_REQUIRED', detail: /signed x-user-id header/ });
    const listed = await signedInject(gw.app, amr, { method: 'GET', path: '/v1/exchange/jobs' });
    t.same(listed.json().jobs, [], 'no job was made');
    t.match(
      (await trail(gw)).find((r) => r.requestId === anonymous.headers['x-request-id']),
      { action: 'exchange.submit', decision: 'deny', reasonCode: 'USER_ID_REQUIRED' },
      'the refusal is audited',
    );

    const subscription = await signedInject(gw.app, amr, {
      method: 'POST',
      path: '/v1/exchange/subscriptions',
      body: { resource: world.codes.population, format: 'jsonl' },
      userId: '',
    });
    t.equal(subscription.statusCode, 400, subscription.body);
    t.equal(subscription.json().code, 'USER_ID_REQUIRED');

    // Sent but left out of the signature: refused before anything is decided.
    const unsigned = await signedInject(gw.app, amr, {
      method: 'POST',
      path: '/v1/exchange/jobs',
      body: jobRequest(world),
      userId: 'li.na',
      sign: { components: ['@method', '@target-uri', 'x-purpose', 'content-digest'] },
    });
    t.equal(unsigned.statusCode, 401, unsigned.body);
    t.equal(unsigned.json().code, 'SIG_COMPONENT_MISSING');

    const submitted = await signedInject(gw.app, amr, {
      method: 'POST',
      path: '/v1/exchange/jobs',
      body: jobRequest(world),
      userId: 'li.na',
    });
    t.equal(submitted.statusCode, 202, submitted.body);
    const id: string = submitted.json().id;
    t.equal(submitted.json().consumer.userId, 'li.na', 'the job records the person');

    const done = await run(t, gw, id);
    t.equal(done.state, 'completed', JSON.stringify(done.error ?? {}));
    const check = verifyManifest(done.manifest, gw.context.platform.signingCertPem);
    t.ok(check.ok, 'the manifest verifies');
    t.equal(check.ok && check.manifest.consumer.userId, 'li.na', 'the signed manifest names the person');

    const refusedDownload = await signedInject(gw.app, amr, {
      method: 'GET',
      path: `/v1/exchange/jobs/${id}/file`,
      userId: '',
    });
    t.equal(refusedDownload.statusCode, 400, refusedDownload.body);
    t.equal(refusedDownload.json().code, 'USER_ID_REQUIRED');
    const download = await signedInject(gw.app, amr, {
      method: 'GET',
      path: `/v1/exchange/jobs/${id}/file`,
      userId: 'zhang.wei',
    });
    t.equal(download.statusCode, 200);
    t.equal(download.rawPayload.length, done.manifest!.manifest.file!.bytes);

    const records = await trail(gw);
    const ofJob = records.filter(
      (r) => r.kind === 'exchange' && (r.requestId === id || r.detail?.jobId === id),
    );
    t.same(
      ofJob.map((r) => r.action),
      ['exchange.submit', 'exchange.start', 'exchange.complete', 'exchange.download'],
    );
    t.same(
      ofJob.map((r) => r.actor.userId),
      ['li.na', 'li.na', 'li.na', 'zhang.wei'],
      'each record names the person: the job’s, then the one who downloaded',
    );
  },
);

t.test('machine-to-machine bulk: marked by the bureau, honoured only when the platform allows', async (t) => {
  const strict = await buildTestApp(t);
  const world = await buildWorld(t, strict.context);
  const { amr } = world.systems;
  await grantPopulation(strict, world, { modes: ['api', 'bulk'], machineToMachine: true });
  const submit = (app: TestApp) =>
    signedInject(app.app, amr, {
      method: 'POST',
      path: '/v1/exchange/jobs',
      body: jobRequest(world),
      userId: '',
    });

  const refused = await submit(strict);
  t.equal(refused.statusCode, 400, 'the platform does not allow machine calls by default');
  t.equal(refused.json().code, 'USER_ID_REQUIRED');

  const relaxed = await buildTestApp(t, { sameRedisAs: strict, env: { GOVSHARE_MACHINE_CALLS: 'true' } });
  const accepted = await submit(relaxed);
  t.equal(accepted.statusCode, 202, accepted.body);
  const id: string = accepted.json().id;
  t.notOk(accepted.json().consumer.userId, 'no person: a machine-to-machine job');
  const done = await run(t, relaxed, id);
  t.equal(done.state, 'completed', JSON.stringify(done.error ?? {}));
  const download = await signedInject(relaxed.app, amr, {
    method: 'GET',
    path: `/v1/exchange/jobs/${id}/file`,
    userId: '',
  });
  t.equal(download.statusCode, 200, 'downloaded without a person on a machine-to-machine grant');
  const strictDownload = await signedInject(strict.app, amr, {
    method: 'GET',
    path: `/v1/exchange/jobs/${id}/file`,
    userId: '',
  });
  t.equal(strictDownload.statusCode, 400, 'but not where the platform does not allow it');
});
