import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { type CliIo, UsageError } from '../../../gateway/cli/command.js';
import {
  calendarAddWorkdaysCommand,
  calendarIsWorkdayCommand,
} from '../../../gateway/cli/commands/calendar.js';
import { statsCommand } from '../../../gateway/cli/commands/stats.js';
import {
  civilAdmin,
  enterpriseApplication,
  MARKET_REGULATION,
} from '../../policies/applications/fixtures.js';
import { buildWorld } from '../../policies/applications/world.js';

function io(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIo = { out: (line) => out.push(line), err: (line) => err.push(line), env };
  return { cli, out, err };
}

t.test('calendar is-workday and add-workdays answer with the rule that decides', async (t) => {
  const cases: [string[], string][] = [
    [
      ['2026-02-14'],
      '2026-02-14 (Saturday) is a working day: make-up working day (调休) for Spring Festival (春节) of the 2026 notice (国办发明电〔2025〕7号)',
    ],
    [
      ['2026-02-16'],
      '2026-02-16 (Monday) is not a working day: Spring Festival (春节), day off of the 2026 notice (国办发明电〔2025〕7号)',
    ],
    [['2026-03-07'], '2026-03-07 (Saturday) is not a working day: weekend'],
  ];
  for (const [argv, line] of cases) {
    const { cli, out } = io();
    t.equal(await calendarIsWorkdayCommand.run(argv, cli), 0);
    t.same(out, [line]);
  }
  const { cli, out } = io();
  t.equal(await calendarAddWorkdaysCommand.run(['--from', '2026-02-13', '--days', '2'], cli), 0);
  t.same(out, [
    '2 working days after 2026-02-13 (Friday), not counting that day, is 2026-02-24 (Tuesday): ordinary weekday',
  ]);
});

t.test('usage errors, unknown years, the operator override file', async (t) => {
  const { cli } = io();
  const usage = await calendarIsWorkdayCommand.run([], cli).catch((err: unknown) => err);
  t.ok(usage instanceof UsageError, 'a usage error (exit code 2)');
  t.match(usage, { message: /give exactly one date/ });
  await t.rejects(calendarAddWorkdaysCommand.run(['--from', '2026-02-13', '--days', 'two'], cli), {
    message: /--days must be a whole number/,
  });
  await t.rejects(calendarAddWorkdaysCommand.run(['--days', '2'], cli), { message: /--from is required/ });
  await t.rejects(calendarIsWorkdayCommand.run(['2027-01-04'], cli), {
    code: 'CALENDAR_YEAR_UNKNOWN',
    message: /does not know 2027/,
  });
  await t.rejects(calendarIsWorkdayCommand.run(['2026-02-30'], cli), { code: 'CALENDAR_INPUT_INVALID' });

  const dir = mkdtempSync(join(tmpdir(), 'govshare-calendar-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'calendar.json');
  writeFileSync(
    file,
    JSON.stringify({
      years: [
        {
          year: 2027,
          notice: { number: '国办发明电〔2026〕X号', title: '2027 arrangement', published: '2026-11-01' },
          daysOff: [{ from: '2027-01-01', to: '2027-01-03', name: "New Year's Day (元旦)" }],
          makeUpDays: [],
        },
      ],
    }),
  );
  const known = io();
  const argv = ['--from', '2026-12-31', '--days', '1', '--calendar-file', file];
  t.equal(await calendarAddWorkdaysCommand.run(argv, known.cli), 0);
  t.same(known.out, [
    '1 working day after 2026-12-31 (Thursday), not counting that day, is 2027-01-04 (Monday): ordinary weekday',
  ]);
});

t.test('govshare stats prints JSON or CSV', async (t) => {
  const w = await buildWorld(t);
  await w.service.submit(civilAdmin, enterpriseApplication());
  const { server } = await import('../../helpers/redis.js').then((m) => m.useRedis(t));
  const env = { GOVSHARE_REDIS_URL: server.url, GOVSHARE_REDIS_PREFIX: w.prefix };

  const json = io(env);
  t.equal(
    await statsCommand.run(['--from', '2026-03-01', '--to', '2026-03-31'], json.cli),
    0,
    json.err.join('\n'),
  );
  const parsed = JSON.parse(json.out.join('\n'));
  t.match(parsed.overall.applications, { received: 1, decided: 1, granted: 1 });

  const csv = io(env);
  t.equal(
    await statsCommand.run(
      ['--from', '2026-03-01', '--to', '2026-03-31', '--dept', MARKET_REGULATION, '--format', 'csv'],
      csv.cli,
    ),
    0,
  );
  const lines = csv.out.join('\n').split(/\r?\n/);
  t.equal(lines.length, 2);
  t.match(lines[1], new RegExp(`^2026-03-01,2026-03-31,department,${MARKET_REGULATION},1,1,1,`));

  const bad = io(env);
  await t.rejects(
    statsCommand.run(['--from', '2026-03-01', '--to', '2026-03-31', '--format', 'xml'], bad.cli),
    { message: /--format must be json or csv/ },
  );
});
