/**
 * Read–decide–write with retries, shared by every change of an application. The planner sees the
 * stored application and returns the next one with its outbox entry (or undefined: nothing to do); it is
 * re-run on fresh state when another writer got in first, so the loser meets the new state (e.g. an
 * application withdrawn meanwhile) and fails with a clear error instead of overwriting it.
 */
import type { ActorRef } from '../../catalog/records.js';
import type { Actor } from '../grant.js';
import { APPLICATION_CONFLICT, APPLICATION_DUPLICATE, APPLICATION_NOT_FOUND } from './errors.js';
import type { Application, OutboxEntry, Stage, Transition } from './schema.js';
import type { ApplicationStore } from './store.js';

export interface Plan {
  next: Application;
  outbox?: OutboxEntry;
}

const MAX_ATTEMPTS = 10;

/** The platform itself, in application histories. */
export const PLATFORM: ActorRef = { role: 'system', name: 'govshare platform' };

export class ApplicationWriter {
  constructor(
    readonly store: ApplicationStore,
    readonly now: () => Date,
    private readonly afterCommit: () => Promise<void>,
  ) {}

  async create(app: Application, outbox: OutboxEntry): Promise<Application> {
    const result = await this.store.write({ next: app, outbox });
    if (!result.ok) {
      if (result.conflict === 'pending') {
        throw new APPLICATION_DUPLICATE(
          `system ${app.systemId} of department ${app.consumerDept} already has application ${result.otherId} pending for resource ${app.resourceCode}; wait for its decision or withdraw it`,
        );
      }
      throw new APPLICATION_CONFLICT(`application id ${app.id} is taken; retry`);
    }
    await this.afterCommit();
    return app;
  }

  /** Applies `planner` to the stored application; returns what was stored (unchanged when the plan is empty). */
  async update(id: string, planner: (app: Application, at: Date) => Plan | undefined): Promise<Application> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const read = await this.store.read(id);
      if (!read) throw new APPLICATION_NOT_FOUND(`no application has id "${id}"`);
      const plan = planner(structuredClone(read.app), this.now());
      if (!plan) return read.app;
      const result = await this.store.write({
        readJson: read.json,
        previous: read.app,
        next: plan.next,
        ...(plan.outbox ? { outbox: plan.outbox } : {}),
      });
      if (result.ok) {
        await this.afterCommit();
        return plan.next;
      }
    }
    throw new APPLICATION_CONFLICT(`application ${id} kept changing; retry`);
  }
}

export function record(
  app: Application,
  entry: Omit<Transition, 'at' | 'by' | 'from' | 'to'> & Partial<Pick<Transition, 'from' | 'to'>>,
  by: ActorRef,
  at: Date,
): void {
  const to = entry.to ?? app.state;
  const from = entry.from === undefined ? app.state : entry.from;
  const transition: Transition = { ...entry, from, to, at: at.toISOString(), by: actorRecord(by) };
  if (transition.reason === undefined) delete transition.reason;
  app.history.push(transition);
  app.state = to;
}

export function completeStage(stage: Stage, action: string, at: Date): void {
  stage.completedAt = at.toISOString();
  stage.completedBy = action;
}

/** Only the fields a record keeps, whatever else the caller's object (e.g. a JWT payload) holds. */
export function actorRecord(actor: ActorRef): ActorRef {
  return actor.dept === undefined
    ? { role: actor.role, name: actor.name }
    : { role: actor.role, name: actor.name, dept: actor.dept };
}

/** The platform's grantor identity: the GrantStore lets the bureau grant unconditional resources. */
export const PLATFORM_GRANTOR: Actor = { role: 'bureau', name: 'govshare platform (direct grant)' };

/** A person or the platform as the GrantStore's actor (which has no `system` role). */
export function grantActor(actor: ActorRef): Actor {
  if (actor.role === 'system') return { role: 'bureau', name: actor.name };
  return actor.dept === undefined
    ? { role: actor.role, name: actor.name }
    : { role: actor.role, name: actor.name, dept: actor.dept };
}
