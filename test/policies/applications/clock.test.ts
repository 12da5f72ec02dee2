import t from 'tap';
import {
  fireStageTimer,
  openStageTimers,
  recomputeProvisional,
} from '../../../policies/applications/clock.js';
import type { Timer } from '../../../policies/applications/schema.js';
import { ApplicationService } from '../../../policies/applications/service.js';
import { WorkdayCalendar } from '../../../policies/calendar/calendar.js';
import { resolveLimits } from '../../../policies/calendar/limits.js';
import { parseCalendarOverrides } from '../../../policies/calendar/overrides.js';
import {
  auditorActor,
  bureauActor,
  CIVIL_AFFAIRS,
  civilAdmin,
  HUMAN_RESOURCES,
  hrAdmin,
  insuranceApplication,
  MEDICAL_SECURITY,
  medicalAdmin,
  SOCIAL_INSURANCE,
} from './fixtures.js';
import { buildWorld } from './world.js';

t.test('stage timers: early, done once, then stale; overdue shows in the listing', async (t) => {
  const w = await buildWorld(t);
  const app = await w.service.submit(civilAdmin, insuranceApplication());
  const timers = (await w.takeOutbox())[0]!.timers!;
  const [remind, overdue, escalate] = timers as [Timer, Timer, Timer];

  t.equal(await fireStageTimer(w.service.writer, remind), 'early', 'not yet by the platform clock');
  w.clock.set('2026-03-05T00:00:00+08:00');
  t.equal(await fireStageTimer(w.service.writer, remind), 'done');
  t.equal(await fireStageTimer(w.service.writer, remind), 'stale', 'a repeated job changes nothing');
  const reminded = await w.service.get(bureauActor, app.id);
  t.equal(reminded.stages[0]?.remindedAt, '2026-03-04T16:00:00.000Z');
  t.same(
    (await w.takeOutbox()).flatMap((e) => e.events ?? []).map((e) => [e.type, e.recipients]),
    [['application.reminder', ['bureau']]],
  );

  const page = (actor = bureauActor, overdueOnly = true) =>
    w.service
      .list(actor, { overdue: overdueOnly, page: 1, pageSize: 50 })
      .then((p) => p.applications.map((a) => a.id));
  t.same(await page(), [], 'not overdue before 24:00 CST of the due date');
  w.clock.set('2026-03-06T00:00:01+08:00');
  t.same(await page(), [app.id], 'overdue by the clock even before the job runs');
  t.equal(await fireStageTimer(w.service.writer, overdue), 'done');
  const late = await w.service.get(bureauActor, app.id);
  t.equal(late.stages[0]?.overdueAt, '2026-03-05T16:00:01.000Z');
  t.equal(late.state, 'checking', 'overdue is not a state');
  t.same(late.history.at(-1)?.by, { role: 'system', name: 'govshare platform' });
  w.clock.set('2026-03-07T00:00:00+08:00');
  t.equal(await fireStageTimer(w.service.writer, escalate), 'done');
  t.same(
    (await w.takeOutbox()).flatMap((e) => e.events ?? []).map((e) => [e.type, [...e.recipients].sort()]),
    [
      ['application.overdue', [CIVIL_AFFAIRS, 'bureau'].sort()],
      ['application.escalated', ['bureau']],
    ],
  );

  await w.service.check(bureauActor, app.id, { outcome: 'accept' });
  t.same(await page(), [], 'a new stage has its own clock');
  t.equal(await fireStageTimer(w.service.writer, overdue), 'stale', 'the check stage has ended');
  t.same(await page(bureauActor, false), [app.id]);
  t.same(await page(hrAdmin, false), [app.id], 'the provider sees it');
  t.same(await page(medicalAdmin, false), [], 'another department does not');
  await t.rejects(w.service.list(medicalAdmin, { dept: CIVIL_AFFAIRS, page: 1, pageSize: 10 }), {
    code: 'APPLICATION_FORBIDDEN',
  });
  t.same(
    (
      await w.service.list(auditorActor, {
        state: 'authorizing',
        resourceCode: SOCIAL_INSURANCE,
        page: 1,
        pageSize: 10,
      })
    ).total,
    1,
  );
  t.same((await w.service.list(bureauActor, { dept: MEDICAL_SECURITY, page: 1, pageSize: 10 })).total, 0);
  t.same((await w.service.list(bureauActor, { dept: HUMAN_RESOURCES, page: 1, pageSize: 10 })).total, 1);
  t.same(
    (await openStageTimers(w.service.writer)).map((x) => x.stage),
    [2, 2, 2],
    'the open stage’s timers, for recovery',
  );
});

t.test('a provisional deadline is recomputed once the calendar knows the year', async (t) => {
  const w = await buildWorld(t);
  w.clock.set('2026-12-28T10:00:00+08:00');
  const app = await w.service.submit(civilAdmin, insuranceApplication());
  await w.service.check(bureauActor, app.id, { outcome: 'accept' });
  const stage = (await w.service.get(bureauActor, app.id)).stages[1]!;
  t.equal(stage.provisional, true);
  t.equal(stage.dueDate, undefined, 'no guessed deadline');
  t.equal((await w.service.get(bureauActor, app.id)).state, 'authorizing', 'the application stays open');
  const entries = await w.takeOutbox();
  const checked = entries.at(-1);
  t.equal(checked?.timers, undefined, 'no timers for a clock that cannot be computed');
  t.match(
    checked?.events?.find((e) => e.type === 'application.clock-pending'),
    {
      recipients: ['bureau', app.providerDept],
      data: { applicationId: app.id, stage: 'authorize', unknownYears: [2027] },
    },
    'flagged to the bureau (and the provider who must act)',
  );
  const open = await w.service.list(bureauActor, { state: 'authorizing', page: 1, pageSize: 10 });
  t.equal(open.total, 1, 'listed among the open applications');

  t.equal(await recomputeProvisional(w.service.writer, w.calendar), 0, 'nothing changes without the year');

  const with2027 = new WorkdayCalendar({
    overrides: parseCalendarOverrides({
      years: [
        {
          year: 2027,
          notice: { number: '国办发明电〔2026〕X号', title: '2027 arrangement', published: '2026-11-01' },
          daysOff: [{ from: '2027-01-01', to: '2027-01-03', name: "New Year's Day" }],
          makeUpDays: [],
        },
      ],
    }),
  });
  const service = new ApplicationService({
    store: w.store,
    grants: w.grants,
    catalog: w.catalog,
    systems: w.certs,
    calendar: with2027,
    limits: resolveLimits(),
    now: w.clock.now,
  });
  t.equal(await recomputeProvisional(service.writer, with2027), 1);
  const after = (await w.service.get(bureauActor, app.id)).stages[1]!;
  t.equal(after.provisional, false);
  t.equal(after.dueDate, '2027-01-12');
  t.match((await w.service.get(bureauActor, app.id)).history.at(-1), {
    action: 'reschedule',
    by: { role: 'system' },
  });
  const [entry] = await w.takeOutbox();
  t.same(entry?.cancel, [], 'a pending clock had no timers to drop');
  t.equal(entry?.timers?.length, 3, 'and now has them, at the exact deadline');
  t.equal(await recomputeProvisional(service.writer, with2027), 0, 'idempotent');
  await w.service.authorize(hrAdmin, app.id, {});
  t.equal((await w.grants.findActive(CIVIL_AFFAIRS, 'assistance', SOCIAL_INSURANCE))?.status, 'active');
});
