import t from 'tap';
import {
  addDays,
  type CalendarOverrides,
  cstDate,
  formatAddWorkdays,
  formatIsWorkday,
  WorkdayCalendar,
  weekdayName,
} from '../../../policies/calendar/index.js';

const calendar = new WorkdayCalendar();

/** A made-up 2027 arrangement for tests only: the real notice is published in the autumn of 2026. */
const test2027: CalendarOverrides = {
  years: [
    {
      year: 2027,
      notice: {
        number: 'TEST-2027',
        title: 'test arrangement, not the real notice',
        published: '2026-11-01',
      },
      daysOff: [{ from: '2027-01-01', to: '2027-01-03', name: "New Year's Day (元旦)" }],
      makeUpDays: [],
    },
  ],
};

function range(from: string, to: string): string[] {
  const days: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) days.push(d);
  return days;
}

t.test('2025 and 2026 each have 248 working days', async (t) => {
  t.same(calendar.knownYears(), [2025, 2026]);
  for (const year of [2025, 2026]) {
    const days = range(`${year}-01-01`, `${year}-12-31`);
    t.equal(days.length, 365);
    t.equal(days.filter((d) => calendar.isWorkday(d)).length, 248, `${year} by isWorkday`);
    t.equal(
      calendar.workdaysBetween(`${year - 1}-12-31`, `${year}-12-31`),
      248,
      `${year} by workdaysBetween`,
    );
  }
});

t.test('real dates around the Spring Festival and National Day holidays', async (t) => {
  const off = (from: string, to: string) => range(from, to).map((d) => [d, false, 'dayOff'] as const);
  const cases: (readonly [string, boolean, string, string?])[] = [
    ['2025-01-01', false, 'dayOff', 'Wednesday'],
    ['2025-01-25', false, 'weekend', 'Saturday'],
    ['2025-01-26', true, 'makeUp', 'Sunday'],
    ['2025-01-27', true, 'weekday', 'Monday'],
    ...off('2025-01-28', '2025-02-04'),
    ['2025-02-05', true, 'weekday', 'Wednesday'],
    ['2025-02-08', true, 'makeUp', 'Saturday'],
    ['2025-02-09', false, 'weekend', 'Sunday'],
    ['2025-04-27', true, 'makeUp', 'Sunday'],
    ['2025-09-27', false, 'weekend', 'Saturday'],
    ['2025-09-28', true, 'makeUp', 'Sunday'],
    ['2025-09-30', true, 'weekday', 'Tuesday'],
    ...off('2025-10-01', '2025-10-08'),
    ['2025-10-09', true, 'weekday', 'Thursday'],
    ['2025-10-11', true, 'makeUp', 'Saturday'],
    ['2025-10-12', false, 'weekend', 'Sunday'],
    ...off('2026-01-01', '2026-01-03'),
    ['2026-01-04', true, 'makeUp', 'Sunday'],
    ['2026-02-13', true, 'weekday', 'Friday'],
    ['2026-02-14', true, 'makeUp', 'Saturday'],
    ...off('2026-02-15', '2026-02-23'),
    ['2026-02-24', true, 'weekday', 'Tuesday'],
    ['2026-02-28', true, 'makeUp', 'Saturday'],
    ['2026-03-01', false, 'weekend', 'Sunday'],
    ['2026-05-09', true, 'makeUp', 'Saturday'],
    ['2026-09-19', false, 'weekend', 'Saturday'],
    ['2026-09-20', true, 'makeUp', 'Sunday'],
    ...off('2026-09-25', '2026-09-27'),
    ...off('2026-10-01', '2026-10-07'),
    ['2026-10-08', true, 'weekday', 'Thursday'],
    ['2026-10-10', true, 'makeUp', 'Saturday'],
    ['2026-10-11', false, 'weekend', 'Sunday'],
  ];
  for (const [date, workday, kind, weekday] of cases) {
    t.equal(calendar.isWorkday(date), workday, `${date} workday=${workday}`);
    const info = calendar.describe(date);
    t.equal(info.kind, kind, `${date} is ${kind}`);
    if (weekday) t.equal(info.weekday, weekday, `${date} is a ${weekday}`);
  }
});

t.test('addWorkdays does not count the first day (Civil Code art. 201)', async (t) => {
  const cases: [string, number, string][] = [
    ['2026-02-13', 0, '2026-02-13'],
    ['2026-02-13', 1, '2026-02-14'],
    ['2026-02-13', 2, '2026-02-24'],
    ['2026-02-13', 3, '2026-02-25'],
    ['2026-02-14', 1, '2026-02-24'],
    ['2025-09-26', 1, '2025-09-28'],
    ['2025-09-30', 1, '2025-10-09'],
    ['2025-09-30', 3, '2025-10-11'],
    ['2026-09-28', 10, '2026-10-16'],
    ['2025-12-31', 1, '2026-01-04'],
    ['2025-01-24', 1, '2025-01-26'],
    // Only the days after `from` are looked up, so a start in an unknown year is fine.
    ['2024-12-31', 1, '2025-01-02'],
  ];
  for (const [from, n, expected] of cases) {
    t.equal(calendar.addWorkdays(from, n), expected, `${from} + ${n}`);
  }
});

t.test('workdaysBetween counts working days after a up to and including b', async (t) => {
  t.equal(calendar.workdaysBetween('2026-02-13', '2026-02-13'), 0);
  t.equal(calendar.workdaysBetween('2026-02-13', '2026-02-24'), 2);
  t.equal(calendar.workdaysBetween('2026-02-14', '2026-02-23'), 0);
  t.equal(calendar.workdaysBetween('2026-02-24', '2026-02-13'), -2);
  for (const from of ['2025-01-20', '2025-09-25', '2026-02-10', '2026-09-18', '2025-12-24']) {
    for (let n = 0; n <= 15; n++) {
      t.equal(calendar.workdaysBetween(from, calendar.addWorkdays(from, n)), n, `${from} + ${n} and back`);
    }
  }
});

t.test('a year the calendar does not know is an error naming the year and the override file', async (t) => {
  const unknown = {
    code: 'CALENDAR_YEAR_UNKNOWN',
    statusCode: 422,
    message: /does not know 2027.*override file/,
  };
  t.throws(() => calendar.isWorkday('2027-01-04'), unknown);
  t.throws(() => calendar.describe('2027-06-01'), unknown);
  t.throws(() => calendar.addWorkdays('2026-12-30', 2), unknown);
  t.throws(() => calendar.workdaysBetween('2026-12-01', '2027-01-10'), unknown);
  t.throws(() => calendar.isWorkday('2024-06-03'), { code: 'CALENDAR_YEAR_UNKNOWN', message: /2024/ });
  t.equal(calendar.addWorkdays('2026-12-30', 1), '2026-12-31', 'stops before reaching 2027');
  t.notOk(calendar.knows(2027));
  t.ok(calendar.knows(2026));
});

t.test('bad dates and counts are refused', async (t) => {
  const invalid = { code: 'CALENDAR_INPUT_INVALID', statusCode: 400 };
  for (const date of ['2026-02-30', '2026-2-3', '2026-02-03T00:00:00Z', '', '0099-01-01']) {
    t.throws(() => calendar.isWorkday(date), invalid, JSON.stringify(date));
  }
  t.throws(() => calendar.isWorkday(20260203 as unknown as string), invalid);
  for (const n of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => calendar.addWorkdays('2026-02-13', n), invalid, `n = ${n}`);
    t.throws(() => calendar.deadline(0, n), invalid, `deadline n = ${n}`);
  }
  t.throws(() => calendar.deadline(new Date('not a date'), 3), { ...invalid, message: /startInstant/ });
  t.throws(() => cstDate(Number.NaN), invalid);
});

t.test('cstDate gives the China Standard Time date of an instant', async (t) => {
  const cases: [string, string][] = [
    ['2026-02-13T15:59:59.999Z', '2026-02-13'],
    ['2026-02-13T16:00:00Z', '2026-02-14'],
    ['2025-12-31T15:59:59Z', '2025-12-31'],
    ['2025-12-31T16:00:00Z', '2026-01-01'],
    ['2026-02-14T00:00:00+08:00', '2026-02-14'],
    ['2026-02-13T08:30:00-08:00', '2026-02-14'],
    ['1969-12-31T15:59:59Z', '1969-12-31'],
    ['1969-12-31T16:00:00Z', '1970-01-01'],
  ];
  for (const [iso, expected] of cases) {
    t.equal(cstDate(new Date(iso)), expected, iso);
    t.equal(cstDate(Date.parse(iso)), expected, `${iso} as epoch ms`);
  }
  t.equal(weekdayName('2026-02-14'), 'Saturday');
});

t.test('deadline is due at 24:00 CST of the last working day', async (t) => {
  const friday = calendar.deadline(new Date('2026-02-13T15:59:59Z'), 1);
  t.same(friday, { dueDate: '2026-02-14', dueAt: new Date('2026-02-14T16:00:00.000Z') });
  t.equal(
    friday.dueAt.getTime(),
    Date.parse('2026-02-15T00:00:00+08:00'),
    '24:00 CST is the next 00:00 +08:00',
  );
  const saturday = calendar.deadline(Date.parse('2026-02-13T16:00:00Z'), 1);
  t.equal(saturday.dueDate, '2026-02-24', 'the start is Saturday 2026-02-14 in CST');
  t.equal(saturday.dueAt.toISOString(), '2026-02-24T16:00:00.000Z');
  t.equal(calendar.deadline(Date.parse('2026-02-13T16:00:00Z'), 0).dueDate, '2026-02-14');
  const hubeiAuthorize = calendar.deadline(Date.parse('2026-09-28T01:00:00Z'), 10);
  t.equal(hubeiAuthorize.dueDate, '2026-10-16');
  t.equal(calendar.deadline(Date.parse('2026-12-24T02:00:00Z'), 5).dueDate, '2026-12-31', 'ends in 2026');
});

t.test(
  'a deadline reaching into an unknown year is refused, not guessed, until the year is loaded',
  async (t) => {
    const start = Date.parse('2026-12-24T02:00:00Z');
    // Before issue 18 this answered 2027-01-07 by counting Monday–Friday in 2027.
    t.throws(() => calendar.deadline(start, 10), {
      code: 'CALENDAR_YEAR_UNKNOWN',
      statusCode: 422,
      message:
        /does not know 2027 \(it knows 2025, 2026\)\. Add the State Council's holiday arrangement for 2027/,
    });
    t.same(calendar.unknownYearsOf(start, 10), [2027], 'the missing year is named');
    t.same(calendar.unknownYearsOf(start, 5), [], 'a count that ends in 2026 needs nothing more');
    const with2027 = new WorkdayCalendar({ overrides: test2027 });
    t.same(with2027.knownYears(), [2025, 2026, 2027]);
    t.same(with2027.deadline(start, 10), {
      dueDate: '2027-01-08',
      dueAt: new Date('2027-01-08T16:00:00.000Z'),
    });
    t.equal(with2027.notice(2027)?.number, 'TEST-2027');
    t.same(calendar.unknownYearsOf(Date.parse('2027-12-24T02:00:00Z'), 30), [2027, 2028]);
  },
);

t.test('tableEndsWithin: 60 days before the table runs out (CST)', async (t) => {
  t.equal(
    calendar.tableEndsWithin(Date.parse('2026-10-31T15:59:59Z'), 60),
    undefined,
    '2026-10-31 CST: 61 days left',
  );
  t.same(calendar.tableEndsWithin(Date.parse('2026-10-31T16:00:00Z'), 60), {
    lastKnownDate: '2026-12-31',
    daysLeft: 60,
  });
  t.same(calendar.tableEndsWithin(Date.parse('2027-01-05T00:00:00Z'), 60), {
    lastKnownDate: '2026-12-31',
    daysLeft: -5,
  });
  const with2027 = new WorkdayCalendar({ overrides: test2027 });
  t.equal(with2027.tableEndsWithin(Date.parse('2026-12-01T00:00:00Z'), 60), undefined);
});

t.test('missingNextYearWarning from October 1 CST when next year is missing', async (t) => {
  t.equal(calendar.missingNextYearWarning(Date.parse('2026-09-30T15:59:59Z')), undefined, 'still September');
  t.match(
    calendar.missingNextYearWarning(new Date('2026-09-30T16:00:00Z')),
    /does not know 2027.*cannot be computed/,
  );
  t.equal(calendar.missingNextYearWarning(Date.parse('2025-10-15T00:00:00Z')), undefined, '2026 is known');
  t.equal(calendar.missingNextYearWarning(Date.parse('2025-03-01T00:00:00Z')), undefined);
  t.match(
    calendar.missingNextYearWarning(Date.parse('2027-03-01T00:00:00Z')),
    /does not know 2027/,
    'current year',
  );
  const with2027 = new WorkdayCalendar({ overrides: test2027 });
  t.equal(with2027.missingNextYearWarning(Date.parse('2026-11-01T00:00:00Z')), undefined);
  t.match(with2027.missingNextYearWarning(Date.parse('2027-12-01T00:00:00Z')), /2028/);
});

t.test('one-line answers for the operator CLI', async (t) => {
  const notice = 'the 2026 notice (国办发明电〔2025〕7号)';
  const cases: [string, string][] = [
    [
      '2026-02-14',
      `2026-02-14 (Saturday) is a working day: make-up working day (调休) for Spring Festival (春节) of ${notice}`,
    ],
    ['2026-02-16', `2026-02-16 (Monday) is not a working day: Spring Festival (春节), day off of ${notice}`],
    ['2026-03-07', '2026-03-07 (Saturday) is not a working day: weekend'],
    ['2026-03-09', '2026-03-09 (Monday) is a working day: ordinary weekday'],
  ];
  for (const [date, expected] of cases) t.equal(formatIsWorkday(calendar, date), expected);
  t.equal(
    formatAddWorkdays(calendar, '2026-02-13', 2),
    '2 working days after 2026-02-13 (Friday), not counting that day, is 2026-02-24 (Tuesday): ordinary weekday',
  );
  t.equal(
    formatAddWorkdays(calendar, '2026-02-13', 1),
    `1 working day after 2026-02-13 (Friday), not counting that day, is 2026-02-14 (Saturday): make-up working day (调休) for Spring Festival (春节) of ${notice}`,
  );
});
