import t from 'tap';
import { sampleKeys } from '../../../connectors/simulator/datasets.js';
import { buildTestApp } from '../../helpers/app.js';
import { buildWorld, enc, signedInject } from '../../helpers/world.js';

const bureau = { sub: 'bureau-1', role: 'bureau' } as const;
const [idNumber] = sampleKeys('residents', 1);

t.test('time-bound refusals: an expired grant, an expired certificate, a suspended resource', async (t) => {
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);
  const { app, context, auth } = await buildTestApp(t, { now });
  const world = await buildWorld(t, context);
  const { amr, psb } = world.systems;
  const grant = await app.inject({
    method: 'POST',
    url: '/v1/grants',
    headers: auth(bureau),
    payload: {
      deptCode: amr.deptCode,
      systemId: amr.systemId,
      resourceCode: world.codes.population,
      items: ['idNumber', 'gender'],
      purposes: ['market-supervision'],
      modes: ['api'],
      validTo: new Date(Date.now() + 2 * 86400_000).toISOString(),
      basis: '《政务信息资源共享管理办法》第二十一条',
    },
  });
  t.equal(grant.statusCode, 201);
  const path = `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`;
  t.equal((await signedInject(app, amr, { method: 'GET', path })).statusCode, 200);

  // Three days later (the client's clock agrees, so the signature window is fine).
  offsetMs = 3 * 86400_000;
  const created = () => Math.floor(now().getTime() / 1000);
  const expired = await signedInject(app, amr, { method: 'GET', path, sign: { created: created() } });
  t.equal(expired.statusCode, 403);
  t.equal(expired.json().code, 'GRANT_EXPIRED');

  // Two years later the one-year certificate itself has expired.
  offsetMs = 2 * 365 * 86400_000;
  const oldCert = await signedInject(app, psb, { method: 'GET', path, sign: { created: created() } });
  t.equal(oldCert.statusCode, 401);
  t.equal(oldCert.json().code, 'CERT_EXPIRED');
});

t.test('a resource suspended by its provider is refused at once', async (t) => {
  const { app, context, auth } = await buildTestApp(t);
  const world = await buildWorld(t, context);
  const { amr } = world.systems;
  await app.inject({
    method: 'POST',
    url: '/v1/grants',
    headers: auth(bureau),
    payload: {
      deptCode: amr.deptCode,
      systemId: amr.systemId,
      resourceCode: world.codes.population,
      items: ['idNumber', 'gender'],
      purposes: ['market-supervision'],
      modes: ['api'],
      validTo: new Date(Date.now() + 86400_000).toISOString(),
      basis: '《政务信息资源共享管理办法》第二十一条',
    },
  });
  const path = `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`;
  t.equal((await signedInject(app, amr, { method: 'GET', path })).statusCode, 200);
  const provider = { sub: 'psb-admin', role: 'dept-admin', dept: world.systems.psb.deptCode } as const;
  const suspend = await app.inject({
    method: 'POST',
    url: `/v1/catalog/${enc(world.codes.population)}/suspend`,
    headers: auth(provider),
    payload: {
      reason: '数据治理',
      effectiveFrom: new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10),
      emergency: '数据泄露风险，立即暂停',
    },
  });
  t.equal(suspend.statusCode, 200);
  const refused = await signedInject(app, amr, { method: 'GET', path });
  t.equal(refused.statusCode, 403);
  t.equal(refused.json().code, 'RESOURCE_SUSPENDED');
});
