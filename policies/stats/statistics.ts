/**
 * The statistics the bureau publishes for a period ([HB-S] 26): authorization handling, data calls and
 * data availability, per department and overall. Applications count for their provider department (the
 * one whose handling is measured); `applicationsFiled` counts them for the consumer. Handling time is in
 * working days from the submission date to the decision date, the start day not counted, as deadlines
 * are. Medians of an even count average the two middle values; p90 is the nearest-rank percentile.
 */

import type { ActorRef } from '../../catalog/records.js';
import { cstDate, type PlainDate, tryDayNumber } from '../../platform/plain-date.js';
import type { Application, Stage } from '../applications/schema.js';
import { stageWithinLimit } from '../applications/stages.js';
import type { ApplicationStore } from '../applications/store.js';
import type { WorkdayCalendar } from '../calendar/calendar.js';
import { type FeedbackStore, feedbackFigures } from '../feedback.js';
import type { CallCount, CallCounters, ProbeCount, ProbeCounters } from './counters.js';
import { STATS_FORBIDDEN, STATS_PERIOD_INVALID } from './errors.js';
import type {
  ApplicationFigures,
  AvailabilityFigures,
  CallFigures,
  DepartmentStatistics,
  Statistics,
} from './schema.js';

export interface StatisticsDeps {
  applications: ApplicationStore;
  calls: CallCounters;
  probes: ProbeCounters;
  calendar: WorkdayCalendar;
  now: () => Date;
  /** Consumers' usage feedback, counted per department when given. */
  feedback?: Pick<FeedbackStore, 'between'>;
}

export interface StatisticsQuery {
  from: PlainDate;
  to: PlainDate;
  dept?: string;
}

const MAX_DAYS = 366;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/** Start (inclusive) and end (exclusive) of the period in epoch ms: 00:00 CST of from to 24:00 CST of to. */
export function periodBounds(query: StatisticsQuery): { start: number; end: number } {
  for (const [name, value] of [
    ['from', query.from],
    ['to', query.to],
  ] as const) {
    if (!DATE.test(value) || tryDayNumber(value) === undefined) {
      throw new STATS_PERIOD_INVALID(
        `${name} must be a calendar date 'YYYY-MM-DD' (got ${JSON.stringify(value)})`,
      );
    }
  }
  const start = Date.parse(`${query.from}T00:00:00+08:00`);
  const end = Date.parse(`${query.to}T00:00:00+08:00`) + DAY_MS;
  if (end <= start) throw new STATS_PERIOD_INVALID(`from (${query.from}) must not be after to (${query.to})`);
  if ((end - start) / DAY_MS > MAX_DAYS)
    throw new STATS_PERIOD_INVALID(`a period is at most ${MAX_DAYS} days long`);
  return { start, end };
}

/** The department an actor may ask about: a dept-admin only its own (and gets it when it names none). */
export function statisticsScope(actor: ActorRef, dept: string | undefined): string | undefined {
  if (actor.role === 'bureau' || actor.role === 'system') return dept;
  if (actor.role !== 'dept-admin' || actor.dept === undefined) {
    throw new STATS_FORBIDDEN(`role ${actor.role} cannot read the statistics`);
  }
  if (dept !== undefined && dept !== actor.dept) {
    throw new STATS_FORBIDDEN(
      `you act for department ${actor.dept}; the statistics of ${dept} are not yours to see`,
    );
  }
  return actor.dept;
}

export async function computeStatistics(deps: StatisticsDeps, query: StatisticsQuery): Promise<Statistics> {
  const { start, end } = periodBounds(query);
  const store = deps.applications;
  const now = deps.now().getTime();
  const [submittedIds, decidedIds, dueMembers, calls, probes] = await Promise.all([
    store.membersBetween(store.keys.all, start, end - 1),
    store.membersBetween(store.keys.decided, start, end - 1),
    store.membersBetween(store.keys.due, start, end - 1),
    deps.calls.read(query.from, query.to),
    deps.probes.read(query.from, query.to),
  ]);
  const feedback = deps.feedback ? await deps.feedback.between(start, end) : undefined;
  const dueStages = dueMembers.map((m) => ({
    id: m.slice(0, m.lastIndexOf('.')),
    seq: Number(m.slice(m.lastIndexOf('.') + 1)),
  }));
  const apps = new Map(
    (await store.load([...new Set([...submittedIds, ...decidedIds, ...dueStages.map((d) => d.id)])])).map(
      (a) => [a.id, a],
    ),
  );
  const pick = (ids: string[]) =>
    ids.map((id) => apps.get(id)).filter((a): a is Application => a !== undefined);
  const submitted = pick(submittedIds);
  const decided = pick(decidedIds);
  const overdueStages: { app: Application; stage: Stage }[] = [];
  for (const { id, seq } of dueStages) {
    const app = apps.get(id);
    const stage = app?.stages.find((s) => s.seq === seq);
    if (
      app &&
      stage &&
      stage.dueAt !== undefined &&
      Date.parse(stage.dueAt) <= now &&
      !stageWithinLimit(stage, now)
    )
      overdueStages.push({ app, stage });
  }

  const figures = (provider?: string): ApplicationFigures =>
    applicationFigures(
      deps.calendar,
      submitted.filter((a) => provider === undefined || a.providerDept === provider),
      decided.filter((a) => provider === undefined || a.providerDept === provider),
      overdueStages
        .filter((o) => provider === undefined || o.app.providerDept === provider)
        .map((o) => o.stage),
      now,
    );

  const depts =
    query.dept !== undefined
      ? [query.dept]
      : [
          ...new Set([
            ...[...apps.values()].flatMap((a) => [a.consumerDept, a.providerDept]),
            ...calls.flatMap((c) => [c.consumerDept, c.providerDept]),
            ...probes.map((p) => p.providerDept),
            ...(feedback ?? []).flatMap((f) => [f.consumerDept, f.providerDept]),
          ]),
        ].sort();

  const departments: DepartmentStatistics[] = depts.map((dept) => ({
    dept,
    applications: figures(dept),
    applicationsFiled: submitted.filter((a) => a.consumerDept === dept).length,
    callsMade: callFigures(calls.filter((c) => c.consumerDept === dept)),
    callsServed: callFigures(calls.filter((c) => c.providerDept === dept)),
    availability: availability(probes.filter((p) => p.providerDept === dept)),
    ...(feedback
      ? {
          feedbackGiven: feedbackFigures(feedback.filter((f) => f.consumerDept === dept)),
          feedbackReceived: feedbackFigures(feedback.filter((f) => f.providerDept === dept)),
        }
      : {}),
  }));
  const statistics: Statistics = {
    from: query.from,
    to: query.to,
    generatedAt: new Date(now).toISOString(),
    departments,
  };
  if (query.dept === undefined) {
    statistics.overall = {
      applications: figures(),
      calls: callFigures(calls),
      availability: availability(probes),
      ...(feedback ? { feedback: feedbackFigures(feedback) } : {}),
    };
  }
  return statistics;
}

function applicationFigures(
  calendar: WorkdayCalendar,
  submitted: Application[],
  decided: Application[],
  overdue: Stage[],
  now: number,
): ApplicationFigures {
  const within = decided.filter((a) => a.stages.every((s) => stageWithinLimit(s, now)));
  const days = decided
    .map((a) =>
      calendar.workdaysBetween(cstDate(Date.parse(a.submittedAt)), cstDate(Date.parse(a.decidedAt!))),
    )
    .sort((x, y) => x - y);
  const byStage = { check: 0, directGrant: 0, authorize: 0, notify: 0 };
  for (const stage of overdue) byStage[stage.name]++;
  return {
    received: submitted.length,
    decided: decided.length,
    granted: decided.filter((a) => a.state === 'granted').length,
    rejected: decided.filter((a) => a.state === 'rejected').length,
    refused: decided.filter((a) => a.state === 'refused').length,
    decidedWithinLimit: within.length,
    withinLimitShare: ratio(within.length, decided.length),
    medianWorkdays: median(days),
    p90Workdays: days.length === 0 ? null : days[Math.ceil(0.9 * days.length) - 1]!,
    overdue: overdue.length,
    overdueByStage: byStage,
  };
}

function callFigures(calls: CallCount[]): CallFigures {
  const figures: CallFigures = { allowed: 0, denied: 0, deniedByReason: {} };
  for (const c of calls) {
    if (c.decision === 'allow') figures.allowed += c.count;
    else {
      figures.denied += c.count;
      figures.deniedByReason[c.reasonCode] = (figures.deniedByReason[c.reasonCode] ?? 0) + c.count;
    }
  }
  return figures;
}

function availability(probes: ProbeCount[]): AvailabilityFigures {
  const ok = probes.reduce((n, p) => n + p.ok, 0);
  const total = probes.reduce((n, p) => n + p.ok + p.fail, 0);
  return { probes: total, ok, share: ratio(ok, total) };
}

function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000;
}

export function median(sorted: number[]): number | null {
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
