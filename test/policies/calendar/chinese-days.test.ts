/**
 * Cross-check of govshare's table with the `chinese-days` package, day by day, for every year both know.
 * chinese-days builds its tables and reads dates with the host's local-time getters, so in a zone west
 * of UTC its answers shift by a day. It is therefore asked in a child process running in
 * Asia/Shanghai (the zone its data is meant for), whatever this test's host zone is; its published
 * per-year JSON is compared as well, with the weekend rule applied here.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import t from 'tap';
import { addDays, WorkdayCalendar, weekdayName } from '../../../policies/calendar/index.js';

const calendar = new WorkdayCalendar();
const packageMain = createRequire(import.meta.url).resolve('chinese-days');
const yearsDir = join(dirname(packageMain), 'years');
const years = calendar.knownYears().filter((year) => existsSync(join(yearsDir, `${year}.json`)));

function daysOf(year: number): string[] {
  const days: string[] = [];
  for (let d = `${year}-01-01`; d.startsWith(String(year)); d = addDays(d, 1)) days.push(d);
  return days;
}
const allDays = years.flatMap(daysOf);

interface Answer {
  date: string;
  echoed: string;
  work: boolean;
  isWorkday: boolean;
  name: string;
}

function askChineseDays(dates: string[]): Answer[] {
  const script = `
    const cd = require(process.argv[1]);
    const dates = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
    const answers = dates.map((date) => {
      const detail = cd.getDayDetail(date);
      return { date, echoed: detail.date, work: detail.work, isWorkday: cd.isWorkday(date), name: detail.name };
    });
    process.stdout.write(JSON.stringify(answers));`;
  const out = execFileSync(process.execPath, ['-e', script, packageMain], {
    input: JSON.stringify(dates),
    env: { ...process.env, TZ: 'Asia/Shanghai' },
    encoding: 'utf8',
  });
  return JSON.parse(out) as Answer[];
}

function ours(date: string): string {
  const info = calendar.describe(date);
  return `${info.workday ? 'working day' : 'day off'} (${info.kind}${info.name ? `: ${info.name}` : ''})`;
}

t.test('govshare and chinese-days know 2025 and 2026', async (t) => {
  t.ok(years.includes(2025) && years.includes(2026), `years both know: ${years.join(', ')}`);
  t.equal(allDays.length, years.length * 365 + years.filter((y) => y % 4 === 0).length);
  t.ok(allDays.length >= 730);
});

t.test('isWorkday agrees with the chinese-days functions on every day', async (t) => {
  const answers = askChineseDays(allDays);
  t.equal(answers.length, allDays.length);
  const disagreements: string[] = [];
  for (const answer of answers) {
    if (answer.echoed !== answer.date) {
      disagreements.push(`${answer.date}: chinese-days read it as ${answer.echoed}`);
    }
    if (answer.work !== answer.isWorkday) {
      disagreements.push(`${answer.date}: chinese-days getDayDetail and isWorkday disagree`);
    }
    if (answer.work !== calendar.isWorkday(answer.date)) {
      disagreements.push(
        `${answer.date} (${weekdayName(answer.date)}): govshare says ${ours(answer.date)}, ` +
          `chinese-days says ${answer.work ? 'working day' : 'day off'} (${answer.name})`,
      );
    }
  }
  t.same(disagreements, [], `${answers.length} days compared`);
});

t.test("isWorkday agrees with chinese-days' published per-year JSON on every day", async (t) => {
  const disagreements: string[] = [];
  let compared = 0;
  for (const year of years) {
    const data = JSON.parse(readFileSync(join(yearsDir, `${year}.json`), 'utf8')) as {
      holidays: Record<string, string>;
      workdays: Record<string, string>;
    };
    for (const date of daysOf(year)) {
      const weekday = weekdayName(date);
      const weekend = weekday === 'Saturday' || weekday === 'Sunday';
      const theirs = date in data.workdays ? true : date in data.holidays ? false : !weekend;
      compared++;
      if (theirs !== calendar.isWorkday(date)) {
        disagreements.push(
          `${date} (${weekday}): govshare says ${ours(date)}, chinese-days ${year}.json says ${theirs ? 'working day' : 'day off'}`,
        );
      }
    }
  }
  t.equal(compared, allDays.length);
  t.same(disagreements, [], `${compared} days compared`);
});
