/** The statistics of one platform: its counters and the computation over a period, with who sees what. */

import type { ActorRef } from '../../catalog/records.js';
import type { RedisClient } from '../../platform/redis.js';
import type { ApplicationStore } from '../applications/store.js';
import type { WorkdayCalendar } from '../calendar/calendar.js';
import type { FeedbackStore } from '../feedback.js';
import { CallCounters, ProbeCounters } from './counters.js';
import type { Statistics } from './schema.js';
import { computeStatistics, type StatisticsQuery, statisticsScope } from './statistics.js';

export interface StatsServiceDeps {
  redis: RedisClient;
  prefix: string;
  applications: ApplicationStore;
  calendar: WorkdayCalendar;
  now: () => Date;
  /** Consumers' usage feedback, counted in the statistics. */
  feedback?: FeedbackStore;
}

export class StatsService {
  readonly calls: CallCounters;
  readonly probes: ProbeCounters;
  readonly #deps: StatsServiceDeps;

  constructor(deps: StatsServiceDeps) {
    this.#deps = deps;
    this.calls = new CallCounters(deps.redis, deps.prefix);
    this.probes = new ProbeCounters(deps.redis, deps.prefix);
  }

  /** The statistics of the period, for every department (or `query.dept` only). */
  compute(query: StatisticsQuery): Promise<Statistics> {
    const { applications, calendar, now, feedback } = this.#deps;
    return computeStatistics(
      {
        applications,
        calls: this.calls,
        probes: this.probes,
        calendar,
        now,
        ...(feedback ? { feedback } : {}),
      },
      query,
    );
  }

  /** As `compute`, limited to what the actor may see: a dept-admin its own department only. */
  async forActor(actor: ActorRef, query: StatisticsQuery): Promise<Statistics> {
    const dept = statisticsScope(actor, query.dept);
    return this.compute({ from: query.from, to: query.to, ...(dept !== undefined ? { dept } : {}) });
  }
}
