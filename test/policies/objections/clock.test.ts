import t from 'tap';
import type { Timer } from '../../../policies/applications/schema.js';
import { WorkdayCalendar } from '../../../policies/calendar/calendar.js';
import { resolveLimits } from '../../../policies/calendar/limits.js';
import { parseCalendarOverrides } from '../../../policies/calendar/overrides.js';
import { ObjectionService } from '../../../policies/objections/service.js';
import {
  bureauActor,
  CIVIL_AFFAIRS,
  civilAdmin,
  HUMAN_RESOURCES,
  hrAdmin,
} from '../applications/fixtures.js';
import { insuranceObjection } from './fixtures.js';
import { buildObjectionWorld } from './world.js';

t.test('the answer deadline: reminder, overdue at 24:00 CST of the due date, escalation', async (t) => {
  const w = await buildObjectionWorld(t);
  const raised = await w.service.submit(civilAdmin, insuranceObjection());
  const [remind, overdue, escalate] = (await w.takeOutbox())[0]!.timers! as [Timer, Timer, Timer];

  t.equal(await w.service.fireTimer(remind), 'early', 'not yet by the platform clock');
  w.clock.set('2026-03-05T00:00:00+08:00');
  t.equal(await w.service.fireTimer(remind), 'done');
  t.equal(await w.service.fireTimer(remind), 'stale', 'a repeated job changes nothing');

  w.clock.set('2026-03-05T23:59:59.999+08:00');
  t.equal(await w.service.fireTimer(overdue), 'early', 'the due date is still running');
  w.clock.set('2026-03-06T00:00:00+08:00');
  t.equal(await w.service.fireTimer(overdue), 'done', 'overdue at 24:00 CST of the due date');
  w.clock.set('2026-03-07T00:00:00+08:00');
  t.equal(await w.service.fireTimer(escalate), 'done');

  const late = await w.service.get(bureauActor, raised.id);
  t.match(late, {
    state: 'open',
    deadline: {
      remindedAt: '2026-03-04T16:00:00.000Z',
      overdueAt: '2026-03-05T16:00:00.000Z',
      escalatedAt: '2026-03-06T16:00:00.000Z',
    },
  });
  t.same(
    late.history.map((h) => [h.action, h.from, h.to, h.by.role]),
    [
      ['submit', null, 'open', 'dept-admin'],
      ['remind', 'open', 'open', 'system'],
      ['overdue', 'open', 'open', 'system'],
      ['escalate', 'open', 'open', 'system'],
    ],
  );
  t.same(
    (await w.takeOutbox())
      .flatMap((e) => e.events ?? [])
      .map((e) => [e.type, [...e.recipients].sort(), e.data.responsible]),
    [
      ['objection.reminder', [HUMAN_RESOURCES], undefined],
      ['objection.overdue', [CIVIL_AFFAIRS, HUMAN_RESOURCES].sort(), undefined],
      ['objection.escalated', ['bureau'], HUMAN_RESOURCES],
    ],
  );

  w.clock.set('2026-03-09T09:00:00+08:00');
  const answered = await w.service.answer(hrAdmin, raised.id, { outcome: 'corrected', reason: '已更正' });
  t.equal(answered.answer?.withinLimit, false, 'answered late');
  t.same(
    (await w.takeOutbox()).flatMap((e) => e.events ?? []).map((e) => [e.type, e.recipients]),
    [['objection.answered', [CIVIL_AFFAIRS, 'bureau']]],
    'the bureau, which had it escalated, hears of the answer',
  );
  t.equal(await w.service.fireTimer(escalate), 'stale', 'an answered objection has no clock');
  t.same((await w.service.recoverClocks()).timers, [], 'nothing open to recover');
});

t.test('a provisional deadline is recomputed once the calendar knows the year', async (t) => {
  const w = await buildObjectionWorld(t, { limits: { limits: { objectionAnswer: 2 } } });
  w.clock.set('2026-12-30T10:00:00+08:00');
  const raised = await w.service.submit(civilAdmin, insuranceObjection());
  t.match(raised.deadline, { limitWorkdays: 2, provisional: true, unknownYears: [2027] });
  t.equal(raised.deadline.dueDate, undefined, 'no guessed deadline (was 2027-01-01, Monday–Friday)');
  await w.takeOutbox();
  t.equal((await w.service.recoverClocks()).moved, 0, 'nothing moves without the year');

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
  const service = new ObjectionService({
    store: w.store,
    grants: w.grants,
    catalog: w.catalog,
    calendar: with2027,
    limits: resolveLimits(),
    now: w.clock.now,
  });
  const recovered = await service.recoverClocks();
  t.equal(recovered.moved, 1);
  const after = await service.get(bureauActor, raised.id);
  t.match(after.deadline, { provisional: false, dueDate: '2027-01-04', limitWorkdays: 2 });
  t.match(after.history.at(-1), { action: 'reschedule', by: { role: 'system' } });
  t.same(
    recovered.timers.map((x) => [x.kind, new Date(x.runAt).toISOString()]),
    [
      ['remind', '2026-12-31T16:00:00.000Z'],
      ['overdue', '2027-01-04T16:00:00.000Z'],
      ['escalate', '2027-01-05T16:00:00.000Z'],
    ],
    'every open objection’s timers, at the exact deadline',
  );
  const [entry] = await w.takeOutbox();
  t.same(entry?.cancel, [], 'a pending clock had no timers to drop');
  t.equal(entry?.timers?.length, 3, 'and now has them');
  t.equal((await service.recoverClocks()).moved, 0, 'idempotent');
});
