import t from 'tap';
import type { ActorRef } from '../../../catalog/records.js';
import { grantActor } from '../../../policies/applications/commit.js';
import type { WorkflowEvent } from '../../../policies/applications/schema.js';
import {
  bureauActor,
  CIVIL_AFFAIRS,
  civilAdmin,
  ENTERPRISE,
  HUMAN_RESOURCES,
  hrAdmin,
  medicalAdmin,
  policeAdmin,
  SOCIAL_INSURANCE,
} from '../applications/fixtures.js';
import { grantInsurance, ID_NUMBER, ID_NUMBER_NORMALIZED, insuranceObjection } from './fixtures.js';
import { buildObjectionWorld } from './world.js';

const events = (entries: { events?: WorkflowEvent[] }[]) => entries.flatMap((e) => e.events ?? []);

t.test('raised, then answered corrected: the consumer is told, the clock stops', async (t) => {
  const w = await buildObjectionWorld(t);
  const raised = await w.service.submit(civilAdmin, insuranceObjection());
  t.match(raised, {
    id: /^OBJ-20260302-0000\d\d$/,
    state: 'open',
    consumerDept: CIVIL_AFFAIRS,
    providerDept: HUMAN_RESOURCES,
    grantId: w.grant.id,
    keyItem: 'idNumber',
    key: ID_NUMBER_NORMALIZED,
    item: 'monthsPaid',
    deadline: {
      limitWorkdays: 3,
      dueDate: '2026-03-05',
      dueAt: '2026-03-05T16:00:00.000Z',
      remindAt: '2026-03-04T16:00:00.000Z',
      escalateAt: '2026-03-06T16:00:00.000Z',
      provisional: false,
    },
    history: [{ action: 'submit', from: null, to: 'open', by: { name: civilAdmin.name } }],
  });
  const [received] = await w.takeOutbox();
  t.same(
    received?.timers?.map((x) => [x.kind, new Date(x.runAt).toISOString(), x.objectionId]),
    [
      ['remind', '2026-03-04T16:00:00.000Z', raised.id],
      ['overdue', '2026-03-05T16:00:00.000Z', raised.id],
      ['escalate', '2026-03-06T16:00:00.000Z', raised.id],
    ],
  );
  const [announced] = events([received!]);
  t.match(announced, { type: 'objection.received', recipients: [HUMAN_RESOURCES] });
  t.notOk(JSON.stringify(announced).includes('420102199003071'), 'no key value in events');

  w.clock.set('2026-03-04T15:00:00+08:00');
  const answered = await w.service.answer(hrAdmin, raised.id, {
    outcome: 'corrected',
    reason: '经核实系数据迁移遗漏，已按缴费记录更正',
    correctedValue: '156 months (corrected)',
  });
  t.match(answered, {
    state: 'corrected',
    closedAt: '2026-03-04T07:00:00.000Z',
    answer: {
      outcome: 'corrected',
      correctedValue: '156 months (corrected)',
      withinLimit: true,
      by: { dept: HUMAN_RESOURCES },
    },
  });
  const [entry] = await w.takeOutbox();
  t.same(
    entry?.cancel,
    received?.timers?.map((x) => x.id),
    'its timers are dropped',
  );
  t.match(events([entry!]), [
    {
      type: 'objection.answered',
      recipients: [CIVIL_AFFAIRS],
      data: { objectionId: raised.id, state: 'corrected', outcome: 'corrected', withinLimit: true },
    },
  ]);
  t.notOk(JSON.stringify(entry).includes('156 months'), 'nor the corrected value');

  const again = await w.service.submit(civilAdmin, insuranceObjection());
  t.not(again.id, raised.id, 'once answered, the same record and item may be objected to again');
});

t.test('refused submissions, each with the code that says what to fix', async (t) => {
  const w = await buildObjectionWorld(t);
  const cases: [ActorRef, object, string][] = [
    [bureauActor, {}, 'OBJECTION_FORBIDDEN'],
    [civilAdmin, { resourceCode: '109999/1' }, 'OBJECTION_RESOURCE_UNKNOWN'],
    [civilAdmin, { item: 'shoeSize' }, 'OBJECTION_ITEM_UNKNOWN'],
    [civilAdmin, { keyItem: 'monthsPaid' }, 'OBJECTION_INVALID'],
    [civilAdmin, { key: ' \u3000 ' }, 'OBJECTION_INVALID'],
    [civilAdmin, { systemId: 'other' }, 'OBJECTION_NO_GRANT'],
    [medicalAdmin, {}, 'OBJECTION_NO_GRANT'],
    [
      civilAdmin,
      { resourceCode: ENTERPRISE, item: 'entName', key: '91420100MA4K0000X1' },
      'OBJECTION_NO_GRANT',
    ],
  ];
  for (const [actor, overrides, code] of cases) {
    const error = await w.service.submit(actor, insuranceObjection(overrides)).catch((e: Error) => e);
    t.match(error, { code }, `${JSON.stringify(overrides)} → ${code}`);
    t.notOk(String((error as Error).message).includes(ID_NUMBER), 'the message never repeats the key');
  }

  const first = await w.service.submit(civilAdmin, insuranceObjection({ systemId: 'assistance' }));
  await t.rejects(
    w.service.submit(civilAdmin, insuranceObjection({ key: ID_NUMBER_NORMALIZED })),
    { code: 'OBJECTION_DUPLICATE', message: new RegExp(first.id) },
    'one open objection per record and item (the key normalized)',
  );
  const otherItem = await w.service.submit(civilAdmin, insuranceObjection({ item: 'insuranceType' }));
  t.equal(otherItem.state, 'open', 'another item of the same record is another objection');

  await w.grants.setStatus(grantActor(bureauActor), w.grant.id, 'revoked', '服务已停止');
  await t.rejects(
    w.service.submit(civilAdmin, insuranceObjection({ item: 'idNumber' })),
    { code: 'OBJECTION_NO_GRANT' },
    'a revoked grant does not count',
  );
  const pension = await grantInsurance(w.grants, 'pension');
  const viaOther = await w.service.submit(civilAdmin, insuranceObjection({ item: 'idNumber' }));
  t.equal(viaOther.grantId, pension.id, 'any live grant of the department counts');
});

t.test('who may answer, withdraw and see; illegal transitions', async (t) => {
  const w = await buildObjectionWorld(t);
  const raised = await w.service.submit(civilAdmin, insuranceObjection());
  const answer = { outcome: 'data-correct' as const, reason: '经核实，缴费记录无误' };

  await t.rejects(w.service.answer(civilAdmin, raised.id, answer), {
    code: 'OBJECTION_FORBIDDEN',
    message: /only an administrator of the provider department/,
  });
  await t.rejects(w.service.answer(policeAdmin, raised.id, answer), { code: 'OBJECTION_NOT_FOUND' });
  await t.rejects(w.service.answer(bureauActor, raised.id, answer), { code: 'OBJECTION_FORBIDDEN' });
  await t.rejects(w.service.withdraw(hrAdmin, raised.id), { code: 'OBJECTION_FORBIDDEN' });
  await t.rejects(w.service.get(medicalAdmin, raised.id), { code: 'OBJECTION_NOT_FOUND', statusCode: 404 });
  await t.rejects(w.service.answer(hrAdmin, raised.id, { ...answer, correctedValue: '12' }), {
    code: 'OBJECTION_INVALID',
  });
  await t.rejects(w.service.answer(hrAdmin, raised.id, { ...answer, reason: '   ' }), {
    code: 'OBJECTION_INVALID',
  });
  await t.rejects(w.service.get(hrAdmin, 'OBJ-20260302-999999'), { code: 'OBJECTION_NOT_FOUND' });
  t.equal(
    (await w.service.get(hrAdmin, raised.id)).key,
    ID_NUMBER_NORMALIZED,
    'the provider finds the record',
  );
  t.equal((await w.service.get(bureauActor, raised.id)).state, 'open');
  await w.takeOutbox();

  const withdrawn = await w.service.withdraw(civilAdmin, raised.id, '申请人已撤回救助申请');
  t.match(withdrawn, {
    state: 'withdrawn',
    history: [{ action: 'submit' }, { action: 'withdraw', reason: '申请人已撤回救助申请' }],
  });
  t.match(events(await w.takeOutbox()), [
    { type: 'objection.withdrawn', recipients: [HUMAN_RESOURCES], data: { reason: '申请人已撤回救助申请' } },
  ]);
  await t.rejects(w.service.answer(hrAdmin, raised.id, answer), {
    code: 'OBJECTION_ILLEGAL_TRANSITION',
    statusCode: 409,
    message: `objection ${raised.id} is withdrawn: cannot uphold (allowed: nothing (it is final))`,
  });
  await t.rejects(w.service.withdraw(civilAdmin, raised.id), { code: 'OBJECTION_ILLEGAL_TRANSITION' });

  const upheld = await w.service.submit(civilAdmin, insuranceObjection());
  const done = await w.service.answer(hrAdmin, upheld.id, answer);
  t.match(done, {
    state: 'data-correct',
    answer: { outcome: 'data-correct', reason: '经核实，缴费记录无误' },
  });
  t.notOk(done.answer?.correctedValue);
  await t.rejects(w.service.answer(hrAdmin, upheld.id, { outcome: 'corrected', reason: '再次更正' }), {
    code: 'OBJECTION_ILLEGAL_TRANSITION',
  });
});

t.test('listing: each department its own, the bureau all, with filters', async (t) => {
  const w = await buildObjectionWorld(t);
  const a = await w.service.submit(civilAdmin, insuranceObjection());
  w.clock.set('2026-03-03T10:00:00+08:00');
  const b = await w.service.submit(civilAdmin, insuranceObjection({ item: 'insuranceType' }));
  await w.service.answer(hrAdmin, b.id, { outcome: 'data-correct', reason: '险种类型无误' });
  const ids = (actor: ActorRef, query: object = {}) =>
    w.service.list(actor, { page: 1, pageSize: 50, ...query }).then((p) => p.objections.map((o) => o.id));

  t.same(await ids(civilAdmin), [b.id, a.id], 'raised by it, newest first');
  t.same(await ids(hrAdmin), [b.id, a.id], 'to be answered by it');
  t.same(await ids(medicalAdmin), [], 'another department sees none');
  t.same(await ids(bureauActor, { state: 'open' }), [a.id]);
  t.same(await ids(bureauActor, { resourceCode: SOCIAL_INSURANCE, state: 'data-correct' }), [b.id]);
  t.same(await ids(bureauActor, { dept: HUMAN_RESOURCES }), [b.id, a.id]);
  w.clock.set('2026-03-05T23:59:59.999+08:00');
  t.same(await ids(hrAdmin, { overdue: true }), [], 'the due date is still running');
  w.clock.set('2026-03-06T00:00:00+08:00');
  t.same(await ids(hrAdmin, { overdue: true }), [a.id], 'from 24:00 CST of the due date, by the clock');
  t.same(await ids(bureauActor, { overdue: true }), [a.id]);
  t.same(await ids(bureauActor, { overdue: false }), [b.id]);
  await t.rejects(w.service.list(medicalAdmin, { dept: CIVIL_AFFAIRS, page: 1, pageSize: 10 }), {
    code: 'OBJECTION_FORBIDDEN',
  });
  await t.rejects(w.service.list({ role: 'auditor', name: '审计 周' }, { page: 1, pageSize: 10 }), {
    code: 'OBJECTION_FORBIDDEN',
  });
  await t.rejects(w.service.list(bureauActor, { page: 0, pageSize: 10 }), { code: 'OBJECTION_INVALID' });
  const page2 = await w.service.list(bureauActor, { page: 2, pageSize: 1 });
  t.same([page2.total, page2.objections.map((o) => o.id)], [2, [a.id]]);
});
