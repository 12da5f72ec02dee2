import t from 'tap';
import { DEMO_CODES, DEMO_DEPARTMENTS, demoCatalog } from '../../../scripts/lib/demo-catalog.js';
import { buildTestApp } from '../../helpers/app.js';

const { publicSecurity: PSB, marketRegulation: AMR } = DEMO_DEPARTMENTS;
const bureau = { sub: 'bureau-1', role: 'bureau' } as const;
const psbAdmin = { sub: 'psb-admin', role: 'dept-admin', dept: PSB.code } as const;
const amrAdmin = { sub: 'amr-admin', role: 'dept-admin', dept: AMR.code } as const;
const auditor = { sub: 'auditor-1', role: 'auditor' } as const;
const entries = demoCatalog('http://127.0.0.1:9');
const population = entries.find((e) => e.code === DEMO_CODES.population)!;
const enc = (code: string) => encodeURIComponent(code);

t.test('catalog lifecycle, ownership and search over HTTP', async (t) => {
  const { app, context, auth } = await buildTestApp(t);
  for (const dept of [PSB, AMR])
    await context.certs.addDepartment({ code: dept.code, name: dept.name }, new Date());

  const foreign = await app.inject({
    method: 'POST',
    url: '/v1/catalog',
    headers: auth(amrAdmin),
    payload: population,
  });
  t.equal(foreign.statusCode, 403, "a dept-admin cannot draft another department's entry");
  t.equal(foreign.json().code, 'CATALOG_NOT_OWNER');

  const draft = await app.inject({
    method: 'POST',
    url: '/v1/catalog',
    headers: auth(psbAdmin),
    payload: population,
  });
  t.equal(draft.statusCode, 201);
  t.equal(draft.json().version.state, 'draft');

  const hiddenDraft = await app.inject({
    method: 'GET',
    url: `/v1/catalog/${enc(population.code)}`,
    headers: auth(amrAdmin),
  });
  t.equal(hiddenDraft.statusCode, 404, 'drafts are invisible to other departments');

  const foreignSubmit = await app.inject({
    method: 'POST',
    url: `/v1/catalog/${enc(population.code)}/submit`,
    headers: auth(amrAdmin),
  });
  t.equal(foreignSubmit.statusCode, 403);
  const bureauApprovesDraft = await app.inject({
    method: 'POST',
    url: `/v1/catalog/${enc(population.code)}/approve`,
    headers: auth(bureau),
    payload: {},
  });
  t.equal(bureauApprovesDraft.statusCode, 409, 'a draft cannot be approved before it is submitted');
  t.equal(bureauApprovesDraft.json().code, 'CATALOG_ILLEGAL_TRANSITION');

  t.equal(
    (
      await app.inject({
        method: 'POST',
        url: `/v1/catalog/${enc(population.code)}/submit`,
        headers: auth(psbAdmin),
      })
    ).statusCode,
    200,
  );
  const adminApproves = await app.inject({
    method: 'POST',
    url: `/v1/catalog/${enc(population.code)}/approve`,
    headers: auth(psbAdmin),
    payload: {},
  });
  t.equal(adminApproves.statusCode, 403, 'only the bureau approves');
  t.equal(adminApproves.json().code, 'ROLE_FORBIDDEN');
  const approved = await app.inject({
    method: 'POST',
    url: `/v1/catalog/${enc(population.code)}/approve`,
    headers: auth(bureau),
    payload: { reason: 'ok' },
  });
  t.equal(approved.statusCode, 200);
  t.equal(approved.json().version.state, 'published');

  const change = { ...population, summary: `${population.summary}（新增说明）` };
  const proposed = await app.inject({
    method: 'POST',
    url: `/v1/catalog/${enc(population.code)}/versions`,
    headers: auth(psbAdmin),
    payload: change,
  });
  t.equal(proposed.statusCode, 201);
  t.equal(proposed.json().version.version, 2);
  const seen = await app.inject({
    method: 'GET',
    url: `/v1/catalog/${enc(population.code)}`,
    headers: auth(amrAdmin),
  });
  t.equal(seen.json().current.version, 1, 'version 1 stays in force while version 2 is a draft');

  const search = await app.inject({
    method: 'GET',
    url: `/v1/catalog?q=${encodeURIComponent('人口')}`,
    headers: auth(auditor),
  });
  t.equal(search.statusCode, 200);
  t.same(
    search.json().items.map((i: { code: string }) => i.code),
    [population.code],
  );
  const none = await app.inject({
    method: 'GET',
    url: '/v1/catalog?shareType=conditional',
    headers: auth(auditor),
  });
  t.equal(none.json().total, 0);

  const schema = await app.inject({
    method: 'GET',
    url: `/v1/catalog/${enc(population.code)}/schema`,
    headers: auth(amrAdmin),
  });
  t.same(schema.json().required.includes('idNumber'), true);

  const suspendNoReason = await app.inject({
    method: 'POST',
    url: `/v1/catalog/${enc(population.code)}/suspend`,
    headers: auth(psbAdmin),
    payload: {},
  });
  t.equal(suspendNoReason.statusCode, 400, 'a suspension needs a reason');
  const suspended = await app.inject({
    method: 'POST',
    url: `/v1/catalog/${enc(population.code)}/suspend`,
    headers: auth(psbAdmin),
    payload: {
      reason: '系统升级',
      effectiveFrom: new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10),
      emergency: '前置机故障，立即暂停',
    },
  });
  t.equal(suspended.statusCode, 200);
  t.equal(suspended.json().effectiveStatus, 'suspended');

  const versions = await app.inject({
    method: 'GET',
    url: `/v1/catalog/${enc(population.code)}/versions`,
    headers: auth(psbAdmin),
  });
  t.same(
    versions.json().versions.map((v: { version: number }) => v.version),
    [1, 2],
  );
});

t.test('bad catalog input is refused with a problem detail', async (t) => {
  const { app, context, auth } = await buildTestApp(t);
  await context.certs.addDepartment({ code: PSB.code, name: PSB.name }, new Date());
  const noLegalBasis = {
    ...entries.find((e) => e.code === DEMO_CODES.criminalCases)!,
    share: { type: 'none', modes: ['api'] },
  };
  const res = await app.inject({
    method: 'POST',
    url: '/v1/catalog',
    headers: auth(psbAdmin),
    payload: noLegalBasis,
  });
  t.equal(res.statusCode, 422);
  t.equal(res.json().code, 'CATALOG_LEGAL_BASIS_REQUIRED');
  const badCode = await app.inject({
    method: 'GET',
    url: '/v1/catalog/..%2F..%2Fetc',
    headers: auth(psbAdmin),
  });
  t.equal(badCode.statusCode, 400);
  const unknown = await app.inject({
    method: 'GET',
    url: `/v1/catalog/${enc('101001/999999')}`,
    headers: auth(psbAdmin),
  });
  t.equal(unknown.statusCode, 404);
  const badQuery = await app.inject({
    method: 'GET',
    url: '/v1/catalog?pageSize=1000',
    headers: auth(psbAdmin),
  });
  t.equal(badQuery.statusCode, 400);
  t.equal(badQuery.json().code, 'VALIDATION_FAILED');

  const imported = await app.inject({
    method: 'POST',
    url: '/v1/catalog/import',
    headers: auth(bureau),
    payload: [population],
  });
  t.equal(imported.statusCode, 200);
  t.equal(imported.json().created, 1);
  const badImport = await app.inject({
    method: 'POST',
    url: '/v1/catalog/import',
    headers: auth(bureau),
    payload: { nope: true },
  });
  t.equal(badImport.statusCode, 422);
});
