/**
 * Direct grants (POST /v1/grants) after issue 18 item 1: conditional access comes only out of an authorized
 * application; the bureau's direct grant of an unconditional resource states its legal basis, which is
 * recorded, audited and reported to the provider department ([HB-S] 19-21).
 */
import t from 'tap';
import { buildTestApp } from '../../helpers/app.js';
import { buildWorld, grantPopulation } from '../../helpers/world.js';

const bureau = { sub: 'bureau-1', role: 'bureau' } as const;

t.test("the provider's dept-admin cannot grant its conditional resource directly", async (t) => {
  const testApp = await buildTestApp(t);
  const world = await buildWorld(t, testApp.context);
  const hrssAdmin = { sub: 'hr-admin', role: 'dept-admin', dept: world.systems.hrss.deptCode } as const;
  const res = await testApp.app.inject({
    method: 'POST',
    url: '/v1/grants',
    headers: testApp.auth(hrssAdmin),
    payload: {
      deptCode: world.systems.amr.deptCode,
      systemId: world.systems.amr.systemId,
      resourceCode: world.codes.socialInsurance,
      items: ['idNumber', 'insuranceType'],
      purposes: ['market-supervision'],
      modes: ['api'],
      validTo: new Date(Date.now() + 86400_000).toISOString(),
      basis: 'the provider agrees',
    },
  });
  t.equal(res.statusCode, 403, res.body);
  t.match(res.json(), {
    code: 'GRANT_APPLICATION_REQUIRED',
    detail: /shared on conditions: the consumer applies \(POST \/v1\/applications\)/,
  });
  const list = await testApp.app.inject({ method: 'GET', url: '/v1/grants', headers: testApp.auth(bureau) });
  t.equal(list.json().total, 0, 'nothing was granted');
});

t.test("the bureau's direct grant needs a basis, records it and reports it to the provider", async (t) => {
  const testApp = await buildTestApp(t);
  const world = await buildWorld(t, testApp.context);
  await t.rejects(
    grantPopulation(testApp, world, { basis: undefined }),
    /"status":422.*"code":"GRANT_BASIS_REQUIRED"/s,
  );
  const grant = await grantPopulation(testApp, world, { basis: '依《办法》第二十一条直接授权' });
  t.equal(grant.basis, '依《办法》第二十一条直接授权');
  t.match(grant.source, { kind: 'direct' });

  const psbAdmin = { sub: 'psb-admin', role: 'dept-admin', dept: world.systems.psb.deptCode } as const;
  const inbox = await testApp.app.inject({
    method: 'GET',
    url: '/v1/inbox?type=grant.direct',
    headers: testApp.auth(psbAdmin),
  });
  t.equal(inbox.statusCode, 200, inbox.body);
  const events = inbox.json().events;
  t.equal(events.length, 1, 'the provider department is told of the direct grant');
  t.match(events[0], {
    type: 'grant.direct',
    data: {
      grantId: grant.id,
      resourceCode: world.codes.population,
      consumerDept: world.systems.amr.deptCode,
      providerDept: world.systems.psb.deptCode,
      basis: '依《办法》第二十一条直接授权',
      grantedBy: { role: 'bureau' },
    },
  });
  const hrssAdmin = { sub: 'hr-admin', role: 'dept-admin', dept: world.systems.hrss.deptCode } as const;
  const other = await testApp.app.inject({
    method: 'GET',
    url: '/v1/inbox',
    headers: testApp.auth(hrssAdmin),
  });
  t.same(other.json().events, [], 'an unrelated department is not told');
  const peek = await testApp.app.inject({
    method: 'GET',
    url: `/v1/inbox?owner=${world.systems.psb.deptCode}`,
    headers: testApp.auth(hrssAdmin),
  });
  t.equal(peek.statusCode, 403, "another department's inbox is not readable");
});
