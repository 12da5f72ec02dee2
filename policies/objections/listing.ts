/**
 * Who sees which objections, and the search over them. The bureau sees all; a department's
 * administrator sees those its department raised (consumer) or must answer (provider). Filters: state,
 * resource, department (either side, the bureau's), overdue (open past its deadline).
 */
import type { ActorRef } from '../../catalog/records.js';
import { OBJECTION_FORBIDDEN, OBJECTION_INVALID } from './errors.js';
import type { Objection, ObjectionState } from './schema.js';
import { isOpen } from './state-machine.js';
import type { ObjectionStore } from './store.js';

export interface ObjectionQuery {
  state?: ObjectionState;
  resourceCode?: string;
  /** Either side: objections this department raised or must answer. */
  dept?: string;
  /** true: only open objections past their deadline; false: only the others. */
  overdue?: boolean;
  /** 1-based. */
  page: number;
  /** 1 to 500. */
  pageSize: number;
}

export interface ObjectionPage {
  objections: Objection[];
  total: number;
  page: number;
  pageSize: number;
}

const MAX_PAGE_SIZE = 500;

export function canView(actor: ActorRef, objection: Objection): boolean {
  if (actor.role === 'bureau' || actor.role === 'system') return true;
  return (
    actor.role === 'dept-admin' &&
    (actor.dept === objection.consumerDept || actor.dept === objection.providerDept)
  );
}

/** Open at or after 24:00 CST of the due date, the instant the overdue timer fires. */
export function isOverdue(objection: Objection, now: number): boolean {
  const { dueAt } = objection.deadline;
  return isOpen(objection.state) && dueAt !== undefined && now >= Date.parse(dueAt);
}

export async function listObjections(
  store: ObjectionStore,
  actor: ActorRef,
  query: ObjectionQuery,
  now: number,
): Promise<ObjectionPage> {
  const { page, pageSize } = query;
  if (!Number.isInteger(page) || page < 1) throw new OBJECTION_INVALID('page must be an integer from 1');
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new OBJECTION_INVALID(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  const dept = scopeDept(actor, query.dept);
  const k = store.keys;
  let ids: string[];
  if (dept !== undefined) {
    const [raised, received] = await Promise.all([
      store.idsOf(k.byConsumer(dept)),
      store.idsOf(k.byProvider(dept)),
    ]);
    ids = [...new Set([...raised, ...received])];
  } else if (query.overdue === true) {
    ids = await store.idsOf(k.open);
  } else {
    ids = await store.idsOf(query.resourceCode === undefined ? k.all : k.byResource(query.resourceCode));
  }
  const matching = (await store.load(ids))
    .filter(
      (o) =>
        (query.state === undefined || o.state === query.state) &&
        (query.resourceCode === undefined || o.resourceCode === query.resourceCode) &&
        (query.overdue === undefined || isOverdue(o, now) === query.overdue),
    )
    .sort((a, b) => Date.parse(b.submittedAt) - Date.parse(a.submittedAt) || b.id.localeCompare(a.id));
  const start = (page - 1) * pageSize;
  return { objections: matching.slice(start, start + pageSize), total: matching.length, page, pageSize };
}

/** The department whose objections the actor may list; a dept-admin only its own. */
function scopeDept(actor: ActorRef, requested: string | undefined): string | undefined {
  if (actor.role === 'bureau' || actor.role === 'system') return requested;
  if (actor.role !== 'dept-admin' || actor.dept === undefined) {
    throw new OBJECTION_FORBIDDEN(`role ${actor.role} cannot list objections`);
  }
  if (requested !== undefined && requested !== actor.dept) {
    throw new OBJECTION_FORBIDDEN(
      `you act for department ${actor.dept}; the objections of ${requested} are not yours to see`,
    );
  }
  return actor.dept;
}
