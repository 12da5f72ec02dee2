/**
 * Issue 18 item 5: every data call names the official acting through the system (x-user-id), covered by
 * the signature; only a grant the bureau marked machine-to-machine is exempt, and only on a platform
 * that allows machine calls (GOVSHARE_MACHINE_CALLS).
 */
import t from 'tap';
import { sampleKeys } from '../../../connectors/simulator/datasets.js';
import { buildTestApp } from '../../helpers/app.js';
import { buildWorld, enc, grantPopulation, signedInject } from '../../helpers/world.js';

const [idNumber] = sampleKeys('residents', 1);

t.test('a data call without x-user-id is refused and audited; with it, served', async (t) => {
  const testApp = await buildTestApp(t);
  const world = await buildWorld(t, testApp.context);
  await grantPopulation(testApp, world);
  const path = `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`;
  const anonymous = await signedInject(testApp.app, world.systems.amr, { method: 'GET', path, userId: '' });
  t.equal(anonymous.statusCode, 400, anonymous.body);
  t.match(anonymous.json(), { code: 'USER_ID_REQUIRED', detail: /signed x-user-id header/ });
  const served = await signedInject(testApp.app, world.systems.amr, {
    method: 'GET',
    path,
    userId: 'wang.keyuan',
  });
  t.equal(served.statusCode, 200, served.body);

  // Sent but left out of the signature: refused before any decision, so it cannot be swapped in transit.
  const unsigned = await signedInject(testApp.app, world.systems.amr, {
    method: 'GET',
    path,
    userId: 'wang.keyuan',
    sign: { components: ['@method', '@target-uri', 'x-purpose'] },
  });
  t.equal(unsigned.statusCode, 401, unsigned.body);
  t.equal(unsigned.json().code, 'SIG_COMPONENT_MISSING');
  t.match(unsigned.json().detail, /x-user-id/);
});

t.test(
  'machine-to-machine grants: marked by the bureau, honoured only when the platform allows',
  async (t) => {
    const strict = await buildTestApp(t);
    const world = await buildWorld(t, strict.context);
    const psbAdmin = { sub: 'psb-admin', role: 'dept-admin', dept: world.systems.psb.deptCode } as const;
    const byProvider = await strict.app.inject({
      method: 'POST',
      url: '/v1/grants',
      headers: strict.auth(psbAdmin),
      payload: {
        deptCode: world.systems.amr.deptCode,
        systemId: world.systems.amr.systemId,
        resourceCode: world.codes.population,
        items: ['idNumber', 'gender'],
        purposes: ['market-supervision'],
        modes: ['api'],
        validTo: new Date(Date.now() + 86400_000).toISOString(),
        machineToMachine: true,
      },
    });
    t.equal(byProvider.statusCode, 403, byProvider.body);
    t.match(byProvider.json(), { code: 'GRANT_FORBIDDEN', detail: /only the bureau may exempt a grant/ });

    const grant = await grantPopulation(strict, world, { machineToMachine: true });
    t.equal(grant.machineToMachine, true);
    const path = `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`;
    const call = (app: typeof strict.app) =>
      signedInject(app, world.systems.amr, { method: 'GET', path, userId: '' });
    const refused = await call(strict.app);
    t.equal(refused.statusCode, 400, 'the platform does not allow machine calls by default');
    t.equal(refused.json().code, 'USER_ID_REQUIRED');

    const relaxed = await buildTestApp(t, { sameRedisAs: strict, env: { GOVSHARE_MACHINE_CALLS: 'true' } });
    const served = await call(relaxed.app);
    t.equal(served.statusCode, 200, served.body);
  },
);
