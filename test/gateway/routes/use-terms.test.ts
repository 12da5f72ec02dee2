/**
 * The data-use agreement ([XY] 25, 33; [HC-R] 37) and the onward-disclosure restriction ([HB-S] 14;
 * [HC-R] 37) on the signed data path: a call waits for the acceptance of the terms in force (the problem
 * names the version), a new version needs a new acceptance, the acceptance records the person and the
 * time; every data response states whether the data may be passed on, and to whom the provider consented.
 */
import t from 'tap';
import { searchAudit } from '../../../audit/search.js';
import { sampleKeys } from '../../../connectors/simulator/datasets.js';
import { DEMO_DEPARTMENTS } from '../../../scripts/lib/demo-catalog.js';
import { buildTestApp } from '../../helpers/app.js';
import { buildWorld, enc, grantPopulation, signedInject } from '../../helpers/world.js';

const bureau = { sub: 'bureau-1', role: 'bureau' } as const;
const amrAdmin = {
  sub: '市场监管局 赵管理',
  role: 'dept-admin',
  dept: DEMO_DEPARTMENTS.marketRegulation.code,
} as const;
const psbAdmin = {
  sub: '公安局 王管理',
  role: 'dept-admin',
  dept: DEMO_DEPARTMENTS.publicSecurity.code,
} as const;
const hrAdmin = {
  sub: '人社局 刘管理',
  role: 'dept-admin',
  dept: DEMO_DEPARTMENTS.humanResources.code,
} as const;
const platformActor = { role: 'system', name: 'test setup' } as const;

t.test('terms accepted before the first call; a new version again; onward disclosure stated', async (t) => {
  const target = await buildTestApp(t, { now: () => new Date() });
  const { app, context, auth } = target;
  const world = await buildWorld(t, context);
  const { amr } = world.systems;
  const code = world.codes.population;
  const [idNumber] = sampleKeys('residents', 1);
  const grant = await grantPopulation(target, world);
  const send = (person: object, method: 'GET' | 'POST', url: string, payload?: object) =>
    app.inject({ method, url, headers: auth(person as typeof bureau), ...(payload ? { payload } : {}) });
  const call = () =>
    signedInject(app, amr, { method: 'GET', path: `/v1/data/${enc(code)}?idNumber=${idNumber}` });

  /** Calls until the answer has `status`: the gateway's catalog cache follows a change within moments. */
  const settle = async (status: number) => {
    for (let i = 0; i < 100; i++) {
      const res = await call();
      if (res.statusCode === status) return res;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`the data path never answered ${status}`);
  };
  const before = await call();
  t.equal(before.statusCode, 200, 'a resource without terms needs no acceptance');
  t.equal(before.headers['x-govshare-onward-disclosure'], 'forbidden', 'own use only');

  const population = (await context.catalog.publishedEntry(code))!.entry;
  const useTerms = { version: '2026-1', terms: '仅限市场监管用途', undertaking: '严格保密，不向第三方提供' };
  await context.catalog.importEntry(platformActor, { ...population, useTerms });
  const refused = await settle(403);
  t.equal(refused.statusCode, 403);
  t.equal(refused.json().code, 'TERMS_NOT_ACCEPTED');
  t.match(refused.json().detail, /version 2026-1 .*POST \/v1\/catalog\/101001%2F000001\/terms\/acceptances/);

  const read = await send(amrAdmin, 'GET', `/v1/catalog/${enc(code)}/terms`);
  t.match(read.json(), { code, useTerms, required: false });
  t.notOk(read.json().accepted, 'nothing accepted yet');
  const stale = await send(amrAdmin, 'POST', `/v1/catalog/${enc(code)}/terms/acceptances`, {
    version: '2025-9',
  });
  t.same([stale.statusCode, stale.json().code], [409, 'TERMS_VERSION_STALE']);
  const byBureau = await send(bureau, 'POST', `/v1/catalog/${enc(code)}/terms/acceptances`, {
    version: '2026-1',
  });
  t.same([byBureau.statusCode, byBureau.json().code], [403, 'ROLE_FORBIDDEN']);
  const accepted = await send(amrAdmin, 'POST', `/v1/catalog/${enc(code)}/terms/acceptances`, {
    version: '2026-1',
  });
  t.equal(accepted.statusCode, 201, accepted.body);
  t.match(accepted.json(), {
    resourceCode: code,
    deptCode: amr.deptCode,
    version: '2026-1',
    acceptedBy: { role: 'dept-admin', name: '市场监管局 赵管理' },
  });
  t.ok(Date.parse(accepted.json().acceptedAt) > 0, 'with the time');
  t.equal((await call()).statusCode, 200, 'served once accepted');

  await context.catalog.importEntry(platformActor, {
    ...population,
    useTerms: { ...useTerms, version: '2026-2' },
  });
  const again = await settle(403);
  t.same([again.statusCode, again.json().code], [403, 'TERMS_NOT_ACCEPTED']);
  t.match(again.json().detail, /version 2026-2 .*\(it accepted 2026-1\)/);
  await send(amrAdmin, 'POST', `/v1/catalog/${enc(code)}/terms/acceptances`, { version: '2026-2' });
  t.equal((await call()).statusCode, 200);

  const byProvider = await send(psbAdmin, 'GET', `/v1/catalog/${enc(code)}/terms/acceptances`);
  t.same(
    byProvider.json().acceptances.map((a: { version: string }) => a.version),
    ['2026-1', '2026-2'],
  );
  const byOther = await send(hrAdmin, 'GET', `/v1/catalog/${enc(code)}/terms/acceptances`);
  t.same(byOther.json().acceptances, [], 'another consumer sees only its own');

  // Onward disclosure: only the provider consents, never to the consumer itself; the header follows.
  const consentUrl = `/v1/grants/${grant.id}/onward-consents`;
  const consent = {
    recipientDept: DEMO_DEPARTMENTS.humanResources.code,
    recipientName: DEMO_DEPARTMENTS.humanResources.name,
    purpose: '就业失业登记核验',
    document: '武公函〔2026〕15号',
  };
  const byConsumer = await send(amrAdmin, 'POST', consentUrl, consent);
  t.same([byConsumer.statusCode, byConsumer.json().code], [403, 'ONWARD_CONSENT_FORBIDDEN']);
  const toItself = await send(psbAdmin, 'POST', consentUrl, { ...consent, recipientDept: amr.deptCode });
  t.same([toItself.statusCode, toItself.json().code], [422, 'ONWARD_CONSENT_INVALID']);
  const consented = await send(psbAdmin, 'POST', consentUrl, consent);
  t.equal(consented.statusCode, 200, consented.body);
  t.match(consented.json().onwardConsents, [
    { ...consent, consentedBy: { role: 'dept-admin', name: '公安局 王管理' } },
  ]);
  const after = await call();
  t.equal(
    after.headers['x-govshare-onward-disclosure'],
    `consented; recipients="${DEMO_DEPARTMENTS.humanResources.code}"`,
  );

  const trail = await searchAudit(context.redis, context.prefix, context.platform.subjectHmacKey, {
    limit: 200,
  });
  t.ok(
    trail.records.some((r) => r.action === 'terms.accept'),
    'acceptance audited',
  );
  t.ok(
    trail.records.some((r) => r.action === 'grant.onward-consent'),
    'consent audited',
  );
  t.ok(
    trail.records.some((r) => r.reasonCode === 'TERMS_NOT_ACCEPTED'),
    'the refused call is audited with its code',
  );
});

t.test('with GOVSHARE_REQUIRE_USE_TERMS a resource without terms is refused', async (t) => {
  const target = await buildTestApp(t, { env: { GOVSHARE_REQUIRE_USE_TERMS: 'true' } });
  const world = await buildWorld(t, target.context);
  await grantPopulation(target, world);
  const [idNumber] = sampleKeys('residents', 1);
  const res = await signedInject(target.app, world.systems.amr, {
    method: 'GET',
    path: `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`,
  });
  t.same([res.statusCode, res.json().code], [403, 'RESOURCE_TERMS_MISSING']);
});
