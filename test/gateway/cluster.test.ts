/**
 * Everything on a Redis Cluster (three masters): catalog, certificates, grants, nonces, quotas, audit
 * streams, the application workflow and its BullMQ queues, with two gateway instances sharing it.
 */
import t from 'tap';
import { sampleKeys } from '../../connectors/simulator/datasets.js';
import { buildTestApp } from '../helpers/app.js';
import { startLocalCluster } from '../helpers/cluster.js';
import { buildWorld, enc, grantPopulation, signedInject } from '../helpers/world.js';

const auditor = { sub: 'auditor-1', role: 'auditor' } as const;

t.test('two gateways on a Redis Cluster: quotas, revocation, workflow and audit', async (t) => {
  const cluster = await startLocalCluster(t);
  const a = await buildTestApp(t, { redisUrl: cluster.url });
  const b = await buildTestApp(t, { redisUrl: cluster.url, sameRedisAs: a });
  const world = await buildWorld(t, a.context);
  const { amr, psb } = world.systems;
  const [idNumber] = sampleKeys('residents', 1);

  await grantPopulation(a, world, { items: ['idNumber', 'name'], quota: { perMinute: 3 } });
  const path = `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`;
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++)
    statuses.push((await signedInject(i % 2 ? b.app : a.app, amr, { method: 'GET', path })).statusCode);
  t.same(statuses, [200, 200, 200, 429, 429], 'the quota is shared by both instances');

  t.equal((await signedInject(b.app, psb, { method: 'GET', path })).json().code, 'GRANT_MISSING');
  await a.app.inject({
    method: 'POST',
    url: `/v1/certificates/${psb.serial}/revoke`,
    headers: a.auth({ sub: 's', role: 'security-admin' }),
    payload: { reason: 'superseded' },
  });
  let code = '';
  for (let i = 0; i < 100 && code !== 'CERT_REVOKED'; i++) {
    code = (await signedInject(b.app, psb, { method: 'GET', path })).json().code;
    if (code !== 'CERT_REVOKED') await new Promise((r) => setTimeout(r, 20));
  }
  t.equal(code, 'CERT_REVOKED', 'a revocation through A reaches B');

  // The workflow's queues run on the cluster too (hash-tagged BullMQ prefix).
  await a.app.workflow.startWorkers({ availability: false });
  const application = await b.app.inject({
    method: 'POST',
    url: '/v1/applications',
    headers: b.auth({ sub: 'amr-admin', role: 'dept-admin', dept: amr.deptCode }),
    payload: {
      systemId: amr.systemId,
      resourceCode: world.codes.enterprise,
      items: ['uscc', 'name'],
      purposes: ['market-supervision'],
      reason: '登记信息比对',
      modes: ['api'],
      validTo: new Date(Date.now() + 30 * 86400_000).toISOString(),
    },
  });
  t.equal(application.statusCode, 201, application.body);
  t.equal(application.json().state, 'granted', 'an unconditional resource is granted directly');

  const verify = await a.app.inject({ method: 'GET', url: '/v1/audit/verify', headers: a.auth(auditor) });
  t.equal(verify.json().ok, true, 'both instances’ audit chains verify');
  t.equal(verify.json().instances.length >= 2, true);
  const search = await b.app.inject({
    method: 'GET',
    url: `/v1/audit?subject=${idNumber}&limit=50`,
    headers: b.auth(auditor),
  });
  t.ok(search.json().records.length >= 5, 'search across instances and index slots');
});
