/**
 * Fail closed ([HB-S] 27): a change whose own audit record cannot be written is not made. These changes
 * write their record before the change (request.auditBefore): the statistics report the bureau publishes
 * (nothing stored, no department told), an emergency suspension or withdrawal of a resource (not filed,
 * not reported to the bureau), the bureau's direct grant (not granted, not reported to the provider) and
 * an emergency revocation of a grant (not revoked, not reported).
 * The audit sink refuses exactly that one record, as when Redis goes away just then.
 */
import t from 'tap';
import type { AuditRecord } from '../../../audit/record.js';
import type { GatewayContext } from '../../../gateway/app/context.js';
import { buildTestApp } from '../../helpers/app.js';
import { buildWorld, grantPopulation } from '../../helpers/world.js';
import {
  bureauActor,
  civilAdmin,
  ENTERPRISE,
  enterpriseApplication,
  marketAdmin,
} from '../../policies/applications/fixtures.js';
import { buildWorkflowApp } from '../jobs/workflow-app.js';

/** Makes the audit writer refuse records of `action` until the returned function is called. */
function refuseAudit(context: GatewayContext, action: string): () => void {
  const writer = context.audit;
  const append = writer.append.bind(writer);
  writer.append = (record: AuditRecord, ...rest: unknown[]) =>
    record.action === action
      ? Promise.reject(new Error('Redis went away'))
      : (append as (r: AuditRecord, ...x: unknown[]) => ReturnType<typeof append>)(record, ...rest);
  return () => {
    writer.append = append;
  };
}

t.test('a statistics report whose audit record fails is neither stored nor delivered', async (t) => {
  const gw = await buildWorkflowApp(t);
  gw.clock.set('2026-03-02T10:00:00+08:00');
  const publish = () =>
    gw.app.inject({
      method: 'POST',
      url: '/v1/stats/reports',
      headers: gw.as(bureauActor),
      payload: { period: '2026-02' },
    });
  const restore = refuseAudit(gw.context, 'stats.report.publish');
  const refused = await publish();
  t.equal(refused.statusCode, 503, refused.body);
  t.match(refused.json(), {
    code: 'SERVICE_UNAVAILABLE',
    detail: /stats\.report\.publish.*nothing was changed/,
  });
  t.same(await gw.workflow.reports.list(), [], 'no report stored');
  t.same(await gw.workflow.reports.deliveredTo('2026-02'), {}, 'no department told');
  const inbox = await gw.app.inject({ url: '/v1/inbox?type=stats.report', headers: gw.as(civilAdmin) });
  t.same(inbox.json().events, []);

  restore();
  const published = await publish();
  t.equal(published.statusCode, 201, 'published once the trail takes records again');
  t.equal((await gw.workflow.reports.list()).length, 1);
});

t.test('an emergency withdrawal whose audit record fails is not filed nor reported', async (t) => {
  const gw = await buildWorkflowApp(t);
  gw.clock.set('2026-03-02T10:00:00+08:00');
  await gw.workflow.applications.submit(civilAdmin, enterpriseApplication());
  const withdraw = () =>
    gw.app.inject({
      method: 'POST',
      url: `/v1/catalog/${encodeURIComponent(ENTERPRISE)}/withdraw`,
      headers: gw.as(marketAdmin),
      payload: { reason: '职能划转', effectiveFrom: '2026-03-03', emergency: '机构撤并，次日停止' },
    });
  const restore = refuseAudit(gw.context, 'catalog.emergency');
  const refused = await withdraw();
  t.equal(refused.statusCode, 503, refused.body);
  t.match(refused.json().detail, /catalog\.emergency.*nothing was changed/);
  const loaded = await gw.context.catalog.store.load(ENTERPRISE);
  t.equal(loaded?.resource.status.declared, 'active', 'no withdrawal filed');
  const bureauInbox = async () =>
    (await gw.app.inject({ url: '/v1/inbox?type=change.emergency', headers: gw.as(bureauActor) })).json()
      .events;
  t.same(await bureauInbox(), [], 'no emergency reported to the bureau');

  restore();
  const filed = await withdraw();
  t.equal(filed.statusCode, 200, filed.body);
  t.equal((await gw.context.catalog.store.load(ENTERPRISE))?.resource.status.declared, 'withdrawn');
  t.match(await bureauInbox(), [{ data: { resourceCode: ENTERPRISE, action: 'withdraw' } }]);
});

t.test("the bureau's direct grant whose audit record fails is not granted nor reported", async (t) => {
  const testApp = await buildTestApp(t);
  const world = await buildWorld(t, testApp.context);
  const bureau = testApp.auth({ sub: 'bureau-1', role: 'bureau' });
  const psbAdmin = testApp.auth({ sub: 'psb-admin', role: 'dept-admin', dept: world.systems.psb.deptCode });
  const restore = refuseAudit(testApp.context, 'grant.create');
  await t.rejects(grantPopulation(testApp, world), /"status":503.*grant\.create.*nothing was changed/s);
  const list = await testApp.app.inject({ method: 'GET', url: '/v1/grants', headers: bureau });
  t.equal(list.json().total, 0, 'nothing was granted');
  const inbox = async () =>
    (await testApp.app.inject({ url: '/v1/inbox?type=grant.direct', headers: psbAdmin })).json().events;
  t.same(await inbox(), [], 'the provider was told of nothing');

  restore();
  const grant = await grantPopulation(testApp, world);
  t.match(
    await inbox(),
    [{ data: { grantId: grant.id } }],
    'granted and reported once the trail takes records',
  );
});

t.test('an emergency revocation whose audit record fails is not made nor reported', async (t) => {
  const gw = await buildWorkflowApp(t);
  const application = await gw.workflow.applications.submit(civilAdmin, enterpriseApplication());
  const grantId = application.grantId!;
  const revoke = () =>
    gw.app.inject({
      method: 'POST',
      url: `/v1/grants/${grantId}/revoke`,
      headers: gw.as(marketAdmin),
      payload: { reason: '数据外泄', emergency: '发现批量导出，立即停止' },
    });
  const restore = refuseAudit(gw.context, 'grant.revoke');
  const refused = await revoke();
  t.equal(refused.statusCode, 503, refused.body);
  t.match(refused.json().detail, /grant\.revoke.*nothing was changed/);
  t.equal((await gw.context.grants.get(grantId))?.status, 'active', 'the grant is not revoked');
  const bureauInbox = async () =>
    (await gw.app.inject({ url: '/v1/inbox?type=change.emergency', headers: gw.as(bureauActor) })).json()
      .events;
  t.same(await bureauInbox(), [], 'no emergency reported to the bureau');

  restore();
  const revoked = await revoke();
  t.equal(revoked.statusCode, 200, revoked.body);
  t.equal((await gw.context.grants.get(grantId))?.status, 'revoked');
  t.match(await bureauInbox(), [{ data: { subject: 'grant', grantId, status: 'revoked' } }]);
});
