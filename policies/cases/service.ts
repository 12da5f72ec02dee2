/**
 * Disputes, rectification orders, catalog change events and joint verifications (joint.ts; see schema.ts): who may open and move each,
 * its working-day clock (reminder, overdue mark, escalation to the bureau on the deadlines queue, like
 * objections), and the notices to the parties. Every change is committed with its events and timers in
 * one step (the outbox); the gateway audits the people's actions, the relay the clock's.
 */
import type { ActorRef } from '../../catalog/records.js';
import type { TimerOutcome } from '../applications/clock.js';
import { actorRecord, PLATFORM } from '../applications/commit.js';
import { BUREAU_RECIPIENT, makeEvent } from '../applications/events.js';
import type { EventType, Timer, WorkflowEvent } from '../applications/schema.js';
import type { WorkdayCalendar } from '../calendar/calendar.js';
import { answerDeadline } from '../objections/clock.js';
import { CASE_CATALOG_NOT_UPDATED, CASE_FORBIDDEN, CASE_ILLEGAL_TRANSITION, CASE_INVALID } from './errors.js';
import { BOTH_DEPARTMENTS, type CorrectionOrder, type JointItem, JointVerifications } from './joint.js';
import type {
  Case,
  CaseKind,
  CaseState,
  CatalogChangeRequest,
  DisputeRequest,
  RectificationRequest,
} from './schema.js';
import { type CasePlan, type CaseStore, isOpenCase } from './store.js';
import { canView, caseData, caseId, caseTimers, notFound, record, within } from './timeline.js';

/**
 * Working-day limits of the cases; configuration, as the statutory ones (the gateway reads them from
 * GOVSHARE_DISPUTE_DECISION_WORKDAYS, GOVSHARE_RECTIFICATION_WORKDAYS, GOVSHARE_CATALOG_UPDATE_WORKDAYS
 * and GOVSHARE_CATALOG_UPDATE_REMIND_WORKDAYS, which refuse a catalog update limit beyond the statute's 15).
 */
export interface CaseLimits {
  /** The bureau's decision of a dispute. @defaultValue 10 */
  disputeDecision: number;
  /** A rectification order when the bureau names none. @defaultValue 15 */
  rectification: number;
  /** Updating the catalog after a change of law or duties ([HC-R] 13: at most 15). @defaultValue 15 */
  catalogUpdate: number;
  /** When the catalog update is reminded, in working days after the event. @defaultValue 10 */
  catalogUpdateReminder: number;
  /**
   * Both departments' answers to a joint verification ([HB-S] 17 fixes no limit): 5, the limit of the
   * platform's recheck of a doubted record ([XY] 21); the bureau then decides within `disputeDecision`.
   * @defaultValue 5
   */
  jointVerification: number;
}

export const DEFAULT_CASE_LIMITS: CaseLimits = {
  disputeDecision: 10,
  rectification: 15,
  catalogUpdate: 15,
  catalogUpdateReminder: 10,
  jointVerification: 5,
};

export interface CaseServiceDeps {
  store: CaseStore;
  calendar: WorkdayCalendar;
  now: () => Date;
  limits?: Partial<CaseLimits>;
  /** Whether a department is registered on the platform. */
  isKnownDepartment(code: string): Promise<boolean>;
  /** The provider and the time the version in force was published (reviewed), for a catalog update. */
  publishedVersion(code: string): Promise<{ providerCode: string; publishedAt: string } | undefined>;
  afterCommit?: () => Promise<void>;
  /** What joint verifications need; without it they cannot be opened. */
  joint?: {
    /** The platform subject secret (record keys hashed, values fingerprinted under it). */
    subjectSecret: Buffer;
    itemOf(resourceCode: string, semanticId: string): Promise<JointItem | undefined>;
    sourceOf(semanticId: string): Promise<string | undefined>;
  };
}

type Action = 'decide' | 'withdraw' | 'report' | 'accept' | 'return' | 'close';

/** (kind, state, action) → next state; the party that may take it. */
const TRANSITIONS: Record<CaseKind, Partial<Record<CaseState, Partial<Record<Action, CaseState>>>>> = {
  dispute: { open: { decide: 'decided', withdraw: 'withdrawn' } },
  rectification: { open: { report: 'reported' }, reported: { accept: 'closed', return: 'open' } },
  'catalog-change': { open: { close: 'closed' } },
  // Answered and decided through joint.ts.
  'joint-verification': {},
};

const FIELD = { remind: 'remindedAt', overdue: 'overdueAt', escalate: 'escalatedAt' } as const;
export class CaseService {
  readonly store: CaseStore;
  readonly limits: CaseLimits;
  readonly #deps: CaseServiceDeps;
  readonly #afterCommit: () => Promise<void>;
  /** Joint verifications of inconsistent data between departments ([HB-S] 17). */
  readonly joint: JointVerifications;

  constructor(deps: CaseServiceDeps) {
    this.#deps = deps;
    this.store = deps.store;
    this.limits = { ...DEFAULT_CASE_LIMITS, ...deps.limits };
    this.#afterCommit = deps.afterCommit ?? (async () => undefined);
    const unavailable = async (): Promise<never> => {
      throw new CASE_INVALID('joint verification is not configured on this platform');
    };
    this.joint = new JointVerifications({
      store: deps.store,
      calendar: deps.calendar,
      now: deps.now,
      limits: { answer: this.limits.jointVerification, decision: this.limits.disputeDecision },
      subjectSecret: deps.joint?.subjectSecret ?? Buffer.alloc(0),
      itemOf: deps.joint ? (code, id) => deps.joint!.itemOf(code, id) : unavailable,
      sourceOf: deps.joint ? (id) => deps.joint!.sourceOf(id) : unavailable,
      orderCorrection: (actor, order) => this.#orderCorrection(actor, order),
      afterCommit: this.#afterCommit,
    });
  }

  /** The rectification order that follows a joint verification: the department corrects its value. */
  #orderCorrection(actor: ActorRef, order: CorrectionOrder): Promise<Case> {
    return this.#open(actor, 'rectification', {
      subject: order.subject,
      description: order.description,
      dept: order.dept,
      resourceCode: order.resourceCode,
      relatedCase: order.relatedCase,
      responsible: order.dept,
      limit: this.limits.rectification,
      type: 'rectification.ordered',
      recipients: [order.dept, BUREAU_RECIPIENT],
    });
  }

  /** A department's dispute with another, for the bureau to decide ([HB-S] 25; [HC-R] 28). */
  async openDispute(actor: ActorRef, request: DisputeRequest): Promise<Case> {
    if (actor.role !== 'dept-admin' || actor.dept === undefined) {
      throw new CASE_FORBIDDEN('a dispute is opened by an administrator of one of the departments');
    }
    if (request.otherDept === actor.dept)
      throw new CASE_INVALID('otherDept: a dispute is with another department');
    await this.#known(request.otherDept);
    return this.#open(actor, 'dispute', {
      subject: request.subject,
      description: request.description,
      fromDept: actor.dept,
      dept: request.otherDept,
      ...(request.resourceCode ? { resourceCode: request.resourceCode } : {}),
      responsible: BUREAU_RECIPIENT,
      limit: this.limits.disputeDecision,
      type: 'dispute.opened',
      recipients: [BUREAU_RECIPIENT, request.otherDept],
    });
  }

  /** The bureau orders a department to rectify a violation within a time limit ([HB-S] 31; [HC-R] 44). */
  async orderRectification(actor: ActorRef, request: RectificationRequest): Promise<Case> {
    if (actor.role !== 'bureau') throw new CASE_FORBIDDEN('only the bureau orders rectification');
    await this.#known(request.dept);
    return this.#open(actor, 'rectification', {
      subject: request.subject,
      description: request.description,
      dept: request.dept,
      ...(request.resourceCode ? { resourceCode: request.resourceCode } : {}),
      responsible: request.dept,
      limit: request.workdays ?? this.limits.rectification,
      type: 'rectification.ordered',
      recipients: [request.dept],
    });
  }

  /**
   * A law amended or a department's duties changed, recorded by the bureau or the department itself: the
   * department updates its catalog within 15 working days ([HC-R] 13), reminded after 10.
   */
  async recordCatalogChange(actor: ActorRef, request: CatalogChangeRequest): Promise<Case> {
    if (actor.role !== 'bureau' && !(actor.role === 'dept-admin' && actor.dept === request.dept)) {
      throw new CASE_FORBIDDEN(
        'a catalog change event is recorded by the bureau or the department concerned',
      );
    }
    await this.#known(request.dept);
    return this.#open(actor, 'catalog-change', {
      subject: request.subject,
      description: request.description,
      event: request.event,
      dept: request.dept,
      responsible: request.dept,
      limit: this.limits.catalogUpdate,
      remindAfter: this.limits.catalogUpdateReminder,
      type: 'catalog-change.recorded',
      recipients: [request.dept, BUREAU_RECIPIENT],
    });
  }

  /** The bureau's decision of a dispute; both departments are told. */
  decide(actor: ActorRef, id: string, text: string): Promise<Case> {
    return this.#change(actor, id, 'decide', text, (c, at) => {
      c.decision = { text, by: actorRecord(actor), at: at.toISOString(), withinLimit: within(c, at) };
      return [makeEvent('dispute.decided', at, [c.fromDept!, c.dept], caseData(c, { decision: text }))];
    });
  }

  /** The opener withdraws its dispute. */
  withdraw(actor: ActorRef, id: string, text: string): Promise<Case> {
    return this.#change(actor, id, 'withdraw', text, (c, at) => [
      makeEvent('dispute.withdrawn', at, [BUREAU_RECIPIENT, c.dept], caseData(c, { reason: text })),
    ]);
  }

  /** The department's closure report on a rectification order; the clock stops, the bureau reviews. */
  report(actor: ActorRef, id: string, text: string): Promise<Case> {
    return this.#change(actor, id, 'report', text, (c, at) => {
      c.report = { text, by: actorRecord(actor), at: at.toISOString(), withinLimit: within(c, at) };
      return [makeEvent('rectification.reported', at, [BUREAU_RECIPIENT], caseData(c))];
    });
  }

  /** The bureau accepts the closure report (closed) or returns it (open again, on the same deadline). */
  review(actor: ActorRef, id: string, outcome: 'accept' | 'return', reason: string): Promise<Case> {
    return this.#change(actor, id, outcome, reason, (c, at) => [
      makeEvent(
        outcome === 'accept' ? 'rectification.closed' : 'rectification.returned',
        at,
        [c.dept],
        caseData(c, { reason }),
      ),
    ]);
  }

  /** Closes a catalog change event with a catalog version of the department published after it. */
  async closeCatalogChange(actor: ActorRef, id: string, resourceCode: string): Promise<Case> {
    const published = await this.#deps.publishedVersion(resourceCode);
    return this.#change(actor, id, 'close', `catalog updated: ${resourceCode}`, (c, at) => {
      if (!published || published.providerCode !== c.dept || published.publishedAt <= c.submittedAt) {
        throw new CASE_CATALOG_NOT_UPDATED(
          `resource ${resourceCode} has no version of department ${c.dept} published after ${c.submittedAt}; publish the updated entry first`,
        );
      }
      c.report = {
        text: `catalog updated: ${resourceCode}`,
        by: actorRecord(actor),
        at: at.toISOString(),
        withinLimit: within(c, at),
        resourceCode,
      };
      return [
        makeEvent('catalog-change.closed', at, [BUREAU_RECIPIENT, c.dept], caseData(c, { resourceCode })),
      ];
    });
  }

  /**
   * A version of `resourceCode` was published: the open catalog change events of its provider recorded
   * before it are closed by the platform. Returns them.
   */
  async onVersionPublished(resourceCode: string): Promise<Case[]> {
    const published = await this.#deps.publishedVersion(resourceCode);
    if (!published) return [];
    const { keys } = this.store;
    const open = await this.store.load(await this.store.idsOf(keys.byConsumer(published.providerCode)));
    const met = open.filter(
      (c) =>
        c.kind === 'catalog-change' &&
        isOpenCase(c) &&
        c.dept === published.providerCode &&
        c.submittedAt < published.publishedAt,
    );
    const closed: Case[] = [];
    for (const c of met) closed.push(await this.closeCatalogChange(PLATFORM, c.id, resourceCode));
    return closed;
  }

  async get(actor: ActorRef, id: string): Promise<Case> {
    const read = await this.store.read(id);
    if (!read || !canView(actor, read.record)) throw notFound(id);
    return read.record;
  }

  /** The cases the actor may see, newest first (the bureau and auditors all; a department its own). */
  async list(actor: ActorRef, query: { kind?: CaseKind; state?: CaseState } = {}): Promise<Case[]> {
    const { keys } = this.store;
    const index = actor.role === 'dept-admin' && actor.dept ? keys.byConsumer(actor.dept) : keys.all;
    const all = await this.store.load(await this.store.idsOf(index));
    return all
      .filter((c) => canView(actor, c))
      .filter(
        (c) =>
          (query.kind === undefined || c.kind === query.kind) &&
          (query.state === undefined || c.state === query.state),
      )
      .sort((a, b) => b.submittedAt.localeCompare(a.submittedAt));
  }

  /** A deadlines-queue timer with `caseId`. */
  async fireTimer(timer: Timer): Promise<TimerOutcome> {
    if (
      !timer.caseId ||
      timer.kind === 'resource-status' ||
      timer.kind === 'grant-status' ||
      timer.kind === 'forward' ||
      timer.kind === 'forward-withdraw'
    )
      return 'stale';
    const kind = timer.kind;
    let outcome: TimerOutcome = 'stale';
    await this.store.update(timer.caseId, this.#deps.now, (c, at): CasePlan | undefined => {
      outcome = 'stale';
      if (!isOpenCase(c) || !caseTimers(c).some((t) => t.id === timer.id)) return undefined;
      if (c.deadline[FIELD[kind]] !== undefined) return undefined;
      if (at.getTime() < timer.runAt) {
        outcome = 'early';
        return undefined;
      }
      outcome = 'done';
      // A joint verification not answered in time goes to the bureau.
      if (kind === 'overdue') {
        const referred = this.joint.referOnOverdue(c, at);
        if (referred) return referred;
      }
      c.deadline[FIELD[kind]] = at.toISOString();
      const reason =
        kind === 'remind'
          ? `reminder: due ${c.deadline.dueDate}`
          : kind === 'overdue'
            ? `not done by its deadline, 24:00 CST of ${c.deadline.dueDate}`
            : 'still not done one working day after its deadline; escalated to the bureau';
      c.history.push({
        action: kind,
        from: c.state,
        to: c.state,
        at: at.toISOString(),
        by: PLATFORM,
        reason,
      } as Case['history'][number]);
      const type: EventType =
        kind === 'remind' ? 'case.reminder' : kind === 'overdue' ? 'case.overdue' : 'case.escalated';
      // While a joint verification waits for answers, the departments that have not answered are reminded.
      const responsible =
        c.responsible === BOTH_DEPARTMENTS
          ? (c.verification?.sides ?? []).filter((side) => !side.answer).map((side) => side.dept)
          : [c.responsible];
      const recipients =
        kind === 'escalate'
          ? [BUREAU_RECIPIENT]
          : [...responsible, ...(kind === 'overdue' ? [BUREAU_RECIPIENT] : [])];
      const audit = { action: `case.${kind}`, at: at.toISOString(), detail: { case: c.id, kind: c.kind } };
      const data = caseData(c, { responsible: c.responsible });
      return { next: c, outbox: { events: [makeEvent(type, at, recipients, data)], audit: [audit] } };
    });
    if ((outcome as TimerOutcome) === 'done') await this.#afterCommit();
    return outcome;
  }

  /**
   * Files the correction orders of decided joint verifications that have none (the process stopped between
   * the decision and the order); run at worker start. Returns how many were filed.
   */
  async recoverCorrections(): Promise<number> {
    const due = await this.store.load(await this.store.idsOf(this.store.keys.correctionDue));
    let filed = 0;
    for (const c of due) {
      const after = await this.joint.ensureCorrection(c, PLATFORM);
      if (after.verification?.outcome?.correctionCaseId) filed++;
    }
    return filed;
  }

  /** Every open case's timers, to schedule again at worker start (ids make that harmless). */
  async openTimers(): Promise<Timer[]> {
    const open = await this.store.load(await this.store.idsOf(this.store.keys.open));
    return open.filter(isOpenCase).flatMap(caseTimers);
  }

  async #known(dept: string) {
    if (!(await this.#deps.isKnownDepartment(dept))) {
      throw new CASE_INVALID(`department ${dept} is not registered on the platform`);
    }
  }

  async #open(
    actor: ActorRef,
    kind: CaseKind,
    spec: Pick<Case, 'subject' | 'description' | 'dept' | 'responsible'> &
      Partial<Pick<Case, 'fromDept' | 'resourceCode' | 'event' | 'relatedCase'>> & {
        limit: number;
        remindAfter?: number;
        type: EventType;
        recipients: string[];
      },
  ): Promise<Case> {
    const { calendar, now: clock } = this.#deps;
    const now = clock();
    const seq = await this.store.nextSequence();
    const deadline = answerDeadline(calendar, now, spec.limit);
    if (spec.remindAfter !== undefined && spec.remindAfter < spec.limit) {
      deadline.remindAt = calendar.deadline(now, spec.remindAfter).dueAt.toISOString();
    }
    const { limit: _l, remindAfter: _r, type, recipients, ...fields } = spec;
    const c: Case = {
      id: caseId(kind, now, seq),
      kind,
      state: 'open',
      ...fields,
      openedBy: actorRecord(actor),
      submittedAt: now.toISOString(),
      deadline,
      history: [],
    };
    c.history.push({
      action: 'open',
      from: null,
      to: 'open',
      at: now.toISOString(),
      by: actorRecord(actor),
    } as Case['history'][number]);
    const holder = await this.store.create(c, {
      events: [makeEvent(type, now, recipients, caseData(c))],
      timers: caseTimers(c),
      // A person's opening is audited by the route; the platform's (a correction order) with the case.
      ...(actor.role === 'system'
        ? {
            audit: [
              {
                action: 'case.open',
                at: now.toISOString(),
                detail: {
                  case: c.id,
                  kind,
                  dept: c.dept,
                  ...(c.relatedCase ? { related: c.relatedCase } : {}),
                },
              },
            ],
          }
        : {}),
    });
    if (holder !== undefined) {
      // The correction order of this joint verification was filed meanwhile (a recovery racing the answer).
      const read = await this.store.read(holder);
      if (read) return read.record;
    }
    await this.#afterCommit();
    return c;
  }

  async #change(
    actor: ActorRef,
    id: string,
    action: Action,
    text: string,
    announce: (c: Case, at: Date) => WorkflowEvent[],
  ): Promise<Case> {
    if (text.trim() === '') throw new CASE_INVALID('text: must not be blank');
    const changed = await this.store.update(id, this.#deps.now, (c, at): CasePlan => {
      if (!canView(actor, c)) throw notFound(id);
      checkParty(actor, c, action);
      const row = TRANSITIONS[c.kind][c.state] ?? {};
      const to = row[action];
      if (to === undefined) {
        const allowed = Object.keys(row).join(', ') || 'nothing (it is final)';
        throw new CASE_ILLEGAL_TRANSITION(
          `${c.kind} ${id} is ${c.state}: cannot ${action} (allowed: ${allowed})`,
        );
      }
      const cancel = isOpenCase(c) ? caseTimers(c).map((t) => t.id) : [];
      record(c, action, to, actor, at, text);
      if (!isOpenCase(c) && to !== 'reported') c.closedAt = at.toISOString();
      const events = announce(c, at);
      const timers = isOpenCase(c) ? caseTimers(c) : [];
      return { next: c, outbox: { events, cancel, ...(timers.length > 0 ? { timers } : {}) } };
    });
    await this.#afterCommit();
    return changed;
  }
}

function checkParty(actor: ActorRef, c: Case, action: Action): void {
  const bureauActs = action === 'decide' || action === 'accept' || action === 'return';
  if (bureauActs) {
    if (actor.role !== 'bureau') throw new CASE_FORBIDDEN(`only the bureau may ${action} ${c.kind} ${c.id}`);
    return;
  }
  if (action === 'close' && (actor.role === 'bureau' || actor.role === 'system')) return;
  const party = action === 'withdraw' ? c.fromDept : c.dept;
  if (actor.role !== 'dept-admin' || actor.dept !== party) {
    throw new CASE_FORBIDDEN(`only an administrator of department ${party} may ${action} ${c.kind} ${c.id}`);
  }
}
