/**
 * `govshare stats`: the published statistics for a period, on the platform host, as JSON or CSV.
 * `govshare stats verify FILE --ca CA.pem`: checks a signed monthly report (GET /v1/stats/reports/{period})
 * against the platform CA certificate, anywhere, without the platform.
 */
import { readFile } from 'node:fs/promises';
import { ApplicationStore } from '../../../policies/applications/store.js';
import { statisticsCsv } from '../../../policies/stats/csv.js';
import { verifyStatsReport } from '../../../policies/stats/report.js';
import { StatsService } from '../../../policies/stats/service.js';
import { CONFIG_FLAGS, type Command, configFrom, parseFlags, required, UsageError } from '../command.js';
import { calendarFrom } from './calendar.js';
import { withRedis } from './identities.js';

export const statsCommand: Command = {
  name: 'stats',
  summary: 'Statistics of applications, data calls and provider availability for a period (JSON or CSV)',
  usage:
    'stats --from YYYY-MM-DD --to YYYY-MM-DD [--dept USCC] [--format json|csv] [--calendar-file FILE]\n' +
    '       stats verify REPORT.json --ca CA.pem',
  async run(argv, io) {
    if (argv[0] === 'verify') return verifyReport(argv.slice(1), io);
    const { values, positionals } = parseFlags(argv, {
      ...CONFIG_FLAGS,
      from: { type: 'string' },
      to: { type: 'string' },
      dept: { type: 'string' },
      format: { type: 'string', default: 'json' },
      'calendar-file': { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    const format = values.format;
    if (format !== 'json' && format !== 'csv')
      throw new UsageError(`--format must be json or csv (got ${format})`);
    const query = {
      from: required(values, 'from'),
      to: required(values, 'to'),
      ...(values.dept ? { dept: values.dept } : {}),
    };
    const config = configFrom(values, io);
    const calendar = await calendarFrom(values);
    return withRedis(config, async (redis) => {
      const prefix = config.GOVSHARE_REDIS_PREFIX;
      const stats = new StatsService({
        redis,
        prefix,
        applications: new ApplicationStore(redis, prefix),
        calendar,
        now: () => new Date(),
      });
      const result = await stats.compute(query);
      if (format === 'csv') io.out(statisticsCsv(result).trimEnd());
      else io.out(JSON.stringify(result, null, 2));
      return 0;
    });
  },
};

/** Exit 0 when the report verifies, 1 when it does not (the reason on stderr). */
async function verifyReport(argv: string[], io: Parameters<Command['run']>[1]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ca: { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError('stats verify takes one report file');
  const caPem = await readFile(required(values, 'ca'), 'utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(positionals[0]!, 'utf8'));
  } catch (err) {
    io.err(`${positionals[0]}: not a JSON document (${(err as Error).message})`);
    return 1;
  }
  const result = verifyStatsReport(doc, caPem);
  if (!result.ok) {
    io.err(`${positionals[0]}: REFUSED — ${result.reason}`);
    return 1;
  }
  io.out(`${positionals[0]}: statistics report ${result.period} verified against the platform CA`);
  return 0;
}
