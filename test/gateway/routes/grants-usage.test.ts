/**
 * GET /v1/grants/usage: who uses a resource and how much of each grant's quota is used today, for the
 * provider department's administrators and the bureau only.
 */
import t from 'tap';
import { buildTestApp } from '../../helpers/app.js';
import { buildWorld, enc, grantPopulation, signedInject } from '../../helpers/world.js';

t.test("a provider reads its resource's grants with the quota used today; nobody else's", async (t) => {
  const gw = await buildTestApp(t);
  const world = await buildWorld(t, gw.context);
  const { amr, hrss, psb } = world.systems;
  const limited = await grantPopulation(gw, world, { quota: { perDay: 100, perMinute: 50 } });
  const unlimited = await grantPopulation(gw, world, { deptCode: hrss.deptCode, systemId: hrss.systemId });
  for (const idNumber of ['11010519491231002X', '440524188001010014', '11010519491231002X']) {
    const call = await signedInject(gw.app, amr, {
      method: 'GET',
      path: `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`,
    });
    t.equal(call.statusCode, 200, call.body);
  }
  const read = (
    person: Parameters<typeof gw.auth>[0],
    query = `resourceCode=${enc(world.codes.population)}`,
  ) => gw.app.inject({ method: 'GET', url: `/v1/grants/usage?${query}`, headers: gw.auth(person) });

  const provider = { sub: 'wu.gang', role: 'dept-admin', dept: psb.deptCode } as const;
  const res = await read(provider);
  t.equal(res.statusCode, 200, res.body);
  const body = res.json();
  t.equal(body.resourceCode, world.codes.population);
  t.match(body.day, /^\d{4}-\d{2}-\d{2}$/);
  t.equal(body.total, 2);
  const byId = new Map(body.grants.map((g: { grant: { id: string } }) => [g.grant.id, g]));
  const used = byId.get(limited.id) as {
    grant: { deptCode: string };
    usage: { today: number; thisMinute: number };
  };
  t.equal(used.grant.deptCode, amr.deptCode, 'the consumer is named');
  t.equal(used.usage.today, 3, 'three calls today');
  t.ok(used.usage.thisMinute >= 0 && used.usage.thisMinute <= 3);
  t.notOk((byId.get(unlimited.id) as { usage?: unknown }).usage, 'a grant without limits counts nothing');
  const again = (await read(provider)).json();
  t.same(again.grants, body.grants, 'reading twice answers the same: a read counts no call');

  const bureau = await read({ sub: 'zhao.lei', role: 'bureau' });
  t.equal(bureau.statusCode, 200, 'the bureau reads every resource');

  const consumer = await read({ sub: 'li.na', role: 'dept-admin', dept: amr.deptCode });
  t.equal(consumer.statusCode, 403);
  t.equal(consumer.json().code, 'DEPARTMENT_FORBIDDEN', "a consumer does not read the provider's view");
  for (const role of ['auditor', 'security-admin'] as const) {
    const refused = await read({ sub: 'x', role });
    t.equal(refused.json().code, 'ROLE_FORBIDDEN', `${role} is refused`);
  }
  const unknown = await read(provider, `resourceCode=${enc('101001/999999')}`);
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().code, 'CATALOG_NOT_FOUND');
  const missing = await read(provider, '');
  t.equal(missing.statusCode, 400);
  t.equal(missing.json().code, 'VALIDATION_FAILED');
});
