import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import {
  type CalendarOverrides,
  formatIsWorkday,
  loadCalendarOverrides,
  parseCalendarOverrides,
  WorkdayCalendar,
} from '../../../policies/calendar/index.js';

const year2027 = {
  year: 2027,
  notice: { number: 'TEST-2027', title: 'test arrangement, not the real notice', published: '2026-11-01' },
  daysOff: [{ from: '2027-01-01', to: '2027-01-03', name: "New Year's Day (元旦)" }],
  makeUpDays: [{ date: '2027-01-09', name: "New Year's Day (元旦)" }],
};
const regional = {
  year: 2026,
  source: 'regional government notice (test)',
  daysOff: [{ from: '2026-03-09', name: 'regional holiday' }],
  makeUpDays: [{ date: '2026-03-14', name: 'regional holiday' }],
};

async function writeJson(dir: string, name: string, content: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

t.test('an override file adds a year and regional days', async (t) => {
  const dir = t.testdir();
  const path = await writeJson(dir, 'calendar.json', { years: [year2027], adjustments: [regional] });
  const overrides = await loadCalendarOverrides(path);
  const calendar = new WorkdayCalendar({ overrides });
  t.same(calendar.knownYears(), [2025, 2026, 2027]);
  t.equal(calendar.isWorkday('2027-01-01'), false);
  t.equal(calendar.isWorkday('2027-01-04'), true);
  t.equal(calendar.isWorkday('2027-01-09'), true, 'make-up Saturday of the added year');
  t.equal(calendar.isWorkday('2026-03-09'), false, 'regional day off on a Monday');
  t.equal(calendar.isWorkday('2026-03-14'), true, 'regional make-up Saturday');
  t.equal(calendar.isWorkday('2026-02-14'), true, 'the national table is kept');
  t.equal(calendar.addWorkdays('2026-03-06', 1), '2026-03-10');
  t.equal(
    formatIsWorkday(calendar, '2026-03-09'),
    '2026-03-09 (Monday) is not a working day: regional holiday, day off of the 2026 adjustment "regional government notice (test)"',
  );
  t.match(calendar.describe('2026-03-14').source, { kind: 'adjustment', year: 2026 });
  t.match(calendar.describe('2027-01-01').source, { kind: 'notice', year: 2027, origin: 'override' });
  t.equal(new WorkdayCalendar().isWorkday('2026-03-09'), true, 'other calendars are not affected');
});

t.test('a regional day off that is also a national one is accepted', async (t) => {
  const overrides = parseCalendarOverrides({
    adjustments: [
      { year: 2026, source: 'test', daysOff: [{ from: '2026-10-01', to: '2026-10-09', name: 'x' }] },
    ],
  });
  const calendar = new WorkdayCalendar({ overrides });
  t.equal(calendar.describe('2026-10-01').name, 'National Day (国庆节)', 'the first rule names the day');
  t.equal(calendar.isWorkday('2026-10-09'), false);
});

const withYear = (patch: Record<string, unknown>) => ({ years: [{ ...year2027, ...patch }] });

const badFiles: [string, unknown, RegExp][] = [
  ['not JSON', '{"years": [', /: is not valid JSON/],
  ['not an object', '[]', /: \/: must be object/],
  ['unknown top-level field', { yeras: [] }, /: \/yeras: is not a known field/],
  [
    'missing notice',
    { years: [{ year: 2027, daysOff: [], makeUpDays: [] }] },
    /: \/years\/0\/notice: is required/,
  ],
  [
    'missing notice number',
    withYear({ notice: { title: 'x', published: '2026-11-01' } }),
    /\/years\/0\/notice\/number: is required/,
  ],
  ['year not an integer', withYear({ year: '2027' }), /\/years\/0\/year: must be integer/],
  ['year out of range', withYear({ year: 1800 }), /\/years\/0\/year: must be >= 1990/],
  ['daysOff not a list', withYear({ daysOff: {} }), /\/years\/0\/daysOff: must be array/],
  [
    'date not YYYY-MM-DD',
    withYear({ daysOff: [{ from: '2027-1-1', name: 'x' }] }),
    /\/years\/0\/daysOff\/0\/from: must be a calendar date 'YYYY-MM-DD' \(got "2027-1-1"\)/,
  ],
  [
    'date that does not exist',
    withYear({ daysOff: [{ from: '2027-02-30', name: 'x' }] }),
    /\/years\/0\/daysOff\/0\/from: "2027-02-30" is not a calendar date/,
  ],
  [
    'date outside the entry year',
    withYear({ daysOff: [{ from: '2026-12-31', to: '2027-01-01', name: 'x' }] }),
    /\/years\/0\/daysOff\/0\/from: 2026-12-31 is not in 2027/,
  ],
  [
    'range running backwards',
    withYear({ daysOff: [{ from: '2027-01-03', to: '2027-01-01', name: 'x' }] }),
    /\/years\/0\/daysOff\/0\/to: 2027-01-01 is before from \(2027-01-03\)/,
  ],
  [
    'range too long',
    withYear({ daysOff: [{ from: '2027-01-01', to: '2027-03-01', name: 'x' }] }),
    /\/years\/0\/daysOff\/0\/to: a range of days off is at most 31 days long/,
  ],
  [
    'make-up day on a weekday',
    withYear({ makeUpDays: [{ date: '2027-01-06', name: 'x' }] }),
    /\/years\/0\/makeUpDays\/0\/date: 2027-01-06 is a Wednesday, already a working day/,
  ],
  [
    'same date off and make-up',
    withYear({ makeUpDays: [{ date: '2027-01-02', name: 'x' }] }),
    /\/years\/0\/makeUpDays\/0\/date: 2027-01-02 is already a day off \(New Year's Day \(元旦\), the 2027 notice \(TEST-2027\)\)/,
  ],
  [
    'bad notice url',
    withYear({ notice: { ...year2027.notice, url: 'gov.cn' } }),
    /\/years\/0\/notice\/url: must match/,
  ],
  [
    'bad notice date',
    withYear({ notice: { ...year2027.notice, published: '2026-11-31' } }),
    /\/years\/0\/notice\/published: "2026-11-31" is not a calendar date/,
  ],
  [
    'year already built in',
    { years: [{ ...year2027, year: 2026, daysOff: [], makeUpDays: [] }] },
    /\/years\/0\/year: 2026 is already in govshare's built-in table \(国办发明电〔2025〕7号\); use "adjustments"/,
  ],
  ['year given twice', { years: [year2027, year2027] }, /\/years\/1\/year: 2027 is given twice/],
  [
    'adjustment to an unknown year',
    {
      adjustments: [
        { ...regional, year: 2028, daysOff: [{ from: '2028-03-09', name: 'x' }], makeUpDays: [] },
      ],
    },
    /\/adjustments\/0\/year: 2028 is not a known year; add its State Council notice under "years" first/,
  ],
  [
    'adjustment without days',
    { adjustments: [{ year: 2026, source: 'x' }] },
    /\/adjustments\/0: an adjustment lists at least one/,
  ],
  [
    'adjustment without source',
    { adjustments: [{ year: 2026, daysOff: [] }] },
    /\/adjustments\/0\/source: is required/,
  ],
  [
    'regional day off on a national make-up day',
    { adjustments: [{ year: 2026, source: 'x', daysOff: [{ from: '2026-02-14', name: 'x' }] }] },
    /\/adjustments\/0\/daysOff\/0: 2026-02-14 is already a make-up working day \(Spring Festival \(春节\), the 2026 notice/,
  ],
  [
    'regional make-up day on a national day off',
    { adjustments: [{ year: 2026, source: 'x', makeUpDays: [{ date: '2026-02-15', name: 'x' }] }] },
    /\/adjustments\/0\/makeUpDays\/0\/date: 2026-02-15 is already a day off/,
  ],
];

t.test('bad override files give a message naming the file and the field', async (t) => {
  const dir = t.testdir();
  for (const [name, content, message] of badFiles) {
    const path = await writeJson(dir, `${name.replaceAll(' ', '-')}.json`, content);
    await t.rejects(
      loadCalendarOverrides(path),
      { code: 'CALENDAR_OVERRIDE_INVALID', statusCode: 500, message },
      name,
    );
    const err = await loadCalendarOverrides(path).catch((e: Error) => e);
    t.match((err as Error).message, `calendar override file ${path}: `, `${name}: names the file`);
  }
  await t.rejects(loadCalendarOverrides(join(dir, 'missing.json')), {
    code: 'CALENDAR_OVERRIDE_INVALID',
    message: /missing\.json: cannot be read/,
  });
});

t.test('overrides passed as objects are checked too', async (t) => {
  t.throws(() => parseCalendarOverrides({ years: 1 }, 'GOVSHARE test'), {
    code: 'CALENDAR_OVERRIDE_INVALID',
    message: 'GOVSHARE test: /years: must be array',
  });
  const conflicting: CalendarOverrides = {
    adjustments: [{ year: 2025, source: 'x', makeUpDays: [{ date: '2025-10-04', name: 'x' }] }],
  };
  t.throws(() => new WorkdayCalendar({ overrides: conflicting }), {
    code: 'CALENDAR_OVERRIDE_INVALID',
    message: /^calendar overrides: \/adjustments\/0\/makeUpDays\/0\/date: 2025-10-04 is already a day off/,
  });
});

t.test('the built-in table is held to the same rules', async (t) => {
  t.throws(
    () => new WorkdayCalendar({ table: [{ ...year2027, makeUpDays: [{ date: '2027-01-05', name: 'x' }] }] }),
    {
      code: 'CALENDAR_OVERRIDE_INVALID',
      message: /^built-in holiday table: \/0\/makeUpDays\/0\/date: 2027-01-05 is a Tuesday/,
    },
  );
  t.same(new WorkdayCalendar({ table: [year2027] }).knownYears(), [2027]);
});
