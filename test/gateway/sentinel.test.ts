/**
 * A gateway on Redis Sentinel (`redis+sentinel://host:port/master`): signed data calls are served and
 * audited on the master the sentinel names, and after a manual failover to the replica the gateway
 * follows the new master — calls succeed again and the audit chain still verifies.
 */
import t from 'tap';
import { verifyAudit } from '../../audit/verify.js';
import { sampleKeys } from '../../connectors/simulator/datasets.js';
import { createRedisClient } from '../../platform/redis.js';
import { buildTestApp } from '../helpers/app.js';
import { servedLookups } from '../helpers/audit.js';
import { waitFor } from '../helpers/processes.js';
import { startLocalSentinel } from '../helpers/sentinel.js';
import { buildWorld, enc, grantPopulation, signedInject } from '../helpers/world.js';

t.test('a gateway through Redis Sentinel, before and after a failover', async (t) => {
  const sentinel = await startLocalSentinel(t);
  const { app, context, auth } = await buildTestApp(t, { redisUrl: sentinel.url });
  const world = await buildWorld(t, context);
  const { amr } = world.systems;
  await grantPopulation({ app, auth }, world, { items: ['idNumber', 'name'] });
  const keys = sampleKeys('residents', 20);
  const served: string[] = [];
  const refusals: string[] = [];
  const call = async (i: number) => {
    const res = await signedInject(app, amr, {
      method: 'GET',
      path: `/v1/data/${enc(world.codes.population)}?idNumber=${keys[i % keys.length]}`,
    });
    if (res.statusCode === 200) served.push(String(res.headers['x-request-id']));
    else refusals.push(`${res.statusCode} ${res.json().code}`);
    return res.statusCode;
  };
  // The records as the given server itself holds them (not through the sentinel).
  const recordedOn = async (port: number) => {
    const direct = createRedisClient(`redis://127.0.0.1:${port}`);
    try {
      return [...(await servedLookups(direct, context.prefix, context.audit.instance))].sort();
    } finally {
      direct.disconnect();
    }
  };

  const firstMaster = sentinel.masterPort();
  for (let i = 0; i < 3; i++) t.equal(await call(i), 200, 'a signed data call is served');
  t.same(await recordedOn(firstMaster), [...served].sort(), 'its audit records are on the master');

  const newMaster = await sentinel.failover();
  t.not(newMaster, firstMaster, `the sentinel promoted the replica (${firstMaster} → ${newMaster})`);
  const switched = Date.now();
  const recovered = await waitFor(
    async () => call(3),
    (status) => status === 200,
    { timeoutMs: 15_000, intervalMs: 50 },
  );
  const recoveryMs = Date.now() - switched;
  t.equal(recovered, 200, 'the gateway follows the sentinel to the new master');
  // Sentinel demotes the old master only ~8 s after the switch; a client that waited for that (instead
  // of acting on +switch-master) would take this long.
  t.ok(recoveryMs < 5000, `served again ${recoveryMs} ms after the sentinel switched masters`);
  for (let i = 4; i < 7; i++) t.equal(await call(i), 200, 'and keeps serving');
  t.same(
    refusals.filter((r) => !/^50[03] /.test(r)),
    [],
    `the failover answered 200 or failed closed, never an identity or policy refusal: ${JSON.stringify(refusals)}`,
  );
  t.same(
    refusals.filter((r) => !r.startsWith('503 ')),
    [],
    'every refusal during the failover is a 503 (e.g. NOREPLICAS from the demoted master)',
  );
  t.same(await recordedOn(newMaster), [...served].sort(), 'every served call is recorded on the new master');
  const report = await verifyAudit(context.redis, context.prefix, {
    publicKey: context.platform.signingCertX509.publicKey,
  });
  t.ok(report.ok, `the audit chain verifies after the failover: ${JSON.stringify(report.instances)}`);
});
