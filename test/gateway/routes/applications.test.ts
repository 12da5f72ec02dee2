import t from 'tap';
import { searchAudit } from '../../../audit/search.js';
import {
  bureauActor,
  CIVIL_AFFAIRS,
  civilAdmin,
  ENTERPRISE,
  enterpriseApplication,
  hrAdmin,
  insuranceApplication,
  MEDICAL_SECURITY,
  medicalAdmin,
  POPULATION,
  SOCIAL_INSURANCE,
} from '../../policies/applications/fixtures.js';
import { buildWorkflowApp } from '../jobs/workflow-app.js';

type Gateway = Awaited<ReturnType<typeof buildWorkflowApp>>;
type Actor = Parameters<Gateway['as']>[0];

function caller(gw: Gateway) {
  return async (actor: Actor, method: 'GET' | 'POST', url: string, payload?: object) => {
    const res = await gw.app.inject({ method, url, headers: gw.as(actor), ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json() };
  };
}

t.test('every path of an application over HTTP, each transition audited', async (t) => {
  const gw = await buildWorkflowApp(t);
  const call = caller(gw);

  // Direct grant: unconditional without control parameters.
  const direct = await call(civilAdmin, 'POST', '/v1/applications', enterpriseApplication());
  t.equal(direct.status, 201);
  t.match(direct.body, {
    state: 'granted',
    path: 'direct',
    consumerDept: CIVIL_AFFAIRS,
    resourceCode: ENTERPRISE,
  });
  t.equal((await gw.context.grants.get(direct.body.grantId))?.status, 'active');

  // Checked and rejected.
  const rejectedApp = await call(
    medicalAdmin,
    'POST',
    '/v1/applications',
    insuranceApplication({ systemId: 'claims' }),
  );
  t.equal(rejectedApp.body.state, 'checking');
  const noReason = await call(bureauActor, 'POST', `/v1/applications/${rejectedApp.body.id}/check`, {
    outcome: 'reject',
  });
  t.equal(noReason.status, 422);
  t.equal(noReason.body.code, 'APPLICATION_REASON_REQUIRED');
  const rejected = await call(bureauActor, 'POST', `/v1/applications/${rejectedApp.body.id}/check`, {
    outcome: 'reject',
    reason: '申请理由不充分',
  });
  t.match(rejected.body, {
    state: 'rejected',
    history: [{ action: 'submit' }, { action: 'reject', reason: '申请理由不充分' }],
  });

  // Forwarded and authorized with narrowed items.
  const forwarded = await call(civilAdmin, 'POST', '/v1/applications', insuranceApplication());
  await call(bureauActor, 'POST', `/v1/applications/${forwarded.body.id}/check`, { outcome: 'accept' });
  gw.clock.set('2026-03-04T16:00:00+08:00');
  const authorized = await call(hrAdmin, 'POST', `/v1/applications/${forwarded.body.id}/authorize`, {
    items: ['idNumber', 'monthsPaid'],
    masking: { idNumber: 'default' },
    reason: '只提供核定所需信息项',
  });
  t.equal(authorized.status, 200, JSON.stringify(authorized.body));
  t.equal(authorized.body.application.state, 'granted');
  t.same(authorized.body.grant.items, ['idNumber', 'monthsPaid'], 'exactly the narrowed items');
  t.same(authorized.body.grant.source, { kind: 'application', applicationId: forwarded.body.id });
  const held = await gw.context.grants.findActive(CIVIL_AFFAIRS, 'assistance', SOCIAL_INSURANCE);
  t.same(held?.items, ['idNumber', 'monthsPaid'], 'the data path will find this grant');

  // Forwarded and refused.
  const refusedApp = await call(
    medicalAdmin,
    'POST',
    '/v1/applications',
    insuranceApplication({ systemId: 'claims' }),
  );
  await call(bureauActor, 'POST', `/v1/applications/${refusedApp.body.id}/check`, { outcome: 'accept' });
  const refused = await call(hrAdmin, 'POST', `/v1/applications/${refusedApp.body.id}/refuse`, {
    reason: '不属于共享条件所列事项',
  });
  t.match(refused.body, {
    state: 'refused',
    stages: [{ name: 'check' }, { name: 'authorize' }, { name: 'notify' }],
  });

  // Withdrawn while pending; then nothing more can happen to it.
  const pending = await call(civilAdmin, 'POST', '/v1/applications', {
    ...insuranceApplication({ resourceCode: POPULATION, items: ['idNumber', 'name'] }),
  });
  t.equal(pending.body.path, 'authorization', 'control parameters: the provider authorizes');
  const withdrawn = await call(civilAdmin, 'POST', `/v1/applications/${pending.body.id}/withdraw`, {
    reason: '已通过其他途径获取',
  });
  t.equal(withdrawn.body.state, 'withdrawn');
  const late = await call(bureauActor, 'POST', `/v1/applications/${pending.body.id}/check`, {
    outcome: 'accept',
  });
  t.equal(late.status, 409);
  t.equal(late.body.code, 'APPLICATION_ILLEGAL_TRANSITION');
  t.match(late.body.detail, /is withdrawn: cannot accept/);

  // Listing per role.
  const ids = async (actor: Actor, query = '') =>
    (await call(actor, 'GET', `/v1/applications${query}`)).body.applications
      .map((a: { id: string }) => a.id)
      .sort();
  t.same(await ids(civilAdmin), [direct.body.id, forwarded.body.id, pending.body.id].sort());
  t.same(await ids(medicalAdmin), [rejectedApp.body.id, refusedApp.body.id].sort());
  t.same(await ids(hrAdmin), [rejectedApp.body.id, forwarded.body.id, refusedApp.body.id].sort());
  t.equal((await ids(bureauActor)).length, 5);
  t.same(await ids(bureauActor, `?dept=${MEDICAL_SECURITY}&state=refused`), [refusedApp.body.id]);
  t.same(await ids(bureauActor, `?resource=${encodeURIComponent(ENTERPRISE)}`), [direct.body.id]);
  t.same(
    await ids({ role: 'auditor', name: '审计 周' }, '?state=granted'),
    [direct.body.id, forwarded.body.id].sort(),
  );

  const trail = await searchAudit(gw.context.redis, gw.context.prefix, gw.context.platform.subjectHmacKey, {
    limit: 500,
  });
  const audited = trail.records
    .filter((r) => r.action.startsWith('application.'))
    .map((r) => r.action)
    .sort();
  t.same(audited, [
    'application.accept',
    'application.accept',
    'application.authorize',
    'application.refuse',
    'application.reject',
    'application.submit',
    'application.submit',
    'application.submit',
    'application.submit',
    'application.submit',
    'application.withdraw',
  ]);
  const refusal = trail.records.find((r) => r.action === 'application.refuse');
  t.match(refusal, {
    actor: { person: hrAdmin.name, role: 'dept-admin', deptCode: hrAdmin.dept },
    detail: { application: refusedApp.body.id },
  });
});

t.test('refused at submission with problem details', async (t) => {
  const gw = await buildWorkflowApp(t);
  const call = caller(gw);
  const cases: [object, number, string][] = [
    [enterpriseApplication({ items: ['uscc', 'shoeSize'] }), 422, 'APPLICATION_ITEM_UNKNOWN'],
    [enterpriseApplication({ deptCode: MEDICAL_SECURITY, systemId: 'claims' }), 403, 'APPLICATION_FORBIDDEN'],
    [enterpriseApplication({ systemId: 'claims' }), 422, 'APPLICATION_SYSTEM_UNKNOWN'],
    [{ ...enterpriseApplication(), reason: undefined }, 400, 'VALIDATION_FAILED'],
    [{ ...enterpriseApplication(), extra: 1 }, 400, 'VALIDATION_FAILED'],
  ];
  for (const [payload, status, code] of cases) {
    const res = await call(civilAdmin, 'POST', '/v1/applications', payload);
    t.equal(res.status, status, code);
    t.equal(res.body.code, code);
    t.type(res.body.detail, 'string');
  }
  const missing = await call(civilAdmin, 'GET', '/v1/applications/APP-20260302-000999');
  t.equal(missing.status, 404);
  t.equal(missing.body.code, 'APPLICATION_NOT_FOUND');
});
