/**
 * What every kind of case shares: its id, its timeline entries, its clock's timers, the data its events
 * carry, and who may see it. service.ts (disputes, rectification orders, catalog change events) and
 * joint.ts (joint verifications) build on these.
 */
import type { ActorRef } from '../../catalog/records.js';
import { cstDate } from '../../platform/plain-date.js';
import { actorRecord } from '../applications/commit.js';
import type { Timer } from '../applications/schema.js';
import { CASE_NOT_FOUND } from './errors.js';
import type { Case, CaseKind, CaseState } from './schema.js';

const PREFIX: Record<CaseKind, string> = {
  dispute: 'DSP',
  rectification: 'RECT',
  'catalog-change': 'CHG',
  'joint-verification': 'JV',
};

/** `<KIND>-<yyyymmdd CST>-<sequence>`. */
export function caseId(kind: CaseKind, at: Date, seq: number): string {
  return `${PREFIX[kind]}-${cstDate(at).replaceAll('-', '')}-${String(seq).padStart(6, '0')}`;
}

const AT = { remind: 'remindAt', overdue: 'dueAt', escalate: 'escalateAt' } as const;

/** The three timers of the clock running now (none while it is pending). */
export function caseTimers(c: Case): Timer[] {
  if (c.deadline.provisional) return [];
  return (['remind', 'overdue', 'escalate'] as const).map((kind) => {
    const runAt = Date.parse(c.deadline[AT[kind]] ?? '');
    return { id: `${c.id}.${kind}.${runAt}`, kind, runAt, caseId: c.id };
  });
}

/** What the events of a case carry. */
export function caseData(c: Case, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    caseId: c.id,
    kind: c.kind,
    state: c.state,
    subject: c.subject,
    dept: c.dept,
    ...(c.fromDept ? { fromDept: c.fromDept } : {}),
    ...(c.resourceCode ? { resourceCode: c.resourceCode } : {}),
    dueDate: c.deadline.dueDate,
    ...extra,
  };
}

/** Appends a timeline entry and moves the case to `to`. */
export function record(c: Case, action: string, to: CaseState, by: ActorRef, at: Date, reason?: string) {
  c.history.push({
    action,
    from: c.state,
    to,
    at: at.toISOString(),
    by: actorRecord(by),
    ...(reason ? { reason } : {}),
  } as Case['history'][number]);
  c.state = to;
}

/** Whether `at` is within the case's current limit; a clock still pending has not run out. */
export function within(c: Case, at: Date): boolean {
  return c.deadline.dueAt === undefined || at.getTime() < Date.parse(c.deadline.dueAt);
}

/** The bureau, auditors and the platform see every case; a department's administrators those it is party to. */
export function canView(actor: ActorRef, c: Case): boolean {
  if (actor.role === 'bureau' || actor.role === 'auditor' || actor.role === 'system') return true;
  return actor.role === 'dept-admin' && (actor.dept === c.dept || actor.dept === c.fromDept);
}

export function notFound(id: string) {
  return new CASE_NOT_FOUND(`no case has id "${id}" that your department is party to`);
}
