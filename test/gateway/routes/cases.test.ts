/**
 * Disputes ([HB-S] 25; [HC-R] 28), rectification orders ([HB-S] 31; [HC-R] 44) and catalog change events
 * ([HC-R] 13) over HTTP on real workers: who may act, the working-day clocks (reminder, overdue,
 * escalation to the bureau) by the platform's time, the notices, and the audit trail.
 */
import t from 'tap';
import { searchAudit } from '../../../audit/search.js';
import type { Timer } from '../../../policies/applications/schema.js';
import { conditionalEntry } from '../../catalog/fixtures.js';
import {
  bureauActor,
  CIVIL_AFFAIRS,
  civilAdmin,
  HUMAN_RESOURCES,
  hrAdmin,
  medicalAdmin,
  SOCIAL_INSURANCE,
} from '../../policies/applications/fixtures.js';
import { buildWorkflowApp, eventually, startReceiver } from '../jobs/workflow-app.js';

type Gateway = Awaited<ReturnType<typeof buildWorkflowApp>>;

async function timersOf(gw: Gateway, caseId: string): Promise<Record<string, Timer>> {
  const jobs = await gw.workflow.queues.deadlines.getJobs(['delayed', 'waiting', 'completed']);
  return Object.fromEntries(jobs.filter((j) => j.data.caseId === caseId).map((j) => [j.data.kind, j.data]));
}

async function fire(gw: Gateway, timer: Timer) {
  const job = await gw.workflow.queues.deadlines.getJob(timer.id);
  if (!job) throw new Error(`no job ${timer.id}`);
  await job.promote();
  await eventually(
    async () => ((await job.getState()) === 'completed' ? true : undefined),
    `${timer.id} to run`,
  );
}

t.test('disputes, rectification orders and catalog change events with their clocks', async (t) => {
  const gw = await buildWorkflowApp(t, {
    workflow: { webhooks: { attempts: 3, backoffMs: 10 }, relayIntervalMs: 600_000 },
  });
  const call = async (actor: typeof civilAdmin, method: 'GET' | 'POST', url: string, payload?: object) => {
    const res = await gw.app.inject({ method, url, headers: gw.as(actor), ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json() };
  };
  const hooks = {
    bureau: await startReceiver(t, () => 200),
    civil: await startReceiver(t, () => 200),
    hr: await startReceiver(t, () => 200),
  };
  const all = [
    'dispute.opened',
    'dispute.decided',
    'rectification.ordered',
    'rectification.reported',
    'rectification.returned',
    'rectification.closed',
    'catalog-change.recorded',
    'catalog-change.closed',
    'case.reminder',
    'case.overdue',
    'case.escalated',
  ] as const;
  await gw.workflow.notifications.register(bureauActor, { url: hooks.bureau.url('/b'), events: [...all] });
  await gw.workflow.notifications.register(civilAdmin, { url: hooks.civil.url('/c'), events: [...all] });
  await gw.workflow.notifications.register(hrAdmin, { url: hooks.hr.url('/h'), events: [...all] });
  const seen = (r: (typeof hooks)['bureau']) => r.received.map((x) => x.headers['x-govshare-event']);
  const until = (r: (typeof hooks)['bureau'], event: string) =>
    eventually(async () => (seen(r).includes(event) ? true : undefined), event);
  await gw.workflow.startWorkers({ availability: false });

  // A dispute, Monday 2026-03-02: the bureau decides within 10 working days.
  const self = await call(civilAdmin, 'POST', '/v1/disputes', {
    otherDept: CIVIL_AFFAIRS,
    subject: 'x',
    description: 'y',
  });
  t.same([self.status, self.body.code], [422, 'CASE_INVALID']);
  const opened = await call(civilAdmin, 'POST', '/v1/disputes', {
    otherDept: HUMAN_RESOURCES,
    subject: '社会保险参保信息的授权范围',
    description: '提供部门以业务系统不符为由拒绝授权，请平台裁定',
    resourceCode: SOCIAL_INSURANCE,
  });
  t.equal(opened.status, 201, JSON.stringify(opened.body));
  const dispute = opened.body;
  t.match(dispute, {
    kind: 'dispute',
    state: 'open',
    fromDept: CIVIL_AFFAIRS,
    dept: HUMAN_RESOURCES,
    responsible: 'bureau',
    deadline: { limitWorkdays: 10, dueDate: '2026-03-16' },
  });
  await until(hooks.hr, 'dispute.opened');
  t.same((await call(medicalAdmin, 'GET', `/v1/cases/${dispute.id}`)).status, 404, 'outsiders do not see it');
  const byParty = await call(hrAdmin, 'POST', `/v1/disputes/${dispute.id}/decision`, { text: '自裁' });
  t.same([byParty.status, byParty.body.code], [403, 'ROLE_FORBIDDEN']);
  const byOther = await call(hrAdmin, 'POST', `/v1/disputes/${dispute.id}/withdraw`, { text: '撤回' });
  t.same([byOther.status, byOther.body.code], [403, 'CASE_FORBIDDEN'], 'only the opener withdraws');
  gw.clock.set('2026-03-05T10:00:00+08:00');
  const decided = await call(bureauActor, 'POST', `/v1/disputes/${dispute.id}/decision`, {
    text: '该系统属于授权范围，提供部门应在5个工作日内授权',
  });
  t.match(decided.body, {
    state: 'decided',
    decision: { withinLimit: true },
    closedAt: '2026-03-05T02:00:00.000Z',
  });
  await until(hooks.civil, 'dispute.decided');
  await until(hooks.hr, 'dispute.decided');
  t.equal((await timersOf(gw, dispute.id)).overdue, undefined, 'its clock stopped');

  // A rectification order of 5 working days, not met: overdue, escalated, reported late, returned, closed.
  gw.clock.set('2026-03-02T10:00:00+08:00');
  const ordered = await call(bureauActor, 'POST', '/v1/rectifications', {
    dept: HUMAN_RESOURCES,
    subject: '未按规定期限答复申请',
    description: '3件申请超过10个工作日未答复，应完成答复并报告整改情况',
    workdays: 5,
  });
  t.equal(ordered.status, 201, JSON.stringify(ordered.body));
  const order = ordered.body;
  t.match(order, {
    kind: 'rectification',
    responsible: HUMAN_RESOURCES,
    deadline: { dueDate: '2026-03-09' },
  });
  await until(hooks.hr, 'rectification.ordered');
  const timers = await timersOf(gw, order.id);
  gw.clock.set('2026-03-10T00:00:00+08:00');
  await fire(gw, timers.overdue!);
  await until(hooks.hr, 'case.overdue');
  gw.clock.set('2026-03-11T00:00:00+08:00');
  await fire(gw, timers.escalate!);
  await until(hooks.bureau, 'case.escalated');
  const escalated = hooks.bureau.received.find((r) => r.headers['x-govshare-event'] === 'case.escalated')!;
  t.match(JSON.parse(escalated.body.toString()).data, { caseId: order.id, responsible: HUMAN_RESOURCES });

  const reported = await call(hrAdmin, 'POST', `/v1/rectifications/${order.id}/report`, {
    text: '已全部答复',
  });
  t.match(reported.body, { state: 'reported', report: { withinLimit: false } });
  const returned = await call(bureauActor, 'POST', `/v1/rectifications/${order.id}/review`, {
    outcome: 'return',
    reason: '缺少答复文书',
  });
  t.equal(returned.body.state, 'open');
  await call(hrAdmin, 'POST', `/v1/rectifications/${order.id}/report`, { text: '已补充答复文书' });
  const closed = await call(bureauActor, 'POST', `/v1/rectifications/${order.id}/review`, {
    outcome: 'accept',
    reason: '整改到位',
  });
  t.match(closed.body, { state: 'closed' });
  await until(hooks.hr, 'rectification.closed');

  // A catalog change event: 15 working days to update the catalog, reminded after 10.
  gw.clock.set('2026-03-02T10:00:00+08:00');
  const byOutsider = await call(civilAdmin, 'POST', '/v1/catalog-changes', {
    dept: HUMAN_RESOURCES,
    event: 'law-amended',
    subject: 'x',
    description: 'y',
  });
  t.same([byOutsider.status, byOutsider.body.code], [403, 'CASE_FORBIDDEN']);
  const recorded = await call(bureauActor, 'POST', '/v1/catalog-changes', {
    dept: HUMAN_RESOURCES,
    event: 'law-amended',
    subject: '《社会保险法》修正，新增参保信息项',
    description: '社会保险参保信息目录需增加缴费状态信息项',
  });
  t.equal(recorded.status, 201, JSON.stringify(recorded.body));
  const change = recorded.body;
  t.match(change, {
    kind: 'catalog-change',
    event: 'law-amended',
    deadline: { limitWorkdays: 15, dueDate: '2026-03-23', remindAt: '2026-03-16T16:00:00.000Z' },
  });
  const changeTimers = await timersOf(gw, change.id);
  gw.clock.set('2026-03-17T00:00:00+08:00');
  await fire(gw, changeTimers.remind!);
  await until(hooks.hr, 'case.reminder');

  const tooEarly = await call(hrAdmin, 'POST', `/v1/catalog-changes/${change.id}/close`, {
    resourceCode: SOCIAL_INSURANCE,
  });
  t.same([tooEarly.status, tooEarly.body.code], [409, 'CASE_CATALOG_NOT_UPDATED'], 'not before an update');
  gw.clock.set('2026-03-18T10:00:00+08:00');
  const updated = conditionalEntry();
  updated.summary = `${updated.summary}（依法修订）`;
  await gw.context.catalog.proposeChange(hrAdmin, SOCIAL_INSURANCE, updated);
  await gw.context.catalog.submit(hrAdmin, SOCIAL_INSURANCE);
  await gw.context.catalog.approve(bureauActor, SOCIAL_INSURANCE);
  const done = await call(hrAdmin, 'POST', `/v1/catalog-changes/${change.id}/close`, {
    resourceCode: SOCIAL_INSURANCE,
  });
  t.match(done.body, { state: 'closed', report: { withinLimit: true, resourceCode: SOCIAL_INSURANCE } });
  await until(hooks.bureau, 'catalog-change.closed');

  // Another event, met by the next approval of a version of the department: closed by the platform.
  const duties = await call(hrAdmin, 'POST', '/v1/catalog-changes', {
    dept: HUMAN_RESOURCES,
    event: 'duties-changed',
    subject: '机构改革：医疗保险职责划出',
    description: '社会保险参保信息不再包含医疗保险险种',
  });
  t.equal(duties.status, 201, JSON.stringify(duties.body));
  gw.clock.set('2026-03-19T10:00:00+08:00');
  updated.summary = `${updated.summary}（职责调整）`;
  await gw.context.catalog.proposeChange(hrAdmin, SOCIAL_INSURANCE, updated);
  await gw.context.catalog.submit(hrAdmin, SOCIAL_INSURANCE);
  const approved = await gw.app.inject({
    method: 'POST',
    url: `/v1/catalog/${encodeURIComponent(SOCIAL_INSURANCE)}/approve`,
    headers: gw.as(bureauActor),
    payload: {},
  });
  t.equal(approved.statusCode, 200, approved.body);
  const auto = await call(hrAdmin, 'GET', `/v1/cases/${duties.body.id}`);
  t.match(auto.body, {
    state: 'closed',
    report: { resourceCode: SOCIAL_INSURANCE },
    history: [{}, { by: { role: 'system' } }],
  });

  const mine = await call(hrAdmin, 'GET', '/v1/cases');
  t.same(mine.body.cases.length, 4, 'the department sees the cases it is party to');
  t.same((await call(medicalAdmin, 'GET', '/v1/cases')).body.cases, []);
  const trail = await searchAudit(gw.context.redis, gw.context.prefix, gw.context.platform.subjectHmacKey, {
    limit: 300,
  });
  const actions = trail.records.map((r) => r.action);
  for (const action of [
    'case.open',
    'case.decide',
    'case.report',
    'case.return',
    'case.accept',
    'case.close',
  ]) {
    t.ok(actions.includes(action), `${action} audited`);
  }
  t.ok(
    trail.records.some((r) => r.action === 'case.escalate' && r.actor.role === 'system'),
    'the clock’s escalation audited',
  );
});
