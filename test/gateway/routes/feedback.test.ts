/**
 * Usage feedback: the consumer department reports per grant how the data served its purpose; the
 * provider sees it, another department does not; it is counted in the statistics and audited.
 */
import t from 'tap';
import { searchAudit } from '../../../audit/search.js';
import {
  bureauActor,
  CIVIL_AFFAIRS,
  civilAdmin,
  HUMAN_RESOURCES,
  hrAdmin,
  medicalAdmin,
} from '../../policies/applications/fixtures.js';
import { grantInsurance } from '../../policies/objections/fixtures.js';
import { buildWorkflowApp } from '../jobs/workflow-app.js';

t.test('feedback per grant: given by the consumer, read by the provider, counted, audited', async (t) => {
  const gw = await buildWorkflowApp(t);
  const grant = await grantInsurance(gw.context.grants);
  const post = (actor: typeof civilAdmin, payload: object) =>
    gw.app.inject({ method: 'POST', url: `/v1/grants/${grant.id}/feedback`, headers: gw.as(actor), payload });
  const get = (actor: typeof civilAdmin, query = '') =>
    gw.app.inject({ url: `/v1/feedback${query}`, headers: gw.as(actor) });

  const byProvider = await post(hrAdmin, { outcome: 'served', comment: '自评' });
  t.same([byProvider.statusCode, byProvider.json().code], [403, 'FEEDBACK_FORBIDDEN']);
  const byOutsider = await post(medicalAdmin, { outcome: 'served', comment: '无关' });
  t.same([byOutsider.statusCode, byOutsider.json().code], [404, 'GRANT_NOT_FOUND']);
  const invalid = await post(civilAdmin, { outcome: 'great', comment: 'x' });
  t.same([invalid.statusCode, invalid.json().code], [400, 'VALIDATION_FAILED']);

  const given = await post(civilAdmin, {
    outcome: 'partly-served',
    comment: '参保状态满足救助审核需要，缺少最近一个月的缴费记录',
    period: '2026-03',
  });
  t.equal(given.statusCode, 201, given.body);
  t.match(given.json(), {
    grantId: grant.id,
    consumerDept: CIVIL_AFFAIRS,
    providerDept: HUMAN_RESOURCES,
    outcome: 'partly-served',
    by: { name: '陈静' },
  });
  await post(civilAdmin, { outcome: 'served', comment: '四月数据完整' });

  const provider = await get(hrAdmin, '?side=provider');
  t.same(
    provider.json().feedback.map((f: { outcome: string }) => f.outcome),
    ['served', 'partly-served'],
    'the provider reads it, newest first',
  );
  t.same((await get(medicalAdmin, '?side=provider')).json().feedback, [], 'another department sees none');
  const foreign = await get(medicalAdmin, `?dept=${CIVIL_AFFAIRS}`);
  t.same([foreign.statusCode, foreign.json().code], [403, 'DEPARTMENT_FORBIDDEN']);

  const stats = await gw.app.inject({
    url: '/v1/stats?from=2026-03-01&to=2026-03-31',
    headers: gw.as(bureauActor),
  });
  t.equal(stats.statusCode, 200, stats.body);
  const byDept = Object.fromEntries(stats.json().departments.map((d: { dept: string }) => [d.dept, d]));
  t.match(byDept[HUMAN_RESOURCES], { feedbackReceived: { reports: 2, served: 1, partlyServed: 1 } });
  t.match(byDept[CIVIL_AFFAIRS], { feedbackGiven: { reports: 2 } });
  t.match(stats.json().overall, { feedback: { reports: 2, notServed: 0 } });

  const trail = await searchAudit(gw.context.redis, gw.context.prefix, gw.context.platform.subjectHmacKey, {
    limit: 100,
  });
  t.equal(trail.records.filter((r) => r.action === 'grant.feedback').length, 2);
});
