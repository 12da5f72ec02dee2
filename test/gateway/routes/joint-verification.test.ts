/**
 * Joint verification of inconsistent data between departments ([HB-S] 17) over HTTP on real workers: a
 * case per finding opened by a quality run (deduplicated across runs) or by hand, both departments'
 * answers, the bureau's decision when they disagree or their clock runs out, the correction order that
 * follows (a rectification order), the notices (webhook and inbox), who may see and act, and the audit.
 */
import t, { type Test } from 'tap';
import type { AuditRecord } from '../../../audit/record.js';
import { searchAudit } from '../../../audit/search.js';
import { subjectHash } from '../../../audit/subject.js';
import type { ResourceEntry } from '../../../catalog/schema.js';
import { ConfigError, loadConfig } from '../../../gateway/app/config.js';
import type { Timer } from '../../../policies/applications/schema.js';
import { populationEntry, publish, SAMPLE_ID_NUMBER } from '../../catalog/fixtures.js';
import {
  auditorActor,
  bureauActor,
  CIVIL_AFFAIRS,
  civilAdmin,
  marketAdmin,
  medicalAdmin,
  POPULATION,
  PUBLIC_SECURITY,
  policeAdmin,
} from '../../policies/applications/fixtures.js';
import { buildWorkflowApp, eventually, startReceiver } from '../jobs/workflow-app.js';

type Gateway = Awaited<ReturnType<typeof buildWorkflowApp>>;

const ASSISTANCE = '301010/1';
const OTHER_ID_NUMBER = '440524188001010014';

/** 最低生活保障对象信息 of the civil affairs bureau: reuses the population resource's name (一数一源). */
function assistanceEntry(): ResourceEntry {
  return {
    code: ASSISTANCE,
    name: '最低生活保障对象信息',
    summary: '城乡最低生活保障对象的身份和保障信息',
    classification: { category: 'department', code: '301010' },
    provider: { code: CIVIL_AFFAIRS, name: '武汉市民政局' },
    confidentiality: { result: 'not-classified', reviewedBy: '本单位保密工作机构', reviewedOn: '2026-01-05' },
    format: { type: 'database', subtype: 'Dm' },
    items: [
      {
        name: 'idNumber',
        label: '公民身份号码',
        dataType: 'C',
        length: 18,
        key: true,
        sensitive: 'idNumber',
      },
      {
        name: 'name',
        label: '姓名',
        dataType: 'C',
        length: 50,
        sensitive: 'name',
        semanticId: 'person.name',
      },
      { name: 'monthlyAmount', label: '月保障金额', dataType: 'Y' },
    ],
    share: { type: 'unconditional', modes: ['api'] },
    open: { type: 'none' },
    updateCycle: 'monthly',
    service: { connector: 'http', endpoint: 'http://127.0.0.1:9/assistance', timeoutMs: 3000 },
  };
}

async function timersOf(gw: Gateway, caseId: string): Promise<Record<string, Timer>> {
  const jobs = await gw.workflow.queues.deadlines.getJobs(['delayed', 'waiting']);
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

/** A gateway whose population resource is the source of person.name and the assistance resource reuses it. */
async function setup(t: Test, env: Record<string, string> = {}) {
  const gw = await buildWorkflowApp(t, {
    workflow: { webhooks: { attempts: 3, backoffMs: 10 }, relayIntervalMs: 600_000 },
    env,
  });
  const call = async (actor: typeof civilAdmin, method: 'GET' | 'POST', url: string, payload?: object) => {
    const res = await gw.app.inject({ method, url, headers: gw.as(actor), ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json() };
  };
  const population = populationEntry();
  population.items = population.items.map((i) =>
    i.name === 'name' ? { ...i, semanticId: 'person.name', source: true } : i,
  );
  await gw.context.catalog.proposeChange(policeAdmin, POPULATION, population);
  await gw.context.catalog.submit(policeAdmin, POPULATION);
  await gw.context.catalog.approve(bureauActor, POPULATION);
  await publish(gw.context.catalog, assistanceEntry());
  return { gw, call };
}

t.test('a joint verification from a quality run, answered, decided and corrected', async (t) => {
  const { gw, call } = await setup(t);
  const events = [
    'joint-verification.opened',
    'joint-verification.answered',
    'joint-verification.referred',
    'joint-verification.decided',
    'rectification.ordered',
    'case.reminder',
  ] as const;
  const hooks = {
    bureau: await startReceiver(t, () => 200),
    police: await startReceiver(t, () => 200),
    civil: await startReceiver(t, () => 200),
  };
  await gw.workflow.notifications.register(bureauActor, { url: hooks.bureau.url('/b'), events: [...events] });
  await gw.workflow.notifications.register(policeAdmin, { url: hooks.police.url('/p'), events: [...events] });
  await gw.workflow.notifications.register(civilAdmin, { url: hooks.civil.url('/c'), events: [...events] });
  const seen = (r: (typeof hooks)['bureau']) =>
    r.received.map((x) => `${x.headers['x-govshare-event']} ${JSON.parse(x.body.toString()).data.caseId}`);
  const until = (r: (typeof hooks)['bureau'], event: string, caseId: string) =>
    eventually(async () => (seen(r).includes(`${event} ${caseId}`) ? true : undefined), `${event} ${caseId}`);

  await gw.workflow.startWorkers({ availability: false, reports: false });

  // A quality run of the assistance resource finds that it disagrees with its source on one record.
  const { joint } = gw.workflow.cases;
  const finding = (runId: string, values: [string, string] = ['张三丰', '张三']) =>
    joint.fromQualityRun({
      semanticId: 'person.name',
      resources: [ASSISTANCE, POPULATION],
      values,
      key: SAMPLE_ID_NUMBER,
      maskedKey: '110105********002X',
      runId,
    });
  const first = await finding('run-1');
  t.equal(first.deduplicated, false);
  const jv = first.case;
  const secret = gw.context.platform.subjectHmacKey;
  t.match(jv, {
    id: /^JV-20260302-\d{6}$/,
    kind: 'joint-verification',
    state: 'open',
    fromDept: PUBLIC_SECURITY,
    dept: CIVIL_AFFAIRS,
    responsible: 'departments',
    openedBy: { role: 'system' },
    deadline: { limitWorkdays: 5, dueDate: '2026-03-09' },
    verification: {
      semanticId: 'person.name',
      recordKeyHash: subjectHash(secret, SAMPLE_ID_NUMBER),
      origin: 'quality-run',
      runId: 'run-1',
      authoritativeSource: POPULATION,
      sides: [
        { dept: PUBLIC_SECURITY, resourceCode: POPULATION, item: 'name', authoritative: true },
        { dept: CIVIL_AFFAIRS, resourceCode: ASSISTANCE, item: 'name', authoritative: false },
      ],
    },
  });
  t.not(jv.verification!.sides[0]!.valueFingerprint, jv.verification!.sides[1]!.valueFingerprint);
  t.notMatch(JSON.stringify(jv), new RegExp(`${SAMPLE_ID_NUMBER}|张三`), 'no clear key nor value stored');
  t.notMatch(
    (await gw.context.redis.hget(gw.workflow.cases.store.keys.data, jv.id)) ?? '',
    new RegExp(`${SAMPLE_ID_NUMBER}|张三`),
  );
  await until(hooks.police, 'joint-verification.opened', jv.id);
  await until(hooks.civil, 'joint-verification.opened', jv.id);

  // Found again by the next run, in either direction: the same case.
  t.match(await finding('run-2'), { deduplicated: true, case: { id: jv.id } });
  const reversed = await joint.fromQualityRun({
    semanticId: 'person.name',
    resources: [POPULATION, ASSISTANCE],
    values: ['张三', '张三丰'],
    key: SAMPLE_ID_NUMBER,
    runId: 'run-p',
  });
  t.match(reversed, { deduplicated: true, case: { id: jv.id } });

  // Only the two departments' administrators, the bureau and auditors see it.
  t.equal((await call(medicalAdmin, 'GET', `/v1/cases/${jv.id}`)).status, 404, 'outsiders do not see it');
  t.same((await call(medicalAdmin, 'GET', '/v1/cases?kind=joint-verification')).body.cases, []);
  t.equal((await call(auditorActor, 'GET', `/v1/cases/${jv.id}`)).status, 200);
  t.equal((await call(civilAdmin, 'GET', `/v1/cases/${jv.id}`)).status, 200);
  const outsider = await call(medicalAdmin, 'POST', `/v1/joint-verifications/${jv.id}/answer`, {
    position: 'confirm',
    evidence: '本部门数据',
  });
  t.same([outsider.status, outsider.body.code], [404, 'CASE_NOT_FOUND']);
  const early = await call(bureauActor, 'POST', `/v1/joint-verifications/${jv.id}/decision`, {
    correctSource: POPULATION,
    text: '以公安数据为准',
  });
  t.same([early.status, early.body.code], [409, 'CASE_ILLEGAL_TRANSITION'], 'the departments answer first');

  // The civil affairs bureau concedes, the public security bureau confirms: settled by agreement.
  gw.clock.set('2026-03-03T10:00:00+08:00');
  const conceded = await call(civilAdmin, 'POST', `/v1/joint-verifications/${jv.id}/answer`, {
    position: 'concede',
    evidence: '经核对户籍证明，本部门录入有误',
  });
  t.equal(conceded.status, 200, conceded.body.detail);
  t.match(conceded.body, {
    state: 'open',
    verification: { sides: [{}, { answer: { position: 'concede' } }] },
  });
  await until(hooks.police, 'joint-verification.answered', jv.id);
  const twice = await call(civilAdmin, 'POST', `/v1/joint-verifications/${jv.id}/answer`, {
    position: 'confirm',
    evidence: '改变主意',
  });
  t.same([twice.status, twice.body.code], [409, 'CASE_JOINT_ANSWERED']);
  const confirmed = await call(policeAdmin, 'POST', `/v1/joint-verifications/${jv.id}/answer`, {
    position: 'confirm',
    evidence: '户籍登记原始档案（2019年）',
  });
  t.equal(confirmed.status, 200, confirmed.body.detail);
  const settled = confirmed.body;
  t.match(settled, {
    state: 'decided',
    closedAt: '2026-03-03T02:00:00.000Z',
    verification: {
      outcome: {
        correctSource: POPULATION,
        by: 'agreement',
        correctionDept: CIVIL_AFFAIRS,
        correctionCaseId: /^RECT-/,
      },
    },
  });
  t.same(await timersOf(gw, jv.id), {}, 'its clock stopped');
  await until(hooks.civil, 'joint-verification.decided', jv.id);
  await until(hooks.police, 'joint-verification.decided', jv.id);
  const inbox = await call(policeAdmin, 'GET', '/v1/inbox?type=joint-verification.decided');
  t.match(inbox.body.events, [{ type: 'joint-verification.decided', data: { caseId: jv.id } }], 'inbox too');

  // The correction is a rectification order to the civil affairs bureau, on its clock.
  const orderId = settled.verification.outcome.correctionCaseId;
  const order = await call(civilAdmin, 'GET', `/v1/cases/${orderId}`);
  t.match(order.body, {
    kind: 'rectification',
    state: 'open',
    dept: CIVIL_AFFAIRS,
    resourceCode: ASSISTANCE,
    relatedCase: jv.id,
    responsible: CIVIL_AFFAIRS,
    deadline: { limitWorkdays: 15 },
  });
  await until(hooks.civil, 'rectification.ordered', orderId);

  // A process that stopped between the decision and the order: the worker files it at start, once.
  await gw.workflow.cases.store.update(jv.id, gw.clock.now, (c) => {
    delete c.verification!.outcome!.correctionCaseId;
    return { next: c };
  });
  t.equal(await gw.workflow.cases.recoverCorrections(), 1);
  const recovered = await call(bureauActor, 'GET', `/v1/cases/${jv.id}`);
  t.equal(recovered.body.verification.outcome.correctionCaseId, orderId, 'the open order is reused');
  t.equal(await gw.workflow.cases.recoverCorrections(), 0);
  t.equal((await call(civilAdmin, 'GET', '/v1/cases?kind=rectification')).body.cases.length, 1);
  t.match(await finding('run-3'), { deduplicated: true, case: { id: jv.id } }, 'the correction is under way');

  // Reported corrected and accepted, yet found again: the correction did not hold, a new case.
  await call(civilAdmin, 'POST', `/v1/rectifications/${orderId}/report`, { text: '已按户籍信息更正' });
  const accepted = await call(bureauActor, 'POST', `/v1/rectifications/${orderId}/review`, {
    outcome: 'accept',
    reason: '已更正',
  });
  t.equal(accepted.body.state, 'closed');
  const again = await finding('run-4');
  t.equal(again.deduplicated, false);
  t.not(again.case.id, jv.id);

  // Opened by hand: only the bureau or one of the two departments; the same finding is the same case.
  const manual = {
    semanticId: 'person.name',
    resources: [POPULATION, ASSISTANCE],
    key: SAMPLE_ID_NUMBER,
    values: ['张三', '张三丰'],
    description: '办理低保复核时发现姓名与户籍信息不一致',
  };
  const byOutsider = await call(marketAdmin, 'POST', '/v1/joint-verifications', manual);
  t.same([byOutsider.status, byOutsider.body.code], [403, 'CASE_FORBIDDEN']);
  const same = await call(civilAdmin, 'POST', '/v1/joint-verifications', manual);
  t.same([same.status, same.body.id], [200, again.case.id], 'the open case of the finding');
  const agree = await call(civilAdmin, 'POST', '/v1/joint-verifications', {
    ...manual,
    values: ['张三', ' 张三 '],
  });
  t.same([agree.status, agree.body.code], [422, 'CASE_JOINT_VALUES_AGREE']);
  const unknownItem = await call(bureauActor, 'POST', '/v1/joint-verifications', {
    ...manual,
    semanticId: 'person.birthPlace',
  });
  t.same([unknownItem.status, unknownItem.body.code], [422, 'CASE_JOINT_ITEM_UNKNOWN']);
  const bad = await call(bureauActor, 'POST', '/v1/joint-verifications', {
    ...manual,
    resources: [POPULATION],
  });
  t.equal(bad.status, 400, 'validated');

  // Both confirm: the bureau decides, naming one of the two resources.
  const second = again.case;
  await call(civilAdmin, 'POST', `/v1/joint-verifications/${second.id}/answer`, {
    position: 'confirm',
    evidence: '民政部门2026年核对的身份证复印件',
  });
  const disagree = await call(policeAdmin, 'POST', `/v1/joint-verifications/${second.id}/answer`, {
    position: 'confirm',
    evidence: '户籍登记原始档案',
  });
  t.match(disagree.body, {
    state: 'referred',
    responsible: 'bureau',
    deadline: { limitWorkdays: 10, dueDate: '2026-03-17' },
  });
  await until(hooks.bureau, 'joint-verification.referred', second.id);
  t.ok((await timersOf(gw, second.id)).overdue, 'the bureau decides on its own clock');
  const byParty = await call(civilAdmin, 'POST', `/v1/joint-verifications/${second.id}/decision`, {
    correctSource: ASSISTANCE,
    text: '自裁',
  });
  t.same([byParty.status, byParty.body.code], [403, 'ROLE_FORBIDDEN']);
  const wrongSource = await call(bureauActor, 'POST', `/v1/joint-verifications/${second.id}/decision`, {
    correctSource: '102001/1',
    text: '以市场监管数据为准',
  });
  t.same([wrongSource.status, wrongSource.body.code], [422, 'CASE_JOINT_SOURCE_INVALID']);
  const decided = await call(bureauActor, 'POST', `/v1/joint-verifications/${second.id}/decision`, {
    correctSource: ASSISTANCE,
    text: '经调取原始档案，户籍登记有误，以民政核对结果为准',
  });
  t.match(decided.body, {
    state: 'decided',
    decision: { withinLimit: true, by: { role: 'bureau' } },
    verification: { outcome: { correctSource: ASSISTANCE, by: 'bureau', correctionDept: PUBLIC_SECURITY } },
  });
  const policeOrder = await call(
    policeAdmin,
    'GET',
    `/v1/cases/${decided.body.verification.outcome.correctionCaseId}`,
  );
  t.match(policeOrder.body, { kind: 'rectification', dept: PUBLIC_SECURITY, resourceCode: POPULATION });
  await until(hooks.police, 'joint-verification.decided', second.id);
  await until(hooks.civil, 'joint-verification.decided', second.id);

  // The clock runs out: reminded, then referred to the bureau by the platform.
  gw.clock.set('2026-03-02T10:00:00+08:00');
  const late = await call(policeAdmin, 'POST', '/v1/joint-verifications', {
    ...manual,
    key: OTHER_ID_NUMBER,
  });
  t.equal(late.status, 201, late.body.detail);
  const timers = await timersOf(gw, late.body.id);
  gw.clock.set('2026-03-09T09:00:00+08:00');
  await fire(gw, timers.remind!);
  await until(hooks.civil, 'case.reminder', late.body.id);
  await call(civilAdmin, 'POST', `/v1/joint-verifications/${late.body.id}/answer`, {
    position: 'confirm',
    evidence: '民政核对结果',
  });
  gw.clock.set('2026-03-10T00:00:00+08:00');
  await fire(gw, timers.overdue!);
  await until(hooks.bureau, 'joint-verification.referred', late.body.id);
  const referred = await call(bureauActor, 'GET', `/v1/cases/${late.body.id}`);
  t.match(referred.body, {
    state: 'referred',
    responsible: 'bureau',
    deadline: { limitWorkdays: 10, dueDate: '2026-03-24' },
  });
  t.match(referred.body.history.at(-1), { action: 'refer', by: { role: 'system' } });
  t.match(referred.body.history.at(-1).reason, PUBLIC_SECURITY, 'names who did not answer');
  const reminder = hooks.police.received.find(
    (r) => r.headers['x-govshare-event'] === 'case.reminder' && r.body.toString().includes(late.body.id),
  );
  t.ok(reminder, 'the department yet to answer was reminded');

  const trail = await searchAudit(gw.context.redis, gw.context.prefix, secret, { limit: 500 });
  const actions = trail.records.map((r) => `${r.action} ${r.actor.role}`);
  for (const action of [
    'case.open system',
    'case.open dept-admin',
    'case.open-deduplicated dept-admin',
    'case.answer dept-admin',
    'case.decide bureau',
    'case.refer system',
  ]) {
    t.ok(actions.includes(action), `${action} audited`);
  }
  t.ok(
    trail.records.some(
      (r) =>
        r.action === 'case.open' &&
        r.actor.role === 'system' &&
        (r.detail as { related?: string } | undefined)?.related === jv.id,
    ),
    'the correction order the platform filed after the agreement is audited',
  );
  const opened = trail.records.find((r) => r.action === 'case.open' && r.actor.role === 'dept-admin');
  t.same(opened?.subjects, [subjectHash(secret, OTHER_ID_NUMBER)], 'the record is traceable by its key hash');
  t.notMatch(JSON.stringify(trail.records), new RegExp(`${SAMPLE_ID_NUMBER}|${OTHER_ID_NUMBER}|张三`));
});

t.test('an answer or a decision whose audit record cannot be written changes nothing', async (t) => {
  const { gw, call } = await setup(t);
  await gw.workflow.startWorkers({ availability: false, reports: false, deadlines: false });
  const writer = gw.context.audit;
  const append = writer.append.bind(writer);
  let refusing = false;
  writer.append = (record: AuditRecord, ...rest: unknown[]) =>
    refusing && record.action === 'request.received'
      ? Promise.reject(new Error('Redis went away'))
      : (append as (r: AuditRecord, ...x: unknown[]) => ReturnType<typeof append>)(record, ...rest);
  const opening = {
    semanticId: 'person.name',
    resources: [POPULATION, ASSISTANCE],
    key: SAMPLE_ID_NUMBER,
    values: ['张三', '张三丰'],
    description: '核对时发现不一致',
  };
  refusing = true;
  const notOpened = await call(civilAdmin, 'POST', '/v1/joint-verifications', opening);
  t.equal(notOpened.status, 503);
  t.same((await call(bureauActor, 'GET', '/v1/cases')).body.cases, [], 'nothing opened');
  refusing = false;
  const opened = await call(civilAdmin, 'POST', '/v1/joint-verifications', opening);
  t.equal(opened.status, 201);
  const id = opened.body.id;

  refusing = true;
  const answer = await call(civilAdmin, 'POST', `/v1/joint-verifications/${id}/answer`, {
    position: 'confirm',
    evidence: '民政核对结果',
  });
  t.equal(answer.status, 503);
  const unchanged = await call(bureauActor, 'GET', `/v1/cases/${id}`);
  t.equal(unchanged.body.verification.sides[1].answer, undefined, 'no answer recorded');
  refusing = false;
  for (const actor of [civilAdmin, policeAdmin]) {
    const res = await call(actor, 'POST', `/v1/joint-verifications/${id}/answer`, {
      position: 'confirm',
      evidence: '本部门登记信息',
    });
    t.equal(res.status, 200);
  }
  refusing = true;
  const decision = await call(bureauActor, 'POST', `/v1/joint-verifications/${id}/decision`, {
    correctSource: POPULATION,
    text: '以户籍登记为准',
  });
  t.equal(decision.status, 503);
  t.equal((await call(bureauActor, 'GET', `/v1/cases/${id}`)).body.state, 'referred', 'not decided');
  t.same((await call(bureauActor, 'GET', '/v1/cases?kind=rectification')).body.cases, [], 'no order');
});

t.test('the answer limit is a platform setting; the bureau then has the dispute limit', async (t) => {
  const { gw, call } = await setup(t, {
    GOVSHARE_JOINT_VERIFICATION_WORKDAYS: '8',
    GOVSHARE_DISPUTE_DECISION_WORKDAYS: '3',
  });
  const opened = await call(bureauActor, 'POST', '/v1/joint-verifications', {
    semanticId: 'person.name',
    resources: [ASSISTANCE, POPULATION],
    key: SAMPLE_ID_NUMBER,
    values: ['张三丰', '张三'],
    description: '平台抽查发现',
  });
  t.equal(opened.status, 201, opened.body.detail);
  t.match(opened.body, {
    openedBy: { role: 'bureau' },
    verification: { origin: 'manual' },
    deadline: { limitWorkdays: 8, dueDate: '2026-03-12' },
  });
  for (const actor of [civilAdmin, policeAdmin]) {
    await call(actor, 'POST', `/v1/joint-verifications/${opened.body.id}/answer`, {
      position: 'concede',
      evidence: '待核实',
    });
  }
  const referred = await call(bureauActor, 'GET', `/v1/cases/${opened.body.id}`);
  t.match(referred.body, {
    state: 'referred',
    deadline: { limitWorkdays: 3, dueDate: '2026-03-05' },
    history: [{}, {}, {}, { action: 'refer', reason: /neither department confirms/ }],
  });
  t.throws(() => loadConfig({ GOVSHARE_JOINT_VERIFICATION_WORKDAYS: '31' }), ConfigError, 'at most 30');
  t.equal(gw.workflow.cases.limits.jointVerification, 8);
});
