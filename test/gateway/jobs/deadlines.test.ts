import t from 'tap';
import { searchAudit } from '../../../audit/search.js';
import type { Timer } from '../../../policies/applications/schema.js';
import { useRedis } from '../../helpers/redis.js';
import {
  bureauActor,
  CIVIL_AFFAIRS,
  civilAdmin,
  ENTERPRISE,
  enterpriseApplication,
  HUMAN_RESOURCES,
  hrAdmin,
  insuranceApplication,
  marketAdmin,
} from '../../policies/applications/fixtures.js';
import { buildWorkflowApp, eventually, startReceiver } from './workflow-app.js';

type Gateway = Awaited<ReturnType<typeof buildWorkflowApp>>;
type Tap = Parameters<typeof buildWorkflowApp>[0];

/** The delayed job of a timer: moved to run now, as if its time had come. */
async function promote(t: Tap, gw: Gateway, timer: Timer) {
  const job = await gw.workflow.queues.deadlines.getJob(timer.id);
  if (!job) throw new Error(`no job ${timer.id}`);
  t.equal(await job.getState(), 'delayed', `${timer.kind} waits in the queue`);
  await job.promote();
  return job;
}

async function timersOf(gw: Gateway, applicationId: string, stage: number): Promise<Record<string, Timer>> {
  const jobs = await gw.workflow.queues.deadlines.getJobs(['delayed', 'waiting', 'completed']);
  const mine = jobs.filter((j) => j.data.applicationId === applicationId && j.data.stage === stage);
  return Object.fromEntries(mine.map((j) => [j.data.kind, j.data]));
}

t.test(
  'overdue at the check stage and at the provider stage, by the platform clock, on real workers',
  async (t) => {
    const gw = await buildWorkflowApp(t, { workflow: { webhooks: { attempts: 3, backoffMs: 10 } } });
    const provider = await startReceiver(t, () => 200);
    const bureauHooks = await startReceiver(t, () => 200);
    await gw.workflow.notifications.register(hrAdmin, {
      url: provider.url('/hr'),
      events: ['application.reminder', 'application.overdue'],
    });
    await gw.workflow.notifications.register(bureauActor, {
      url: bureauHooks.url('/bureau'),
      events: ['application.escalated', 'application.overdue'],
    });
    await gw.workflow.startWorkers({ availability: false });

    const app = await gw.workflow.applications.submit(civilAdmin, insuranceApplication());
    const check = await timersOf(gw, app.id, 1);
    t.same(Object.keys(check).sort(), ['escalate', 'overdue', 'remind']);
    t.equal(
      new Date(check.overdue!.runAt).toISOString(),
      '2026-03-05T16:00:00.000Z',
      '24:00 CST of the third working day',
    );

    // Run before its time by the platform clock, the job goes back to wait.
    const early = await promote(t, gw, check.overdue!);
    await eventually(
      async () => ((await early.getState()) === 'delayed' ? true : undefined),
      'the early job to wait again',
    );
    t.notOk((await gw.workflow.applications.get(bureauActor, app.id)).stages[0]?.overdueAt);

    gw.clock.set('2026-03-06T08:00:00+08:00');
    await promote(t, gw, check.overdue!);
    const late = await eventually(async () => {
      const a = await gw.workflow.applications.get(bureauActor, app.id);
      return a.stages[0]?.overdueAt ? a : undefined;
    }, 'the check stage to be marked overdue');
    t.equal(late.stages[0]?.overdueAt, '2026-03-06T00:00:00.000Z');
    t.match(late.history.at(-1), { action: 'overdue', by: { role: 'system' } });
    const overdueList = await gw.app.inject({
      url: '/v1/applications?overdue=true',
      headers: gw.as(bureauActor),
    });
    t.same(
      overdueList.json().applications.map((a: { id: string }) => a.id),
      [app.id],
    );
    await eventually(
      async () => (bureauHooks.received.length >= 1 ? true : undefined),
      'the bureau to hear of it',
    );

    gw.clock.set('2026-03-07T00:00:00+08:00');
    await promote(t, gw, check.escalate!);
    await eventually(
      async () =>
        (await gw.workflow.applications.get(bureauActor, app.id)).stages[0]?.escalatedAt ? true : undefined,
      'escalation',
    );
    await eventually(
      async () => (bureauHooks.received.length >= 2 ? true : undefined),
      'the escalation webhook',
    );
    t.same(
      bureauHooks.received.map((r) => r.headers['x-govshare-event']),
      ['application.overdue', 'application.escalated'],
    );

    // Checked late; the provider's own 10 working days begin now.
    gw.clock.set('2026-03-09T09:00:00+08:00');
    await gw.workflow.applications.check(bureauActor, app.id, { outcome: 'accept' });
    t.equal(
      await (await gw.workflow.queues.deadlines.getJob(check.remind!.id))?.getState(),
      undefined,
      'the check stage’s pending timer was dropped',
    );
    const authorize = await timersOf(gw, app.id, 2);
    t.equal(
      new Date(authorize.overdue!.runAt).toISOString(),
      '2026-03-23T16:00:00.000Z',
      'due 2026-03-23 24:00 CST',
    );

    gw.clock.set('2026-03-23T00:00:00+08:00');
    await promote(t, gw, authorize.remind!);
    await eventually(
      async () => (provider.received.length >= 1 ? true : undefined),
      'the reminder to the provider',
    );
    gw.clock.set('2026-03-24T00:00:00+08:00');
    await promote(t, gw, authorize.overdue!);
    await eventually(
      async () => (provider.received.length >= 2 ? true : undefined),
      'the overdue notice to the provider',
    );
    t.same(
      provider.received.map((r) => r.headers['x-govshare-event']),
      ['application.reminder', 'application.overdue'],
    );
    const stage2 = (await gw.workflow.applications.get(hrAdmin, app.id)).stages[1]!;
    t.match(stage2, {
      name: 'authorize',
      remindedAt: '2026-03-22T16:00:00.000Z',
      overdueAt: '2026-03-23T16:00:00.000Z',
    });
    const body = JSON.parse(provider.received[1]!.body.toString());
    t.match(body.data, {
      applicationId: app.id,
      stage: 'authorize',
      dueDate: '2026-03-23',
      providerDept: HUMAN_RESOURCES,
      consumerDept: CIVIL_AFFAIRS,
    });

    // Deciding late still decides; the statistics will count the lateness.
    const { grant } = await gw.workflow.applications.authorize(hrAdmin, app.id, {
      items: ['idNumber', 'insuranceType'],
    });
    t.same(grant.items, ['idNumber', 'insuranceType']);

    // What the platform did on its own is in the audit trail as admin records of the platform.
    const { context } = gw;
    const trail = await searchAudit(context.redis, context.prefix, context.platform.subjectHmacKey, {
      limit: 500,
    });
    const clockRecords = trail.records.filter((r) => r.actor.role === 'system').map((r) => r.action);
    t.same(clockRecords.sort(), [
      'application.escalate',
      'application.overdue',
      'application.overdue',
      'application.remind',
    ]);
  },
);

/** The audit records the platform wrote on its own (actor role `system`). */
async function platformRecords(gw: Gateway) {
  const { context } = gw;
  const trail = await searchAudit(context.redis, context.prefix, context.platform.subjectHmacKey, {
    limit: 500,
  });
  return trail.records.filter((r) => r.actor.role === 'system');
}

t.test(
  'a clock change the audit trail refuses is made, and its record follows, once, when the trail takes writes again',
  async (t) => {
    const { server } = await useRedis(t);
    const admin = await useRedis(t);
    // Everything but appending to the audit streams: XADD only on the outboxes and BullMQ's keys.
    await admin.redis.call(
      'ACL',
      'SETUSER',
      'clocks',
      'on',
      '>clocks-pw',
      '~*',
      '&*',
      '+@all',
      '-xadd',
      '(+xadd ~*outbox ~{*bull}:*)',
    );
    const gw = await buildWorkflowApp(t, {
      redisUrl: server.url.replace('redis://', 'redis://clocks:clocks-pw@'),
      workflow: { relayIntervalMs: 50 },
    });
    await gw.workflow.startWorkers({ webhooks: false, availability: false });
    const app = await gw.workflow.applications.submit(civilAdmin, insuranceApplication());
    const check = await timersOf(gw, app.id, 1);

    gw.clock.set('2026-03-06T08:00:00+08:00');
    const job = await promote(t, gw, check.overdue!);
    await eventually(
      async () => ((await job.getState()) === 'completed' ? true : undefined),
      'the overdue timer to run',
    );
    const overdue = await gw.workflow.applications.get(bureauActor, app.id);
    t.equal(overdue.stages[0]?.overdueAt, '2026-03-06T00:00:00.000Z', 'the change is made');
    t.same(await platformRecords(gw), [], 'its audit record was refused');
    const waiting = await gw.workflow.applications.writer.store.readOutbox(10);
    t.same(
      waiting.flatMap((w) => w.entry.audit ?? []),
      [
        {
          action: 'application.overdue',
          at: '2026-03-06T00:00:00.000Z',
          detail: { application: app.id, stage: 1 },
        },
      ],
      'the record waits in the outbox, committed with the change',
    );

    gw.clock.set('2026-03-09T09:00:00+08:00');
    await admin.redis.call('ACL', 'SETUSER', 'clocks', '+xadd');
    const appended = await eventually(async () => {
      const found = await platformRecords(gw);
      return found.length > 0 ? found : undefined;
    }, 'the periodic drain to append the record');
    t.match(appended, [
      {
        action: 'application.overdue',
        time: '2026-03-06T00:00:00.000Z',
        requestId: /^platform-applications-\d+-\d+-0$/,
        decision: 'allow',
        detail: { application: app.id, stage: 1 },
      },
    ]);
    t.equal(appended.length, 1);
    await gw.workflow.drainOutbox();
    t.equal((await platformRecords(gw)).length, 1, 'appended once');
    t.same(await gw.workflow.applications.writer.store.readOutbox(10), [], 'and the outbox is empty');
  },
);

t.test('a resource withdrawal filed in advance revokes its grants when it takes effect', async (t) => {
  const gw = await buildWorkflowApp(t);
  await gw.workflow.startWorkers({ webhooks: false, availability: false });
  const app = await gw.workflow.applications.submit(civilAdmin, enterpriseApplication());
  const filed = await gw.app.inject({
    method: 'POST',
    url: `/v1/catalog/${encodeURIComponent(ENTERPRISE)}/withdraw`,
    headers: gw.as(marketAdmin),
    payload: { reason: '职能划转至市数据局', effectiveFrom: '2026-03-09' },
  });
  t.equal(filed.statusCode, 200, filed.body);
  // What the catalog route calls once the lead wires `workflow.catalogHooks` into it.
  await gw.workflow.catalogHooks.onResourceStatusChanged?.(ENTERPRISE, 'withdraw', '职能划转至市数据局', {
    role: 'dept-admin',
    name: marketAdmin.name,
    dept: marketAdmin.dept!,
  });
  t.equal((await gw.context.grants.get(app.grantId!))?.status, 'active', 'in force until the date');

  const [job] = await gw.workflow.queues.deadlines.getJobs(['delayed']);
  t.match(job?.data, { kind: 'resource-status', resourceCode: ENTERPRISE, status: 'withdrawn' });
  t.equal(new Date(job!.data.runAt).toISOString(), '2026-03-08T16:00:00.000Z', '00:00 CST of the date');
  gw.clock.set('2026-03-09T00:00:05+08:00');
  await job!.promote();
  const revoked = await eventually(async () => {
    const g = await gw.context.grants.get(app.grantId!);
    return g?.status === 'revoked' ? g : undefined;
  }, 'the grant to be revoked');
  t.match(revoked.statusHistory.at(-1)?.reason, /withdrawn by its provider: 职能划转至市数据局/);
  t.same(revoked.statusHistory.at(-1)?.by, {
    role: 'dept-admin',
    name: marketAdmin.name,
    dept: marketAdmin.dept,
  });
});
