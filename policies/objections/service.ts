/**
 * Objections and corrections (疑义与纠错, [HB-S] 23; [HC-R] 30; [XY] 21): a consumer department holding a
 * grant on a resource reports a doubtful record; the provider verifies it within its working-day limit
 * (StatutoryLimits.objectionAnswer) and answers: confirmed and corrected, or the data is right, with a
 * reason; the consumer is told. Overdue objections are marked and escalated to the bureau like
 * application stages. The data path is not held up meanwhile ([HB-S] 23).
 */

import { normalizeSubject } from '../../audit/subject.js';
import type { ActorRef, PublishedEntry } from '../../catalog/records.js';
import { cstDate } from '../../platform/plain-date.js';
import type { TimerOutcome } from '../applications/clock.js';
import { actorRecord } from '../applications/commit.js';
import { BUREAU_RECIPIENT, makeEvent } from '../applications/events.js';
import type { OutboxEntry, Timer, WorkflowEvent } from '../applications/schema.js';
import type { WorkdayCalendar } from '../calendar/calendar.js';
import type { StatutoryLimits } from '../calendar/limits.js';
import type { Grant } from '../grant.js';
import type { GrantStore } from '../grant-store.js';
import { clockPassed } from '../record-store.js';
import { answerDeadline, fireObjectionTimer, objectionTimers, recoverObjectionClocks } from './clock.js';
import {
  OBJECTION_FORBIDDEN,
  OBJECTION_INVALID,
  OBJECTION_ITEM_UNKNOWN,
  OBJECTION_NO_GRANT,
  OBJECTION_NOT_FOUND,
  OBJECTION_RESOURCE_UNKNOWN,
} from './errors.js';
import { objectionData, recordTransition } from './events.js';
import { canView, listObjections, type ObjectionPage, type ObjectionQuery } from './listing.js';
import type { Objection, ObjectionAnswer, ObjectionRequest, RecheckDecision } from './schema.js';
import { ACTION_PARTY, ANSWER_ACTION, isOpen, nextState, type ObjectionAction } from './state-machine.js';
import type { ObjectionPlan, ObjectionStore } from './store.js';

export interface ObjectionServiceDeps {
  store: ObjectionStore;
  grants: Pick<GrantStore, 'findActive' | 'list'>;
  catalog: { publishedEntry(code: string): Promise<PublishedEntry | null> };
  calendar: WorkdayCalendar;
  limits: Pick<StatutoryLimits, 'objectionAnswer' | 'objectionRecheck'>;
  now: () => Date;
  /** Runs after every committed change (the gateway drains the outbox there). */
  afterCommit?: () => Promise<void>;
}

const LIVE: ReadonlySet<Grant['status']> = new Set(['active', 'suspended']);
/** [XY] 21: the platform rechecks an objection it received within 5 working days. */
const DEFAULT_RECHECK_WORKDAYS = 5;

export class ObjectionService {
  readonly store: ObjectionStore;
  readonly #deps: ObjectionServiceDeps;
  readonly #afterCommit: () => Promise<void>;

  constructor(deps: ObjectionServiceDeps) {
    this.#deps = deps;
    this.store = deps.store;
    this.#afterCommit = deps.afterCommit ?? (async () => undefined);
  }

  /** Records a consumer department's objection and starts the provider's clock. */
  async submit(actor: ActorRef, request: ObjectionRequest): Promise<Objection> {
    const deps = this.#deps;
    if (actor.role !== 'dept-admin' || actor.dept === undefined) {
      throw new OBJECTION_FORBIDDEN(
        `role ${actor.role} cannot raise objections; the consumer department’s dept-admin does`,
      );
    }
    const consumerDept = actor.dept;
    const published = await deps.catalog.publishedEntry(request.resourceCode);
    if (!published) {
      throw new OBJECTION_RESOURCE_UNKNOWN(`no published resource has code ${request.resourceCode}`);
    }
    const { entry } = published;
    const names = new Set(entry.items.map((i) => i.name));
    if (!names.has(request.item)) {
      throw new OBJECTION_ITEM_UNKNOWN(
        `resource ${entry.code} has no item "${request.item}"; its items are ${[...names].join(', ')}`,
      );
    }
    const keyItem = keyItemOf(published, request.keyItem);
    const key = normalizeSubject(request.key);
    if (key === '') throw new OBJECTION_INVALID('key: state the key value of the doubtful record');
    const grant = await this.#liveGrant(consumerDept, entry.code, request.systemId);

    const now = deps.now();
    const viaPlatform = request.to === 'platform';
    const seq = await deps.store.nextSequence();
    const objection: Objection = {
      id: `OBJ-${cstDate(now).replaceAll('-', '')}-${String(seq).padStart(6, '0')}`,
      consumerDept,
      ...(request.systemId ? { systemId: request.systemId } : {}),
      grantId: grant.id,
      resourceCode: entry.code,
      resourceName: entry.name,
      resourceVersion: published.version,
      providerDept: entry.provider.code,
      keyItem,
      key,
      item: request.item,
      description: request.description,
      ...(request.evidence ? { evidence: { ...request.evidence } } : {}),
      state: 'open',
      submittedAt: now.toISOString(),
      submittedBy: actorRecord(actor),
      deadline: answerDeadline(deps.calendar, now, deps.limits.objectionAnswer),
      history: [],
    };
    if (viaPlatform) {
      // Received by the platform: the bureau rechecks it first, within its own limit ([XY] 21).
      const recheckLimit = deps.limits.objectionRecheck ?? DEFAULT_RECHECK_WORKDAYS;
      objection.deadline = answerDeadline(deps.calendar, now, recheckLimit);
      objection.recheck = { deadline: { ...objection.deadline } };
    }
    const action = viaPlatform ? 'receive' : 'submit';
    recordTransition(objection, { action, from: null, to: nextState('new', action) }, actor, now);
    const firstParty = viaPlatform ? BUREAU_RECIPIENT : objection.providerDept;
    const outbox: OutboxEntry = {
      events: [makeEvent('objection.received', now, [firstParty], objectionData(objection))],
      timers: objectionTimers(objection),
    };
    await deps.store.create(objection, outbox);
    await this.#afterCommit();
    return objection;
  }

  /** The provider's answer: corrected (optionally with the value now recorded) or data-correct. */
  async answer(actor: ActorRef, id: string, answer: ObjectionAnswer): Promise<Objection> {
    const action = ANSWER_ACTION[answer.outcome];
    const reason = answer.reason.trim();
    if (reason === '') throw new OBJECTION_INVALID('reason: say what was verified and what was done');
    if (answer.correctedValue !== undefined && action !== 'correct') {
      throw new OBJECTION_INVALID(
        'correctedValue: only an answer with outcome "corrected" names a new value',
      );
    }
    return this.#change(actor, id, action, reason, (objection, at) => {
      objection.answer = {
        outcome: answer.outcome,
        reason,
        ...(answer.correctedValue !== undefined ? { correctedValue: answer.correctedValue } : {}),
        at: at.toISOString(),
        by: actorRecord(actor),
        withinLimit: !clockPassed(objection.deadline, at.getTime()),
      };
      // The bureau hears of the answer when it was told the objection was escalated.
      const recipients = objection.deadline.escalatedAt
        ? [objection.consumerDept, BUREAU_RECIPIENT]
        : [objection.consumerDept];
      const data = objectionData(objection, {
        outcome: answer.outcome,
        reason,
        withinLimit: objection.answer.withinLimit,
      });
      return makeEvent('objection.answered', at, recipients, data);
    });
  }

  /**
   * The bureau's recheck of an objection the platform received ([XY] 21): forwarded to the provider,
   * whose answer clock starts now, or dismissed with a reason (the consumer is told either way).
   */
  async recheck(actor: ActorRef, id: string, decision: RecheckDecision): Promise<Objection> {
    const reason = decision.reason.trim();
    if (reason === '') throw new OBJECTION_INVALID('reason: say what the recheck found');
    const action = decision.outcome === 'forward' ? 'forward' : 'dismiss';
    const deps = this.#deps;
    return this.#change(actor, id, action, reason, (objection, at) => {
      const recheck = objection.recheck!;
      recheck.outcome = action === 'forward' ? 'forwarded' : 'dismissed';
      recheck.reason = reason;
      recheck.at = at.toISOString();
      recheck.by = actorRecord(actor);
      recheck.withinLimit =
        recheck.deadline.dueAt === undefined || at.getTime() < Date.parse(recheck.deadline.dueAt);
      recheck.deadline = { ...objection.deadline };
      if (action === 'dismiss') {
        return [
          makeEvent(
            'objection.dismissed',
            at,
            [objection.consumerDept],
            objectionData(objection, { reason }),
          ),
        ];
      }
      delete objection.closedAt;
      objection.deadline = answerDeadline(deps.calendar, at, deps.limits.objectionAnswer);
      return [
        makeEvent('objection.received', at, [objection.providerDept], objectionData(objection)),
        makeEvent('objection.forwarded', at, [objection.consumerDept], objectionData(objection, { reason })),
      ];
    });
  }

  /** The consumer withdraws its open objection. */
  async withdraw(actor: ActorRef, id: string, reason?: string): Promise<Objection> {
    const stated = reason?.trim() || undefined;
    return this.#change(actor, id, 'withdraw', stated, (objection, at) =>
      makeEvent(
        'objection.withdrawn',
        at,
        [objection.providerDept],
        objectionData(objection, stated ? { reason: stated } : {}),
      ),
    );
  }

  async get(actor: ActorRef, id: string): Promise<Objection> {
    const read = await this.#deps.store.read(id);
    if (!read || !canView(actor, read.objection)) throw notFound(id);
    return read.objection;
  }

  list(actor: ActorRef, query: ObjectionQuery): Promise<ObjectionPage> {
    return listObjections(this.#deps.store, actor, query, this.#deps.now().getTime());
  }

  /** A deadlines-queue timer with `objectionId` (reminder, overdue mark, escalation). */
  async fireTimer(timer: Timer): Promise<TimerOutcome> {
    const outcome = await fireObjectionTimer(this.#deps.store, this.#deps.now, timer);
    if (outcome === 'done') await this.#afterCommit();
    return outcome;
  }

  /** Provisional deadlines recomputed, and every open objection's timers, to schedule at worker start. */
  async recoverClocks(): Promise<{ timers: Timer[]; moved: number }> {
    const recovered = await recoverObjectionClocks(this.#deps.store, this.#deps.calendar, this.#deps.now);
    if (recovered.moved > 0) await this.#afterCommit();
    return recovered;
  }

  /**
   * Ends an open objection by `action`: checks the party (an unrelated department does not learn the
   * objection exists), the state (OBJECTION_ILLEGAL_TRANSITION), cancels its timers and announces it.
   */
  async #change(
    actor: ActorRef,
    id: string,
    action: ObjectionAction,
    reason: string | undefined,
    announce: (ended: Objection, at: Date) => WorkflowEvent | WorkflowEvent[],
  ): Promise<Objection> {
    const changed = await this.#deps.store.update(id, this.#deps.now, (objection, at): ObjectionPlan => {
      if (!canView(actor, objection)) throw notFound(id);
      const party = ACTION_PARTY[action];
      if (party === 'platform') {
        if (actor.role !== 'bureau') {
          throw new OBJECTION_FORBIDDEN(`only the bureau may ${action} objection ${id} after its recheck`);
        }
      } else {
        const dept = party === 'provider' ? objection.providerDept : objection.consumerDept;
        if (actor.role !== 'dept-admin' || actor.dept !== dept) {
          throw new OBJECTION_FORBIDDEN(
            `only an administrator of the ${party} department ${dept} may ${action} objection ${id}`,
          );
        }
      }
      const to = nextState(objection.state, action, `objection ${id}`);
      const cancel = objectionTimers(objection).map((t) => t.id);
      objection.closedAt = at.toISOString();
      recordTransition(objection, { action, to, ...(reason ? { reason } : {}) }, actor, at);
      const announced = announce(objection, at);
      const events = Array.isArray(announced) ? announced : [announced];
      // Still open (forwarded to the provider): its new clock's timers.
      const timers = isOpen(objection.state) ? objectionTimers(objection) : [];
      return { next: objection, outbox: { cancel, events, ...(timers.length > 0 ? { timers } : {}) } };
    });
    await this.#afterCommit();
    return changed;
  }

  /** A live grant of the department on the resource: the named system's, else any of its systems'. */
  async #liveGrant(dept: string, resourceCode: string, systemId: string | undefined): Promise<Grant> {
    const grants = this.#deps.grants;
    if (systemId !== undefined) {
      const grant = await grants.findActive(dept, systemId, resourceCode);
      if (grant && LIVE.has(grant.status)) return grant;
      throw new OBJECTION_NO_GRANT(
        `system ${systemId} of department ${dept} holds no live grant on resource ${resourceCode}; only a consumer of the resource may object to its records`,
      );
    }
    const { grants: held } = await grants.list({ consumerDept: dept, resourceCode, page: 1, pageSize: 500 });
    const live = held.filter((g) => LIVE.has(g.status));
    const grant = live.find((g) => g.status === 'active') ?? live[0];
    if (grant) return grant;
    throw new OBJECTION_NO_GRANT(
      `department ${dept} holds no live grant on resource ${resourceCode}; only a consumer of the resource may object to its records`,
    );
  }
}

/** The key item named, or the resource's first key item; OBJECTION_INVALID when it is not a key. */
function keyItemOf(published: PublishedEntry, requested: string | undefined): string {
  const { entry } = published;
  const keys = entry.items.filter((i) => i.key).map((i) => i.name);
  if (requested === undefined) {
    const first = keys[0];
    if (first === undefined) {
      throw new OBJECTION_INVALID(
        `resource ${entry.code} declares no key item; name the item that identifies the record in keyItem`,
      );
    }
    return first;
  }
  const allowed = keys.length > 0 ? keys : entry.items.map((i) => i.name);
  if (!allowed.includes(requested)) {
    throw new OBJECTION_INVALID(
      `keyItem: "${requested}" is not a key item of resource ${entry.code}; its key items are ${allowed.join(', ')}`,
    );
  }
  return requested;
}

function notFound(id: string) {
  return new OBJECTION_NOT_FOUND(`no objection has id "${id}" that your department raised or must answer`);
}
