/**
 * Who sees which applications, and the search over them. The bureau and auditors see all; a
 * department's administrator sees those its department filed (consumer) or received (provider).
 * Filters: state, resource, department (either side), overdue (an open stage past its deadline).
 */
import type { ActorRef } from '../../catalog/records.js';
import { clockPassed } from '../record-store.js';
import { APPLICATION_FORBIDDEN, APPLICATION_INVALID } from './errors.js';
import type { Application, ApplicationState } from './schema.js';
import { currentStage } from './stages.js';
import type { ApplicationStore } from './store.js';

export interface ApplicationQuery {
  state?: ApplicationState;
  resourceCode?: string;
  /** Either side: applications this department filed or received. */
  dept?: string;
  /** true: only open applications past the deadline of their current stage; false: only the others. */
  overdue?: boolean;
  /** 1-based. */
  page: number;
  /** 1 to 500. */
  pageSize: number;
}

export interface ApplicationPage {
  applications: Application[];
  total: number;
  page: number;
  pageSize: number;
}

const MAX_PAGE_SIZE = 500;

export function canView(actor: ActorRef, app: Application): boolean {
  if (actor.role === 'bureau' || actor.role === 'auditor' || actor.role === 'system') return true;
  return actor.role === 'dept-admin' && (actor.dept === app.consumerDept || actor.dept === app.providerDept);
}

export function isOverdue(app: Application, now: number): boolean {
  const stage = currentStage(app);
  return stage !== undefined && clockPassed(stage, now);
}

export async function listApplications(
  store: ApplicationStore,
  actor: ActorRef,
  query: ApplicationQuery,
  now: number,
): Promise<ApplicationPage> {
  const { page, pageSize } = query;
  if (!Number.isInteger(page) || page < 1) throw new APPLICATION_INVALID('page must be an integer from 1');
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new APPLICATION_INVALID(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  const dept = scopeDept(actor, query.dept);
  const k = store.keys;
  let ids: string[];
  if (dept !== undefined) {
    const [filed, received] = await Promise.all([
      store.idsOf(k.byConsumer(dept)),
      store.idsOf(k.byProvider(dept)),
    ]);
    ids = [...new Set([...filed, ...received])];
  } else {
    ids = await store.idsOf(query.resourceCode === undefined ? k.all : k.byResource(query.resourceCode));
  }
  const matching = (await store.load(ids))
    .filter(
      (app) =>
        (query.state === undefined || app.state === query.state) &&
        (query.resourceCode === undefined || app.resourceCode === query.resourceCode) &&
        (query.overdue === undefined || isOverdue(app, now) === query.overdue),
    )
    .sort((a, b) => Date.parse(b.submittedAt) - Date.parse(a.submittedAt) || b.id.localeCompare(a.id));
  const start = (page - 1) * pageSize;
  return { applications: matching.slice(start, start + pageSize), total: matching.length, page, pageSize };
}

/** The department whose applications the actor may list; a dept-admin only its own. */
function scopeDept(actor: ActorRef, requested: string | undefined): string | undefined {
  if (actor.role === 'bureau' || actor.role === 'auditor' || actor.role === 'system') return requested;
  if (actor.role !== 'dept-admin' || actor.dept === undefined) {
    throw new APPLICATION_FORBIDDEN(`role ${actor.role} cannot list applications`);
  }
  if (requested !== undefined && requested !== actor.dept) {
    throw new APPLICATION_FORBIDDEN(
      `you act for department ${actor.dept}; the applications of ${requested} are not yours to see`,
    );
  }
  return actor.dept;
}
