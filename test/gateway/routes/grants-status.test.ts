import t from 'tap';
import { buildTestApp } from '../../helpers/app.js';
import { buildWorld, grantPopulation } from '../../helpers/world.js';

t.test('nothing is granted on a resource that is suspended', async (t) => {
  const testApp = await buildTestApp(t);
  const world = await buildWorld(t, testApp.context);
  const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
  await testApp.context.catalog.suspend({ role: 'bureau', name: 'bureau-1' }, world.codes.population, {
    reason: '数据治理',
    effectiveFrom: today,
  });
  t.equal((await testApp.context.catalog.publishedEntry(world.codes.population))?.status, 'suspended');
  await t.rejects(
    grantPopulation(testApp, world, { items: ['idNumber', 'gender'] }),
    /"status":422,"detail":"resource [^"]* is suspended: nothing can be granted.*"code":"GRANT_INVALID"/s,
  );
});
