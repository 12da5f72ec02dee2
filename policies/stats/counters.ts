/**
 * Per-day counters behind the published statistics ([HB-S] 26): data calls by consumer, provider,
 * resource and outcome, and health probes of the providers' data services. Recording a call costs one
 * HINCRBY, which the data path can also put into a pipeline it sends anyway (`callCommand`).
 */

import { addDays, cstDate, type PlainDate } from '../../platform/plain-date.js';
import type { RedisClient } from '../../platform/redis.js';
import { statsKeys } from './keys.js';

export interface CallEvent {
  consumerDept: string;
  providerDept: string;
  resource: string;
  decision: 'allow' | 'deny';
  /** The deny code (e.g. PURPOSE_MISMATCH); empty or absent for an allowed call. */
  reasonCode?: string;
}

export interface CallCount extends Required<CallEvent> {
  day: PlainDate;
  count: number;
}

export interface ProbeResult {
  providerDept: string;
  resource: string;
  ok: boolean;
  latencyMs: number;
  detail?: string;
}

export interface ProbeCount {
  day: PlainDate;
  providerDept: string;
  resource: string;
  ok: number;
  fail: number;
}

const SEP = '|';

/** Every CST date from `from` to `to`, both included. */
export function daysOf(from: PlainDate, to: PlainDate): PlainDate[] {
  const days: PlainDate[] = [];
  for (let day = from; day <= to; day = addDays(day, 1)) days.push(day);
  return days;
}

export class CallCounters {
  readonly #redis: RedisClient;
  readonly #keys: ReturnType<typeof statsKeys>;

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#keys = statsKeys(prefix);
  }

  /** The arguments of the one HINCRBY that records `event`: `pipeline.hincrby(...counters.callCommand(e, now))`. */
  callCommand(event: CallEvent, now: Date | number): [key: string, field: string, increment: number] {
    const reason = event.decision === 'deny' ? (event.reasonCode ?? 'UNSPECIFIED') : '';
    const field = [event.consumerDept, event.providerDept, event.resource, event.decision, reason].join(SEP);
    return [this.#keys.calls(cstDate(now)), field, 1];
  }

  async record(event: CallEvent, now: Date | number): Promise<void> {
    await this.#redis.hincrby(...this.callCommand(event, now));
  }

  async read(from: PlainDate, to: PlainDate): Promise<CallCount[]> {
    const days = daysOf(from, to);
    const hashes = await Promise.all(days.map((day) => this.#redis.hgetall(this.#keys.calls(day))));
    return hashes.flatMap((hash, i) =>
      Object.entries(hash).map(([field, value]) => {
        const [consumerDept = '', providerDept = '', resource = '', decision, reasonCode = ''] =
          field.split(SEP);
        return {
          day: days[i]!,
          consumerDept,
          providerDept,
          resource,
          decision: decision === 'deny' ? ('deny' as const) : ('allow' as const),
          reasonCode,
          count: Number(value),
        };
      }),
    );
  }
}

export class ProbeCounters {
  readonly #redis: RedisClient;
  readonly #keys: ReturnType<typeof statsKeys>;

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#keys = statsKeys(prefix);
  }

  /** Counts a probe; returns the failed probes in a row of its resource, this one included (0 when ok). */
  async record(result: ProbeResult, now: Date | number): Promise<number> {
    const field = [result.providerDept, result.resource, result.ok ? 'ok' : 'fail'].join(SEP);
    const at = new Date(now).toISOString();
    const pipeline = this.#redis
      .pipeline()
      .hincrby(this.#keys.probes(cstDate(now)), field, 1)
      .hset(this.#keys.lastProbe, result.resource, JSON.stringify({ ...result, at }));
    if (result.ok) pipeline.hset(this.#keys.failStreak, result.resource, 0);
    else pipeline.hincrby(this.#keys.failStreak, result.resource, 1);
    const replies = await pipeline.exec();
    const streak = replies?.[2]?.[1];
    return result.ok ? 0 : Number(streak ?? 0);
  }

  async read(from: PlainDate, to: PlainDate): Promise<ProbeCount[]> {
    const days = daysOf(from, to);
    const hashes = await Promise.all(days.map((day) => this.#redis.hgetall(this.#keys.probes(day))));
    const counts = new Map<string, ProbeCount>();
    hashes.forEach((hash, i) => {
      for (const [field, value] of Object.entries(hash)) {
        const [providerDept = '', resource = '', outcome] = field.split(SEP);
        const key = `${days[i]}${SEP}${providerDept}${SEP}${resource}`;
        const count = counts.get(key) ?? { day: days[i]!, providerDept, resource, ok: 0, fail: 0 };
        if (outcome === 'ok') count.ok += Number(value);
        else count.fail += Number(value);
        counts.set(key, count);
      }
    });
    return [...counts.values()];
  }

  /** The latest probe of each resource. */
  async latest(): Promise<(ProbeResult & { at: string })[]> {
    const hash = await this.#redis.hgetall(this.#keys.lastProbe);
    return Object.values(hash).map((json) => JSON.parse(json) as ProbeResult & { at: string });
  }
}
