/**
 * When a provider (or the bureau) suspends, resumes or withdraws a resource, its grants follow and their
 * holders are told: suspension suspends every active grant, resumption resumes the grants that the
 * suspension stopped (not those suspended for other reasons), withdrawal revokes every live grant and
 * closes the open applications for it. A change filed for a later date ([HC-R] 29: withdrawal is filed
 * in advance) is announced now and applied by a timer when it takes effect.
 */
import type { ActorRef, PublishedEntry, ResourceStatus } from '../../catalog/records.js';
import type { Grant } from '../grant.js';
import type { GrantStore } from '../grant-store.js';
import { grantActor, PLATFORM } from './commit.js';
import { grantEvent, makeEvent } from './events.js';
import type { Application, OutboxEntry, Timer, WorkflowEvent } from './schema.js';
import { isOpen } from './state-machine.js';
import type { ApplicationStore } from './store.js';

export interface ResourceChangeDeps {
  store: ApplicationStore;
  grants: GrantStore;
  catalog: { publishedEntry(code: string): Promise<PublishedEntry | null> };
  close(id: string, reason: string): Promise<Application>;
  now: () => Date;
  afterCommit?: () => Promise<void>;
}

export interface ResourceChangeOutcome {
  /** Set when the change takes effect later: the instant it was scheduled for. */
  scheduledFor?: string;
  /** Grants whose status changed now. */
  grants: Grant[];
  /** Applications closed now. */
  closedApplications: string[];
}

const PAGE = 500;

export class ResourceChanges {
  readonly #deps: ResourceChangeDeps;

  constructor(deps: ResourceChangeDeps) {
    this.#deps = deps;
  }

  /** Call after the catalog recorded a status declaration for `code`. */
  async onResourceStatusChanged(
    code: string,
    status: ResourceStatus,
    reason: string,
    actor: ActorRef,
    effectiveFrom?: Date,
  ): Promise<ResourceChangeOutcome> {
    const now = this.#deps.now();
    if (effectiveFrom === undefined || effectiveFrom.getTime() <= now.getTime()) {
      return this.apply(code, status, reason, actor);
    }
    const runAt = effectiveFrom.getTime();
    const timer: Timer = {
      id: `resource.${code.replace('/', '_')}.${status}.${runAt}`,
      kind: 'resource-status',
      runAt,
      resourceCode: code,
      status,
      reason,
      actor,
    };
    const events: WorkflowEvent[] = [];
    if (status === 'withdrawn' || status === 'suspended') {
      // Announced now to every consumer holding a live grant or an open application ([XY] 13; [JY] 19).
      const recipients = await this.#concerned(code);
      if (recipients.length > 0) {
        const type = status === 'withdrawn' ? 'resource.withdrawn' : 'resource.suspension-scheduled';
        events.push(
          makeEvent(type, now, recipients, {
            resourceCode: code,
            reason,
            effectiveFrom: effectiveFrom.toISOString(),
          }),
        );
      }
    }
    await this.#outbox({ timers: [timer], events });
    return { scheduledFor: effectiveFrom.toISOString(), grants: [], closedApplications: [] };
  }

  /** The timer of a scheduled change: applies it if the catalog still says so at its time. */
  async fireTimer(timer: Timer): Promise<'done' | 'stale' | 'early'> {
    if (timer.kind !== 'resource-status' || !timer.resourceCode || !timer.status) return 'stale';
    if (this.#deps.now().getTime() < timer.runAt) return 'early';
    const published = await this.#deps.catalog.publishedEntry(timer.resourceCode);
    if (!published || published.status !== timer.status) return 'stale';
    await this.apply(
      timer.resourceCode,
      timer.status,
      timer.reason ?? `resource ${timer.status}`,
      timer.actor ?? PLATFORM,
    );
    return 'done';
  }

  /** Makes the grants (and open applications) of `code` follow its status now. */
  async apply(
    code: string,
    status: ResourceStatus,
    reason: string,
    actor: ActorRef,
  ): Promise<ResourceChangeOutcome> {
    const { grants } = this.#deps;
    const by = grantActor(actor);
    const now = this.#deps.now();
    const suspendedReason = `resource ${code} suspended by its provider: ${reason}`;
    let changed: Grant[] = [];
    const closed: string[] = [];
    const events: WorkflowEvent[] = [];

    if (status === 'suspended') {
      changed = await grants.suspendAllForResource(code, suspendedReason, by);
      for (const g of changed) events.push(grantEvent('grant.suspended', g, now, suspendedReason));
    } else if (status === 'active') {
      const stopped = (await this.#grantsOf(code)).filter(
        (g) =>
          g.status === 'suspended' && g.statusHistory.at(-1)?.reason.startsWith(`resource ${code} suspended`),
      );
      const resumed = `resource ${code} resumed${reason ? `: ${reason}` : ''}`;
      for (const g of stopped) changed.push(await grants.setStatus(by, g.id, 'active', resumed));
      for (const g of changed) events.push(grantEvent('grant.resumed', g, now, resumed));
    } else {
      const withdrawn = `resource ${code} withdrawn by its provider: ${reason}`;
      const recipients = await this.#concerned(code);
      for (const g of await this.#grantsOf(code)) {
        if (g.status !== 'active' && g.status !== 'suspended') continue;
        changed.push(await grants.setStatus(by, g.id, 'revoked', withdrawn));
      }
      for (const g of changed) events.push(grantEvent('grant.revoked', g, now, withdrawn));
      if (recipients.length > 0)
        events.push(makeEvent('resource.withdrawn', now, recipients, { resourceCode: code, reason }));
      for (const app of await this.#openApplications(code)) {
        await this.#deps.close(app.id, withdrawn);
        closed.push(app.id);
      }
    }
    await this.#outbox({ events });
    return { grants: changed, closedApplications: closed };
  }

  async #outbox(entry: OutboxEntry): Promise<void> {
    await this.#deps.store.appendOutbox(entry);
    await this.#deps.afterCommit?.();
  }

  async #grantsOf(code: string): Promise<Grant[]> {
    const all: Grant[] = [];
    for (let page = 1; ; page++) {
      const result = await this.#deps.grants.list({ resourceCode: code, page, pageSize: PAGE });
      all.push(...result.grants);
      if (all.length >= result.total || result.grants.length === 0) return all;
    }
  }

  async #openApplications(code: string): Promise<Application[]> {
    const store = this.#deps.store;
    return (await store.load(await store.idsOf(store.keys.byResource(code)))).filter((a) => isOpen(a.state));
  }

  /** Departments holding a live grant on the resource or waiting on an application for it. */
  async #concerned(code: string): Promise<string[]> {
    const holders = (await this.#grantsOf(code))
      .filter((g) => g.status === 'active' || g.status === 'suspended')
      .map((g) => g.deptCode);
    const applicants = (await this.#openApplications(code)).map((a) => a.consumerDept);
    return [...new Set([...holders, ...applicants])];
  }
}
