/**
 * Issue 18 item 2: a suspension or withdrawal of a resource or a grant takes effect no earlier than the
 * notice period (5 working days by default, counted with the working-day calendar), is announced at once
 * to the consumers and applied by a delayed job on the deadlines queue; sooner only with an emergency
 * reason, recorded and reported to the bureau. Real Redis and BullMQ workers, the platform clock fixed at
 * Monday 2026-03-02 10:00 CST (5 working days later is Monday 2026-03-09).
 */
import t from 'tap';
import { searchAudit } from '../../../audit/search.js';
import type { Timer } from '../../../policies/applications/schema.js';
import {
  bureauActor,
  CIVIL_AFFAIRS,
  civilAdmin,
  ENTERPRISE,
  enterpriseApplication,
  marketAdmin,
} from '../../policies/applications/fixtures.js';
import { buildWorkflowApp, eventually } from './workflow-app.js';

type Gateway = Awaited<ReturnType<typeof buildWorkflowApp>>;

async function inbox(gw: Gateway, actor: typeof civilAdmin, type: string) {
  const res = await gw.app.inject({ method: 'GET', url: `/v1/inbox?type=${type}`, headers: gw.as(actor) });
  return res.json().events as { type: string; data: Record<string, unknown> }[];
}

t.test(
  'a grant suspension is filed with notice, announced now and applied by the worker at its time',
  async (t) => {
    const gw = await buildWorkflowApp(t);
    await gw.workflow.startWorkers({ webhooks: false, availability: false });
    const app = await gw.workflow.applications.submit(civilAdmin, enterpriseApplication());
    const grantId = app.grantId!;
    const suspend = (payload: Record<string, unknown>) =>
      gw.app.inject({
        method: 'POST',
        url: `/v1/grants/${grantId}/suspend`,
        headers: gw.as(marketAdmin),
        payload,
      });

    const immediate = await suspend({ reason: '核查使用情况' });
    t.equal(immediate.statusCode, 422, immediate.body);
    t.match(immediate.json(), {
      code: 'NOTICE_TOO_SHORT',
      detail:
        /needs 5 working days of notice .* give effectiveFrom 2026-03-09 or later, or state an emergency reason/,
    });
    t.equal(
      (await suspend({ reason: '核查', effectiveFrom: '2026-03-06' })).statusCode,
      422,
      'four working days',
    );
    t.equal((await gw.context.grants.get(grantId))?.status, 'active', 'nothing changed');

    const filed = await suspend({ reason: '核查使用情况', effectiveFrom: '2026-03-09' });
    t.equal(filed.statusCode, 202, filed.body);
    t.same(filed.json(), {
      grantId,
      status: 'suspended',
      scheduledFor: '2026-03-08T16:00:00.000Z',
      earliest: '2026-03-09',
    });
    t.match(await inbox(gw, civilAdmin, 'grant.change-scheduled'), [
      {
        data: {
          grantId,
          status: 'suspended',
          effectiveFrom: '2026-03-08T16:00:00.000Z',
          noticeWorkdays: 5,
          reason: '核查使用情况',
        },
      },
    ]);
    t.equal((await gw.context.grants.get(grantId))?.status, 'active', 'in force until its time');

    const job = (await gw.workflow.queues.deadlines.getJobs(['delayed'])).find(
      (j) => j.data.kind === 'grant-status',
    );
    t.match(job?.data, { grantId, status: 'suspended', runAt: Date.parse('2026-03-08T16:00:00Z') });
    gw.clock.set('2026-03-09T00:00:05+08:00');
    await job!.promote();
    const suspended = await eventually(async () => {
      const g = await gw.context.grants.get(grantId);
      return g?.status === 'suspended' ? g : undefined;
    }, 'the grant to be suspended');
    t.match(suspended.statusHistory.at(-1), {
      reason: /核查使用情况 \(filed in advance/,
      by: { role: 'dept-admin', dept: marketAdmin.dept },
    });
    t.equal(
      await gw.workflow.grantChanges.fireTimer(job!.data as Timer),
      'stale',
      'a second run changes nothing',
    );
    const applied = await eventually(async () => {
      const { context } = gw;
      const page = await searchAudit(context.redis, context.prefix, context.platform.subjectHmacKey, {
        limit: 500,
      });
      const records = page.records.filter((r) => r.action === 'grant.status.apply');
      return records.length > 0 ? records : undefined;
    }, 'the audit record of the change');
    t.match(applied[0], { detail: { grantId, status: 'suspended' } });
  },
);

t.test('an emergency revocation is immediate, recorded and reported to the bureau', async (t) => {
  const gw = await buildWorkflowApp(t);
  const app = await gw.workflow.applications.submit(civilAdmin, enterpriseApplication());
  const res = await gw.app.inject({
    method: 'POST',
    url: `/v1/grants/${app.grantId}/revoke`,
    headers: gw.as(marketAdmin),
    payload: { reason: '数据外泄', emergency: '发现批量导出，立即停止' },
  });
  t.equal(res.statusCode, 200, res.body);
  t.match(res.json(), { status: 'revoked' });
  t.match(res.json().statusHistory.at(-1).reason, /数据外泄 \(emergency: 发现批量导出，立即停止\)/);
  t.match(await inbox(gw, bureauActor, 'change.emergency'), [
    {
      data: {
        subject: 'grant',
        grantId: app.grantId,
        status: 'revoked',
        emergency: '发现批量导出，立即停止',
      },
    },
  ]);
  t.match(await inbox(gw, civilAdmin, 'grant.revoked'), [{ data: { grantId: app.grantId } }]);
});

t.test('a resource suspension needs notice and is announced at once to its consumers', async (t) => {
  const gw = await buildWorkflowApp(t);
  await gw.workflow.applications.submit(civilAdmin, enterpriseApplication());
  const suspend = (payload: Record<string, unknown>) =>
    gw.app.inject({
      method: 'POST',
      url: `/v1/catalog/${encodeURIComponent(ENTERPRISE)}/suspend`,
      headers: gw.as(marketAdmin),
      payload,
    });
  const today = await suspend({ reason: '系统迁移', effectiveFrom: '2026-03-02' });
  t.equal(today.statusCode, 422, today.body);
  t.equal(today.json().code, 'NOTICE_TOO_SHORT');
  t.equal((await gw.context.catalog.publishedEntry(ENTERPRISE))?.status, 'active', 'nothing filed');

  const filed = await suspend({ reason: '系统迁移', effectiveFrom: '2026-03-09' });
  t.equal(filed.statusCode, 200, filed.body);
  const announced = await inbox(gw, civilAdmin, 'resource.suspension-scheduled');
  t.match(announced, [
    { data: { resourceCode: ENTERPRISE, reason: '系统迁移', effectiveFrom: '2026-03-08T16:00:00.000Z' } },
  ]);
  t.ok(
    (await gw.workflow.queues.deadlines.getJobs(['delayed'])).some((j) => j.data.kind === 'resource-status'),
    'a delayed job applies it at its time',
  );

  const emergency = await gw.app.inject({
    method: 'POST',
    url: `/v1/catalog/${encodeURIComponent(ENTERPRISE)}/withdraw`,
    headers: gw.as(marketAdmin),
    payload: { reason: '职能划转', effectiveFrom: '2026-03-03', emergency: '机构撤并，次日停止' },
  });
  t.equal(emergency.statusCode, 200, emergency.body);
  t.match(await inbox(gw, bureauActor, 'change.emergency'), [
    {
      data: {
        subject: 'resource',
        resourceCode: ENTERPRISE,
        action: 'withdraw',
        emergency: '机构撤并，次日停止',
      },
    },
  ]);
  t.equal(CIVIL_AFFAIRS, civilAdmin.dept);
});
