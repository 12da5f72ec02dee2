import t from 'tap';
import { searchAudit } from '../../../audit/search.js';
import { subjectHash } from '../../../audit/subject.js';
import type { ActorRef } from '../../../catalog/records.js';
import type { Timer } from '../../../policies/applications/schema.js';
import {
  bureauActor,
  CIVIL_AFFAIRS,
  civilAdmin,
  HUMAN_RESOURCES,
  hrAdmin,
  medicalAdmin,
  policeAdmin,
  SOCIAL_INSURANCE,
} from '../../policies/applications/fixtures.js';
import {
  grantInsurance,
  ID_NUMBER,
  ID_NUMBER_NORMALIZED,
  insuranceObjection,
} from '../../policies/objections/fixtures.js';
import { buildWorkflowApp, eventually, startReceiver } from '../jobs/workflow-app.js';

type Gateway = Awaited<ReturnType<typeof buildWorkflowApp>>;
type Tap = Parameters<typeof buildWorkflowApp>[0];

/** The gateway (with its objection routes) and 民政局's grant. */
async function build(t: Tap) {
  const gw = await buildWorkflowApp(t, {
    // No periodic outbox drain within a test: every notice must leave right after its change.
    workflow: { webhooks: { attempts: 3, backoffMs: 10 }, relayIntervalMs: 600_000 },
  });
  await grantInsurance(gw.context.grants);
  const call = async (actor: ActorRef, method: 'GET' | 'POST', url: string, payload?: object) => {
    const res = await gw.app.inject({ method, url, headers: gw.as(actor), ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json(), raw: res.body };
  };
  return { gw, call };
}

async function trailOf(gw: Gateway) {
  const { context } = gw;
  return searchAudit(context.redis, context.prefix, context.platform.subjectHmacKey, { limit: 500 });
}

async function timersOf(gw: Gateway, objectionId: string): Promise<Record<string, Timer>> {
  const jobs = await gw.workflow.queues.deadlines.getJobs(['delayed', 'waiting', 'completed']);
  const mine = jobs.filter((j) => j.data.objectionId === objectionId);
  return Object.fromEntries(mine.map((j) => [j.data.kind, j.data]));
}

/** The delayed job of a timer, moved to run now as if its time had come. */
async function promote(t: Tap, gw: Gateway, timer: Timer) {
  const job = await gw.workflow.queues.deadlines.getJob(timer.id);
  if (!job) throw new Error(`no job ${timer.id}`);
  t.equal(await job.getState(), 'delayed', `${timer.kind} waits in the queue`);
  await job.promote();
  return job;
}

t.test(
  'answered (corrected) with the consumer notified; withdrawn; 409; other departments refused; audited',
  async (t) => {
    const { gw, call } = await build(t);
    const consumer = await startReceiver(t, () => 200);
    await gw.workflow.notifications.register(civilAdmin, {
      url: consumer.url('/civil'),
      events: ['objection.answered'],
    });
    await gw.workflow.startWorkers({ availability: false });

    const raised = await call(
      civilAdmin,
      'POST',
      '/v1/objections',
      insuranceObjection({ systemId: 'assistance' }),
    );
    t.equal(raised.status, 201, raised.raw);
    t.match(raised.body, {
      state: 'open',
      key: ID_NUMBER_NORMALIZED,
      keyItem: 'idNumber',
      providerDept: HUMAN_RESOURCES,
      deadline: { dueDate: '2026-03-05', dueAt: '2026-03-05T16:00:00.000Z' },
    });
    const id: string = raised.body.id;

    for (const outsider of [medicalAdmin, policeAdmin]) {
      const seen = await call(outsider, 'GET', `/v1/objections/${id}`);
      t.same([seen.status, seen.body.code], [404, 'OBJECTION_NOT_FOUND'], `${outsider.name} does not see it`);
      const answered = await call(outsider, 'POST', `/v1/objections/${id}/answer`, {
        outcome: 'data-correct',
        reason: '无误',
      });
      t.same([answered.status, answered.body.code], [404, 'OBJECTION_NOT_FOUND']);
    }
    const byConsumer = await call(civilAdmin, 'POST', `/v1/objections/${id}/answer`, {
      outcome: 'data-correct',
      reason: '无误',
    });
    t.same([byConsumer.status, byConsumer.body.code], [403, 'OBJECTION_FORBIDDEN']);
    const byProvider = await call(hrAdmin, 'POST', `/v1/objections/${id}/withdraw`, {});
    t.same([byProvider.status, byProvider.body.code], [403, 'OBJECTION_FORBIDDEN']);

    const seenByProvider = await call(hrAdmin, 'GET', `/v1/objections/${id}`);
    t.equal(seenByProvider.body.key, ID_NUMBER_NORMALIZED, 'the provider finds the record');
    gw.clock.set('2026-03-03T15:00:00+08:00');
    const answered = await call(hrAdmin, 'POST', `/v1/objections/${id}/answer`, {
      outcome: 'corrected',
      reason: '经核实系数据迁移遗漏，已按缴费记录更正',
      correctedValue: '156',
    });
    t.equal(answered.status, 200, answered.raw);
    t.match(answered.body, { state: 'corrected', answer: { outcome: 'corrected', withinLimit: true } });
    const delivered = await eventually(
      async () => consumer.received[0],
      'the consumer to be told of the answer',
    );
    t.equal(delivered.headers['x-govshare-event'], 'objection.answered');
    const notice = JSON.parse(delivered.body.toString());
    t.match(notice.data, {
      objectionId: id,
      state: 'corrected',
      outcome: 'corrected',
      resourceCode: SOCIAL_INSURANCE,
      item: 'monthsPaid',
    });
    t.notOk(delivered.body.toString().includes(ID_NUMBER_NORMALIZED), 'the webhook carries no key value');
    t.equal(
      (await timersOf(gw, id)).overdue,
      undefined,
      'the answered objection’s pending timers were dropped',
    );

    const again = await call(hrAdmin, 'POST', `/v1/objections/${id}/answer`, {
      outcome: 'data-correct',
      reason: '再次核实',
    });
    t.same([again.status, again.body.code], [409, 'OBJECTION_ILLEGAL_TRANSITION']);
    t.match(again.body.detail, /is corrected: cannot uphold/);

    const second = await call(
      civilAdmin,
      'POST',
      '/v1/objections',
      insuranceObjection({ item: 'insuranceType' }),
    );
    const withdrawn = await call(civilAdmin, 'POST', `/v1/objections/${second.body.id}/withdraw`, {
      reason: '申请人已撤回救助申请',
    });
    t.match(withdrawn.body, { state: 'withdrawn', history: [{ action: 'submit' }, { action: 'withdraw' }] });
    const late = await call(hrAdmin, 'POST', `/v1/objections/${second.body.id}/answer`, {
      outcome: 'corrected',
      reason: '已更正',
    });
    t.same([late.status, late.body.code], [409, 'OBJECTION_ILLEGAL_TRANSITION']);

    const list = async (actor: ActorRef, query = '') =>
      (await call(actor, 'GET', `/v1/objections${query}`)).body;
    const mine = await list(civilAdmin);
    t.same(
      mine.objections.map((o: { id: string }) => o.id),
      [second.body.id, id],
    );
    t.notOk('key' in mine.objections[0], 'a listing carries no key values');
    t.equal((await list(hrAdmin)).total, 2, 'the provider sees those it must answer');
    t.equal((await list(medicalAdmin)).total, 0);
    t.same(
      (await list(bureauActor, '?state=withdrawn')).objections.map((o: { id: string }) => o.id),
      [second.body.id],
    );
    const foreign = await call(medicalAdmin, 'GET', `/v1/objections?dept=${CIVIL_AFFAIRS}`);
    t.same([foreign.status, foreign.body.code], [403, 'OBJECTION_FORBIDDEN']);

    const trail = await trailOf(gw);
    const objectionRecords = trail.records.filter((r) => r.action.startsWith('objection.'));
    t.same(objectionRecords.map((r) => r.action).sort(), [
      'objection.answer',
      'objection.submit',
      'objection.submit',
      'objection.view',
      'objection.withdraw',
    ]);
    const hash = subjectHash(gw.context.platform.subjectHmacKey, ID_NUMBER);
    for (const record of objectionRecords) {
      t.same(record.subjects, [hash], `${record.action}: the key as a subject hash`);
      t.equal(record.resource, SOCIAL_INSURANCE);
    }
    t.match(
      objectionRecords.find((r) => r.action === 'objection.answer'),
      {
        actor: { person: hrAdmin.name, role: 'dept-admin', deptCode: HUMAN_RESOURCES },
        detail: { objection: id, outcome: 'corrected', withinLimit: true },
      },
    );
    const bySubject = await searchAudit(
      gw.context.redis,
      gw.context.prefix,
      gw.context.platform.subjectHmacKey,
      {
        subject: ID_NUMBER_NORMALIZED,
        limit: 100,
      },
    );
    t.equal(bySubject.records.length, 5, 'who raised, read, answered: found by the ID number');
    const clear = JSON.stringify(trail.records);
    t.notOk(clear.includes(ID_NUMBER_NORMALIZED) || clear.includes(ID_NUMBER), 'never in clear in the trail');
    t.notOk(clear.includes('"156"'), 'nor the corrected value');
  },
);

t.test('overdue at 24:00 CST of the due date and escalated to the bureau, on real workers', async (t) => {
  const { gw, call } = await build(t);
  const bureauHooks = await startReceiver(t, () => 200);
  await gw.workflow.notifications.register(bureauActor, {
    url: bureauHooks.url('/bureau'),
    events: ['objection.escalated'],
  });
  const provider = await startReceiver(t, () => 200);
  await gw.workflow.notifications.register(hrAdmin, {
    url: provider.url('/hr'),
    events: ['objection.received', 'objection.overdue'],
  });
  await gw.workflow.startWorkers({ availability: false });

  const raised = await call(civilAdmin, 'POST', '/v1/objections', insuranceObjection());
  const id: string = raised.body.id;
  const timers = await timersOf(gw, id);
  t.same(Object.keys(timers).sort(), ['escalate', 'overdue', 'remind']);
  t.equal(
    new Date(timers.overdue!.runAt).toISOString(),
    '2026-03-05T16:00:00.000Z',
    '24:00 CST, 3rd working day',
  );

  gw.clock.set('2026-03-05T23:59:59+08:00');
  const early = await promote(t, gw, timers.overdue!);
  await eventually(
    async () => ((await early.getState()) === 'delayed' ? true : undefined),
    'the early job to wait again',
  );
  t.notOk((await gw.workflow.objections.get(bureauActor, id)).deadline.overdueAt, 'not overdue at 23:59:59');

  gw.clock.set('2026-03-06T00:00:00+08:00');
  await promote(t, gw, timers.overdue!);
  const overdue = await eventually(async () => {
    const o = await gw.workflow.objections.get(bureauActor, id);
    return o.deadline.overdueAt ? o : undefined;
  }, 'the objection to be marked overdue');
  t.equal(overdue.deadline.overdueAt, '2026-03-05T16:00:00.000Z');
  t.match(overdue.history.at(-1), { action: 'overdue', by: { role: 'system' } });
  const overdueList = await call(hrAdmin, 'GET', '/v1/objections?overdue=true');
  t.same(
    overdueList.body.objections.map((o: { id: string }) => o.id),
    [id],
  );
  await eventually(async () => (provider.received.length >= 2 ? true : undefined), 'the provider’s notices');
  t.same(
    provider.received.map((r) => r.headers['x-govshare-event']),
    ['objection.received', 'objection.overdue'],
  );

  gw.clock.set('2026-03-07T00:00:00+08:00');
  await promote(t, gw, timers.escalate!);
  const escalated = await eventually(async () => bureauHooks.received[0], 'the escalation webhook');
  t.equal(escalated.headers['x-govshare-event'], 'objection.escalated');
  t.match(JSON.parse(escalated.body.toString()).data, {
    objectionId: id,
    responsible: HUMAN_RESOURCES,
    dueDate: '2026-03-05',
  });
  t.equal(
    (await gw.workflow.objections.get(bureauActor, id)).deadline.escalatedAt,
    '2026-03-06T16:00:00.000Z',
  );

  gw.clock.set('2026-03-09T10:00:00+08:00');
  const answered = await call(hrAdmin, 'POST', `/v1/objections/${id}/answer`, {
    outcome: 'data-correct',
    reason: '经核实，缴费月数以社保经办系统为准，数据无误',
  });
  t.match(answered.body, { state: 'data-correct', answer: { withinLimit: false } });

  const clockRecords = (await trailOf(gw)).records
    .filter((r) => r.actor.role === 'system')
    .map((r) => [r.action, r.detail?.objection]);
  t.same(clockRecords.sort(), [
    ['objection.escalate', id],
    ['objection.overdue', id],
  ]);
});

t.test('refused at the door with problem details that never echo the key; documented', async (t) => {
  const { gw, call } = await build(t);
  const longKey = `4201021990${'7'.repeat(250)}`;
  const cases: [ActorRef, object, number, string][] = [
    [civilAdmin, insuranceObjection({ key: longKey }), 400, 'VALIDATION_FAILED'],
    [civilAdmin, { ...insuranceObjection(), extra: 1 }, 400, 'VALIDATION_FAILED'],
    [
      civilAdmin,
      insuranceObjection({ evidence: { url: 'ftp://files.example/receipt.pdf' } }),
      400,
      'VALIDATION_FAILED',
    ],
    [civilAdmin, insuranceObjection({ evidence: {} }), 400, 'VALIDATION_FAILED'],
    [civilAdmin, { ...insuranceObjection(), description: undefined }, 400, 'VALIDATION_FAILED'],
    [bureauActor, insuranceObjection(), 403, 'ROLE_FORBIDDEN'],
    [medicalAdmin, insuranceObjection(), 403, 'OBJECTION_NO_GRANT'],
    [civilAdmin, insuranceObjection({ item: 'shoeSize' }), 422, 'OBJECTION_ITEM_UNKNOWN'],
    [civilAdmin, insuranceObjection({ resourceCode: '109999/1' }), 404, 'OBJECTION_RESOURCE_UNKNOWN'],
  ];
  for (const [actor, payload, status, code] of cases) {
    const res = await call(actor, 'POST', '/v1/objections', payload);
    t.same([res.status, res.body.code], [status, code], code);
    t.notOk(res.raw.includes('42010219900'), 'the problem detail does not repeat the key');
  }
  const answer = await call(hrAdmin, 'POST', '/v1/objections/OBJ-20260302-000404/answer', {
    outcome: 'corrected',
    reason: '已更正',
  });
  t.same([answer.status, answer.body.code], [404, 'OBJECTION_NOT_FOUND']);
  const badId = await call(hrAdmin, 'GET', '/v1/objections/APP-20260302-000001');
  t.equal(badId.status, 400);

  const doc = (await gw.app.inject({ method: 'GET', url: '/docs/json' })).json();
  for (const [path, method] of [
    ['/v1/objections', 'post'],
    ['/v1/objections', 'get'],
    ['/v1/objections/{id}', 'get'],
    ['/v1/objections/{id}/answer', 'post'],
    ['/v1/objections/{id}/withdraw', 'post'],
  ] as const) {
    t.same(doc.paths[path]?.[method]?.security, [{ bearer: [] }], `${method} ${path} documented`);
  }
});
