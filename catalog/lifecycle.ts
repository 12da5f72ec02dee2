/**
 * The catalog lifecycle as tables ([HC-R] 9: 编目、登记、审核、发布、更新、修改; [HC-R] 29 for stopping).
 *
 * Versions: draft → submitted → published | rejected; rejected → draft; published → superseded when a
 * newer version is published. Resources: active ⇄ suspended, either → withdrawn (terminal).
 * A status change may be scheduled: the effective status at time t is computed from the declarations,
 * never kept as a timer.
 */
import { CatalogEffectiveDateInvalid, CatalogIllegalTransition } from './errors.js';
import type { CatalogStatus, ResourceStatus, VersionState } from './records.js';

export type VersionAction = 'edit' | 'submit' | 'approve' | 'reject' | 'propose' | 'supersede';
export type StatusAction = 'suspend' | 'resume' | 'withdraw';

/**
 * Allowed actions per version state and the state they lead to. `propose` opens a new draft version
 * beside a published one, which stays in force (so its own state does not change).
 */
export const VERSION_TRANSITIONS: Record<VersionState, Partial<Record<VersionAction, VersionState>>> = {
  draft: { edit: 'draft', submit: 'submitted' },
  submitted: { approve: 'published', reject: 'rejected' },
  rejected: { edit: 'draft' },
  published: { propose: 'published', supersede: 'superseded' },
  superseded: {},
};

/** Allowed status declarations per declared resource status. */
export const STATUS_TRANSITIONS: Record<ResourceStatus, Partial<Record<StatusAction, ResourceStatus>>> = {
  active: { suspend: 'suspended', withdraw: 'withdrawn' },
  suspended: { resume: 'active', withdraw: 'withdrawn' },
  withdrawn: {},
};

const allowedList = (table: object) => Object.keys(table).join(', ') || 'nothing';

/** The state a version moves to, or CATALOG_ILLEGAL_TRANSITION naming its state and the action. */
export function nextVersionState(
  state: VersionState,
  action: VersionAction,
  what = 'the version',
): VersionState {
  const row = VERSION_TRANSITIONS[state];
  const next = row[action];
  if (next === undefined) {
    throw new CatalogIllegalTransition(
      `${what} is ${state}: cannot ${action} (allowed: ${allowedList(row)})`,
    );
  }
  return next;
}

/** The declared status a resource moves to, or CATALOG_ILLEGAL_TRANSITION. */
export function nextResourceStatus(
  status: ResourceStatus,
  action: StatusAction,
  what = 'the resource',
): ResourceStatus {
  const row = STATUS_TRANSITIONS[status];
  const next = row[action];
  if (next === undefined) {
    throw new CatalogIllegalTransition(
      `${what} is ${status}: cannot ${action} (allowed: ${allowedList(row)})`,
    );
  }
  return next;
}

/** A withdrawal is final: once filed, no version of the resource may change any more. */
export function assertOpenForChanges(status: ResourceStatus, action: string, what = 'the resource'): void {
  if (status === 'withdrawn') {
    throw new CatalogIllegalTransition(`${what} is withdrawn: cannot ${action} (allowed: nothing)`);
  }
}

/** The status in effect at `at`: the last declaration filed whose effectiveFrom is not after `at`. */
export function effectiveStatus(status: CatalogStatus, at: Date): ResourceStatus {
  const t = at.getTime();
  let effective: ResourceStatus = 'active';
  for (const declaration of status.timeline) {
    if (Date.parse(declaration.effectiveFrom) <= t) effective = declaration.status;
  }
  return effective;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * Parses an effective date: `YYYY-MM-DD` is the start of that day in China Standard Time; otherwise an
 * ISO date-time with a zone. A moment earlier today (CST) means "now"; an earlier day is refused, since
 * the record of what was in force must not be rewritten. With `required` a value must be given (absent
 * means now otherwise); with `inAdvance` it must lie in the future (a withdrawal is filed in advance,
 * [HC-R] 29).
 */
export function parseEffectiveFrom(
  value: string | undefined,
  now: Date,
  { required = false, inAdvance = false, field = 'effectiveFrom' } = {},
): Date {
  if (value === undefined || value === '') {
    if (required || inAdvance)
      throw new CatalogEffectiveDateInvalid(`${field}: give the date the change takes effect`);
    return now;
  }
  let moment: number;
  const day = DATE_ONLY.exec(value);
  if (day) {
    moment = Date.parse(`${value}T00:00:00+08:00`);
    const check = new Date(moment + 8 * 3600_000);
    if (check.getUTCDate() !== Number(day[3]) || check.getUTCMonth() + 1 !== Number(day[2]))
      moment = Number.NaN;
  } else {
    moment = DATE_TIME_WITH_ZONE.test(value) ? Date.parse(value) : Number.NaN;
  }
  if (Number.isNaN(moment)) {
    throw new CatalogEffectiveDateInvalid(
      `${field}: "${value}" is not a date (YYYY-MM-DD) or a date-time with a zone (e.g. 2026-03-01T09:00:00+08:00)`,
    );
  }
  if (moment < startOfDayCst(now)) {
    throw new CatalogEffectiveDateInvalid(
      `${field}: "${value}" lies in the past; changes cannot be backdated`,
    );
  }
  if (inAdvance && moment <= now.getTime()) {
    throw new CatalogEffectiveDateInvalid(
      `${field}: "${value}" is not in the future; a withdrawal is filed in advance ([HC-R] 29) — suspend to stop at once`,
    );
  }
  return new Date(Math.max(moment, now.getTime()));
}

/** The calendar date in China Standard Time (UTC+8, no daylight saving), as CCYY-MM-DD. */
export function cstDate(at: Date): string {
  return new Date(at.getTime() + 8 * 3600_000).toISOString().slice(0, 10);
}

function startOfDayCst(at: Date): number {
  return Date.parse(`${cstDate(at)}T00:00:00+08:00`);
}
