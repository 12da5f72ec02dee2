import t from 'tap';
import type { Application } from '../../../policies/applications/schema.js';
import {
  newStage,
  stageClock,
  stageTimers,
  stageWithinLimit,
} from '../../../policies/applications/stages.js';
import { WorkdayCalendar } from '../../../policies/calendar/calendar.js';
import { resolveLimits } from '../../../policies/calendar/limits.js';
import { parseCalendarOverrides } from '../../../policies/calendar/overrides.js';

const calendar = new WorkdayCalendar();
const cst = (iso: string) => new Date(iso);

t.test('deadlines count working days after the day the stage begins, due at 24:00 CST', async (t) => {
  const cases: [string, number, string, string][] = [
    // begun, limit, due date, reminder (end of the day before the last working day)
    ['2026-02-13T16:30:00+08:00', 1, '2026-02-14', '2026-02-14T00:00:00+08:00'], // make-up Saturday
    ['2026-02-13T09:00:00+08:00', 2, '2026-02-24', '2026-02-15T00:00:00+08:00'], // across Spring Festival
    ['2026-02-13T09:00:00+08:00', 3, '2026-02-25', '2026-02-25T00:00:00+08:00'],
    ['2025-09-30T11:00:00+08:00', 3, '2025-10-11', '2025-10-11T00:00:00+08:00'], // National Day, make-up 10/11
    ['2025-01-24T10:00:00+08:00', 3, '2025-02-05', '2025-01-28T00:00:00+08:00'], // 2025 Spring Festival, make-up 1/26
    ['2026-03-02T10:00:00+08:00', 10, '2026-03-16', '2026-03-14T00:00:00+08:00'],
    ['2026-03-02T23:59:59+08:00', 1, '2026-03-03', '2026-03-03T00:00:00+08:00'],
  ];
  for (const [begun, limit, dueDate, remindAt] of cases) {
    const clock = stageClock(calendar, cst(begun), limit);
    t.equal(clock.dueDate, dueDate, `${limit} working days after ${begun}`);
    const midnightAfter = new Date(Date.parse(`${dueDate}T00:00:00+08:00`) + 86_400_000).toISOString();
    t.equal(clock.dueAt, midnightAfter, 'ends at 24:00 CST of the due date');
    t.equal(clock.remindAt, new Date(remindAt).toISOString(), 'reminder when one working day is left');
    t.equal(clock.provisional, false);
  }
});

t.test('a stage begun at 16:30 UTC on Friday is Saturday in China: the CST date counts', async (t) => {
  // 2026-02-13T16:30Z is Saturday 2026-02-14 00:30 CST, a make-up working day: not counted itself.
  const clock = stageClock(calendar, new Date('2026-02-13T16:30:00Z'), 1);
  t.equal(clock.dueDate, '2026-02-24');
});

t.test(
  'a deadline reaching into an unknown year is pending (no guessed date), and exact once the year is loaded',
  async (t) => {
    const begun = cst('2026-12-28T10:00:00+08:00');
    const pending = stageClock(calendar, begun, 10);
    // Before issue 18 this gave dueDate 2027-01-11, counting Monday–Friday in 2027.
    t.same(pending, { provisional: true, unknownYears: [2027] }, 'no dueDate, dueAt, remindAt or escalateAt');

    const with2027 = new WorkdayCalendar({
      overrides: parseCalendarOverrides({
        years: [
          {
            year: 2027,
            notice: { number: 'test notice', title: 'test', published: '2026-11-01' },
            daysOff: [{ from: '2027-01-01', to: '2027-01-03', name: "New Year's Day" }],
            makeUpDays: [],
          },
        ],
      }),
    });
    const exact = stageClock(with2027, begun, 10);
    t.equal(exact.provisional, false);
    t.equal(exact.dueDate, '2027-01-12', 'Friday 2027-01-01 is a day off');
  },
);

t.test('stages take their limit from the region profile', async (t) => {
  const begun = cst('2026-03-02T10:00:00+08:00');
  t.equal(newStage(calendar, resolveLimits(), 'authorize', 2, begun).limitWorkdays, 10);
  const hechi = newStage(calendar, resolveLimits({ region: 'hechi' }), 'authorize', 2, begun);
  t.equal(hechi.limitWorkdays, 5);
  t.equal(hechi.dueDate, '2026-03-09');
  t.equal(newStage(calendar, resolveLimits(), 'check', 1, begun).dueDate, '2026-03-05');
  t.equal(newStage(calendar, resolveLimits(), 'notify', 3, begun).dueDate, '2026-03-03');
});

t.test('timer ids are deterministic per application, stage, kind and time', async (t) => {
  const stage = newStage(calendar, resolveLimits(), 'check', 1, cst('2026-03-02T10:00:00+08:00'));
  const app = { id: 'APP-20260302-000001', stages: [stage] } as unknown as Application;
  const timers = stageTimers(app, stage);
  t.same(
    timers.map((x) => [x.kind, new Date(x.runAt).toISOString()]),
    [
      ['remind', '2026-03-04T16:00:00.000Z'],
      ['overdue', '2026-03-05T16:00:00.000Z'],
      ['escalate', '2026-03-06T16:00:00.000Z'],
    ],
  );
  t.same(stageTimers(app, stage), timers, 'the same timers again');
  t.notOk(
    timers.some((x) => x.id.includes(':')),
    'BullMQ job ids may not contain ":"',
  );
  t.ok(stageWithinLimit(stage, Date.parse('2026-03-05T23:59:59+08:00')));
  t.notOk(stageWithinLimit(stage, Date.parse('2026-03-06T00:00:01+08:00')));
});
