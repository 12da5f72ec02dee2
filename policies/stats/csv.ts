/** The statistics as CSV: one row per department, then one overall row (when present). */
import type { ApplicationFigures, AvailabilityFigures, CallFigures, Statistics } from './schema.js';

const HEADER = [
  'from',
  'to',
  'scope',
  'dept',
  'applications_received',
  'applications_decided',
  'granted',
  'rejected',
  'refused',
  'decided_within_limit',
  'within_limit_share',
  'median_workdays',
  'p90_workdays',
  'overdue',
  'overdue_check',
  'overdue_direct_grant',
  'overdue_authorize',
  'applications_filed',
  'calls_made_allowed',
  'calls_made_denied',
  'calls_made_denied_by_reason',
  'calls_served_allowed',
  'calls_served_denied',
  'calls_served_denied_by_reason',
  'probes',
  'probes_ok',
  'availability',
];

type Cell = string | number | null;

function cell(value: Cell): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function reasons(calls: CallFigures): string {
  return Object.entries(calls.deniedByReason)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, n]) => `${code}=${n}`)
    .join(';');
}

function row(
  stats: Statistics,
  scope: string,
  dept: string,
  a: ApplicationFigures,
  filed: number,
  made: CallFigures,
  served: CallFigures,
  av: AvailabilityFigures,
): Cell[] {
  return [
    stats.from,
    stats.to,
    scope,
    dept,
    a.received,
    a.decided,
    a.granted,
    a.rejected,
    a.refused,
    a.decidedWithinLimit,
    a.withinLimitShare,
    a.medianWorkdays,
    a.p90Workdays,
    a.overdue,
    a.overdueByStage.check,
    a.overdueByStage.directGrant,
    a.overdueByStage.authorize,
    filed,
    made.allowed,
    made.denied,
    reasons(made),
    served.allowed,
    served.denied,
    reasons(served),
    av.probes,
    av.ok,
    av.share,
  ];
}

export function statisticsCsv(stats: Statistics): string {
  const rows: Cell[][] = [HEADER];
  for (const d of stats.departments) {
    rows.push(
      row(
        stats,
        'department',
        d.dept,
        d.applications,
        d.applicationsFiled,
        d.callsMade,
        d.callsServed,
        d.availability,
      ),
    );
  }
  const o = stats.overall;
  if (o)
    rows.push(
      row(stats, 'overall', '', o.applications, o.applications.received, o.calls, o.calls, o.availability),
    );
  return `${rows.map((r) => r.map(cell).join(',')).join('\r\n')}\r\n`;
}
