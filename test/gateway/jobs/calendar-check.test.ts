/**
 * Issue 18 item 6: the deadlines worker warns the bureau 60 days before the working-day calendar runs
 * out (log, metric, inbox and webhook event), and an application whose clock reaches an unknown year
 * stays open without a guessed deadline, flagged to the bureau. Real Redis, real BullMQ worker, fixed clock.
 */
import t from 'tap';
import { CALENDAR_CHECK_JOB } from '../../../gateway/jobs/deadlines.js';
import { bureauActor, civilAdmin, insuranceApplication } from '../../policies/applications/fixtures.js';
import { buildWorkflowApp, eventually } from './workflow-app.js';

t.test('60 days before the table runs out the bureau is warned once, by the worker', async (t) => {
  const gw = await buildWorkflowApp(t);
  gw.clock.set('2026-09-01T10:00:00+08:00');
  t.equal(await gw.workflow.calendarCheck(), undefined, 'September: 121 days left, nothing to say');

  gw.clock.set('2026-11-15T10:00:00+08:00');
  await gw.workflow.startWorkers({ availability: false, webhooks: false });
  const scheduler = await gw.workflow.queues.deadlines.getJobScheduler(CALENDAR_CHECK_JOB);
  t.ok(scheduler, 'the daily check is scheduled on the deadlines queue');
  const inbox = async () => {
    const res = await gw.app.inject({
      method: 'GET',
      url: '/v1/inbox?type=calendar.expiring',
      headers: gw.as(bureauActor),
    });
    return res.json().events as { id: string; data: Record<string, unknown> }[];
  };
  const events = await eventually(async () => {
    const list = await inbox();
    return list.length > 0 ? list : undefined;
  }, 'the calendar warning in the bureau inbox');
  t.match(events, [
    {
      id: 'calendar.expiring.2026-12-31',
      data: { lastKnownDate: '2026-12-31', daysLeft: 46, missingYear: 2027, message: /runs out in 46 days/ },
    },
  ]);
  await gw.workflow.calendarCheck();
  t.equal((await inbox()).length, 1, 'a second run announces nothing new');

  const metrics = await gw.app.inject({ method: 'GET', url: '/metrics' });
  t.match(metrics.body, /govshare_calendar_days_left 46/);
});

t.test('an application whose deadline reaches an unknown year stays open and is flagged', async (t) => {
  const gw = await buildWorkflowApp(t);
  gw.clock.set('2026-12-29T10:00:00+08:00');
  const res = await gw.app.inject({
    method: 'POST',
    url: '/v1/applications',
    headers: gw.as(civilAdmin),
    payload: insuranceApplication(),
  });
  t.equal(res.statusCode, 201, res.body);
  const app = res.json();
  t.equal(app.state, 'checking', 'open, not refused');
  t.match(app.stages[0], { name: 'check', provisional: true, unknownYears: [2027] });
  t.equal(app.stages[0].dueAt, undefined, 'no guessed deadline');
  const flagged = await gw.app.inject({
    method: 'GET',
    url: '/v1/inbox?type=application.clock-pending',
    headers: gw.as(bureauActor),
  });
  t.match(flagged.json().events, [{ data: { applicationId: app.id, stage: 'check', unknownYears: [2027] } }]);
  const jobs = await gw.workflow.queues.deadlines.getJobs(['delayed', 'waiting']);
  t.equal(jobs.filter((j) => j.data.applicationId === app.id).length, 0, 'no timers at a guessed time');
});
