/** `govshare stats`: the published statistics for a period, on the platform host, as JSON or CSV. */
import { ApplicationStore } from '../../../policies/applications/store.js';
import { statisticsCsv } from '../../../policies/stats/csv.js';
import { StatsService } from '../../../policies/stats/service.js';
import { CONFIG_FLAGS, type Command, configFrom, parseFlags, required, UsageError } from '../command.js';
import { calendarFrom } from './calendar.js';
import { withRedis } from './identities.js';

export const statsCommand: Command = {
  name: 'stats',
  summary: 'Statistics of applications, data calls and provider availability for a period (JSON or CSV)',
  usage: 'stats --from YYYY-MM-DD --to YYYY-MM-DD [--dept USCC] [--format json|csv] [--calendar-file FILE]',
  async run(argv, io) {
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
