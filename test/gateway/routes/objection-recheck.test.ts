/**
 * An objection the platform receives ([XY] 21): the bureau rechecks it within 5 working days, then
 * forwards it to the provider — whose 3-working-day verification clock starts then — or dismisses it;
 * the provider corrects; the consumer is told at each step. The whole loop on real workers and webhooks,
 * each clock by the platform's time.
 */
import t from 'tap';
import { searchAudit } from '../../../audit/search.js';
import type { Timer } from '../../../policies/applications/schema.js';
import { bureauActor, civilAdmin, hrAdmin } from '../../policies/applications/fixtures.js';
import { grantInsurance, insuranceObjection } from '../../policies/objections/fixtures.js';
import { buildWorkflowApp, eventually, startReceiver } from '../jobs/workflow-app.js';

type Gateway = Awaited<ReturnType<typeof buildWorkflowApp>>;

async function timersOf(gw: Gateway, objectionId: string, phase: 'recheck' | 'answer') {
  const jobs = await gw.workflow.queues.deadlines.getJobs(['delayed', 'waiting', 'completed']);
  const mine = jobs.filter(
    (j) => j.data.objectionId === objectionId && j.data.id.includes('.recheck.') === (phase === 'recheck'),
  );
  return Object.fromEntries(mine.map((j) => [j.data.kind, j.data])) as Record<string, Timer>;
}

async function promote(gw: Gateway, timer: Timer) {
  const job = await gw.workflow.queues.deadlines.getJob(timer.id);
  if (!job) throw new Error(`no job ${timer.id}`);
  await job.promote();
  return job;
}

t.test('objection → platform recheck → verification → correction → notice, with their clocks', async (t) => {
  const gw = await buildWorkflowApp(t, {
    workflow: { webhooks: { attempts: 3, backoffMs: 10 }, relayIntervalMs: 600_000 },
  });
  await grantInsurance(gw.context.grants);
  const call = async (actor: typeof civilAdmin, method: 'GET' | 'POST', url: string, payload?: object) => {
    const res = await gw.app.inject({ method, url, headers: gw.as(actor), ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json() };
  };
  const hooks = {
    bureau: await startReceiver(t, () => 200),
    consumer: await startReceiver(t, () => 200),
    provider: await startReceiver(t, () => 200),
  };
  await gw.workflow.notifications.register(bureauActor, {
    url: hooks.bureau.url('/bureau'),
    events: ['objection.received', 'objection.overdue', 'objection.escalated'],
  });
  await gw.workflow.notifications.register(civilAdmin, {
    url: hooks.consumer.url('/civil'),
    events: ['objection.forwarded', 'objection.dismissed', 'objection.answered'],
  });
  await gw.workflow.notifications.register(hrAdmin, {
    url: hooks.provider.url('/hr'),
    events: ['objection.received'],
  });
  const events = (r: (typeof hooks)['bureau']) => r.received.map((x) => x.headers['x-govshare-event']);
  await gw.workflow.startWorkers({ availability: false });

  // Monday 2026-03-02 10:00 CST: received by the platform, rechecked within 5 working days.
  const raised = await call(civilAdmin, 'POST', '/v1/objections', insuranceObjection({ to: 'platform' }));
  t.equal(raised.status, 201, JSON.stringify(raised.body));
  t.match(raised.body, {
    state: 'rechecking',
    deadline: { limitWorkdays: 5, dueDate: '2026-03-09', dueAt: '2026-03-09T16:00:00.000Z' },
    recheck: { deadline: { limitWorkdays: 5 } },
    history: [{ action: 'receive', to: 'rechecking' }],
  });
  const id: string = raised.body.id;
  await eventually(async () => hooks.bureau.received[0], 'the bureau to be told');
  t.same(events(hooks.bureau), ['objection.received'], 'the bureau, not the provider, receives it');
  t.same(hooks.provider.received, []);

  const early = await call(hrAdmin, 'POST', `/v1/objections/${id}/answer`, {
    outcome: 'corrected',
    reason: '提前答复',
  });
  t.same([early.status, early.body.code], [409, 'OBJECTION_ILLEGAL_TRANSITION'], 'not before the recheck');
  const byDept = await call(civilAdmin, 'POST', `/v1/objections/${id}/recheck`, {
    outcome: 'forward',
    reason: '自审',
  });
  t.same([byDept.status, byDept.body.code], [403, 'ROLE_FORBIDDEN'], 'only the bureau rechecks');

  // The recheck is late: overdue at 24:00 CST of its 5th working day, the consumer and the bureau told.
  const recheckTimers = await timersOf(gw, id, 'recheck');
  t.equal(new Date(recheckTimers.overdue!.runAt).toISOString(), '2026-03-09T16:00:00.000Z');
  gw.clock.set('2026-03-10T00:00:00+08:00');
  await promote(gw, recheckTimers.overdue!);
  const late = await eventually(async () => {
    const o = await gw.workflow.objections.get(bureauActor, id);
    return o.deadline.overdueAt ? o : undefined;
  }, 'the recheck to be marked overdue');
  t.match(late.history.at(-1), { action: 'overdue', reason: /not rechecked by the platform/ });
  await eventually(
    async () => (events(hooks.bureau).includes('objection.overdue') ? true : undefined),
    'overdue',
  );

  // Tuesday 3/10: forwarded; the provider's 3 working days start now.
  gw.clock.set('2026-03-10T09:00:00+08:00');
  const forwarded = await call(bureauActor, 'POST', `/v1/objections/${id}/recheck`, {
    outcome: 'forward',
    reason: '经复核，证据显示缴费月数与社保记录不一致，转提供部门核实',
  });
  t.equal(forwarded.status, 200, JSON.stringify(forwarded.body));
  t.match(forwarded.body, {
    state: 'open',
    deadline: { limitWorkdays: 3, dueDate: '2026-03-13' },
    recheck: {
      outcome: 'forwarded',
      withinLimit: false,
      deadline: { dueDate: '2026-03-09', overdueAt: '2026-03-09T16:00:00.000Z' },
    },
  });
  t.notOk(forwarded.body.closedAt, 'still open');
  await eventually(async () => hooks.provider.received[0], 'the provider to receive it');
  await eventually(async () => hooks.consumer.received[0], 'the consumer to be told');
  t.same(events(hooks.consumer), ['objection.forwarded']);

  // The recheck's remaining timers were dropped; the answer clock has its own.
  t.equal(await gw.workflow.queues.deadlines.getJob(recheckTimers.escalate!.id), undefined, 'no escalation');
  const answerTimers = await timersOf(gw, id, 'answer');
  t.equal(new Date(answerTimers.overdue!.runAt).toISOString(), '2026-03-13T16:00:00.000Z');

  gw.clock.set('2026-03-12T15:00:00+08:00');
  const corrected = await call(hrAdmin, 'POST', `/v1/objections/${id}/answer`, {
    outcome: 'corrected',
    reason: '经核实系数据迁移遗漏，已更正',
    correctedValue: '156',
  });
  t.match(corrected.body, { state: 'corrected', answer: { withinLimit: true } });
  await eventually(async () => (hooks.consumer.received.length >= 2 ? true : undefined), 'the answer notice');
  t.same(events(hooks.consumer), ['objection.forwarded', 'objection.answered']);

  // Another one, dismissed by the recheck: the consumer is told why, the provider never bothered.
  const second = await call(
    civilAdmin,
    'POST',
    '/v1/objections',
    insuranceObjection({ to: 'platform', item: 'insuranceType' }),
  );
  const dismissed = await call(bureauActor, 'POST', `/v1/objections/${second.body.id}/recheck`, {
    outcome: 'dismiss',
    reason: '险种与参保登记一致，所附材料为旧证件',
  });
  t.match(dismissed.body, { state: 'dismissed', recheck: { outcome: 'dismissed', withinLimit: true } });
  t.ok(dismissed.body.closedAt);
  await eventually(async () => (hooks.consumer.received.length >= 3 ? true : undefined), 'the dismissal');
  t.equal(events(hooks.consumer).at(-1), 'objection.dismissed');
  t.equal(hooks.provider.received.length, 1, 'the provider heard only of the forwarded one');
  const again = await call(bureauActor, 'POST', `/v1/objections/${second.body.id}/recheck`, {
    outcome: 'forward',
    reason: '再次',
  });
  t.same([again.status, again.body.code], [409, 'OBJECTION_ILLEGAL_TRANSITION']);

  const trail = await searchAudit(gw.context.redis, gw.context.prefix, gw.context.platform.subjectHmacKey, {
    limit: 200,
  });
  t.same(
    trail.records
      .filter((r) => r.action === 'objection.recheck')
      .map((r) => r.detail?.outcome)
      .sort(),
    ['dismiss', 'forward'],
  );
});
