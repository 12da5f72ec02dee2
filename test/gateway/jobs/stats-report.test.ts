/**
 * The monthly statistics report job on a real BullMQ worker: scheduled on the 1st (CST), it publishes
 * last month's signed report and tells every department once, even when the job runs twice.
 */
import t from 'tap';
import {
  STATS_REPORT_PATTERN,
  STATS_REPORT_SCHEDULER_ID,
  STATS_REPORT_TZ,
} from '../../../gateway/jobs/stats-report.js';
import { verifyStatsReport } from '../../../policies/stats/report.js';
import { buildWorkflowApp, eventually } from './workflow-app.js';

t.test('the monthly job publishes last month once and tells each department once', async (t) => {
  const gw = await buildWorkflowApp(t);
  gw.clock.set('2026-03-01T00:05:00+08:00');
  await gw.workflow.startWorkers({ deadlines: false, webhooks: false, availability: false });
  const schedulers = await gw.workflow.queues.statsReports.getJobSchedulers();
  t.match(schedulers, [
    { key: STATS_REPORT_SCHEDULER_ID, pattern: STATS_REPORT_PATTERN, tz: STATS_REPORT_TZ },
  ]);

  const departments = (await gw.context.certs.listDepartments()).map((d) => d.code).sort();
  const first = await gw.workflow.queues.statsReports.add('monthly', {});
  const second = await gw.workflow.queues.statsReports.add('monthly', {});
  const results = await eventually(async () => {
    const jobs = await Promise.all([first, second].map((j) => gw.workflow.queues.statsReports.getJob(j.id!)));
    return jobs.every((j) => j?.returnvalue) ? jobs.map((j) => j!.returnvalue) : undefined;
  }, 'both runs of the monthly job');
  t.same(
    results.map((r) => r.period),
    ['2026-02', '2026-02'],
  );
  t.same(
    results.map((r) => r.created),
    [true, false],
    'built by the first run only',
  );
  t.same([...results[0].delivered].sort(), departments, 'the first run tells every department');
  t.same(results[1].delivered, [], 'the second tells nobody again');

  const signed = await gw.workflow.reports.require('2026-02');
  t.same(verifyStatsReport(signed, gw.context.platform.caCertPem, { at: new Date() }), {
    ok: true,
    period: '2026-02',
  });
  for (const dept of departments) {
    const inbox = await gw.workflow.notifications.store.listInbox(dept, { type: 'stats.report', limit: 10 });
    t.equal(inbox.length, 1, `${dept} has the report once`);
  }
});

t.test('a run whose audit record cannot be written publishes nothing and is retried', async (t) => {
  const written: { action: string; detail: Record<string, unknown> }[] = [];
  let refuse = true;
  const gw = await buildWorkflowApp(t, {
    workflow: {
      // The trail refuses the first writes, as when Redis goes away, then takes them.
      auditSystem: async (action, detail) => {
        if (refuse) throw new Error('Redis went away');
        written.push({ action, detail });
      },
    },
  });
  gw.clock.set('2026-03-01T00:05:00+08:00');
  await gw.workflow.startWorkers({ deadlines: false, webhooks: false, availability: false });
  const job = await gw.workflow.queues.statsReports.add(
    'monthly',
    {},
    { attempts: 5, backoff: { type: 'fixed', delay: 300 } },
  );
  await eventually(
    async () =>
      ((await gw.workflow.queues.statsReports.getJob(job.id!))?.attemptsMade ?? 0) >= 1 || undefined,
    'the first attempt to fail',
  );
  t.same(await gw.workflow.reports.list(), [], 'nothing stored while the record cannot be written');
  t.same(await gw.workflow.reports.deliveredTo('2026-02'), {}, 'no department told');
  refuse = false;
  const done = await eventually(async () => {
    const j = await gw.workflow.queues.statsReports.getJob(job.id!);
    return j?.returnvalue ? j : undefined;
  }, 'the retry');
  t.equal(done.returnvalue.created, true, 'the retry publishes it');
  t.match(written, [{ action: 'stats.report.publish', detail: { period: '2026-02', created: true } }]);
});
