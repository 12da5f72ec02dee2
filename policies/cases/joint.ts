/**
 * Joint verification of inconsistent data between departments ([HB-S] 17: 部门间数据不一致的，共同核实).
 *
 * A case is opened when a quality run finds that two departments' resources disagree on one item (by its
 * 一数一源 semantic id) of one record, or by hand by the bureau or either provider department. One finding
 * (resource pair + item + record key) has one case: a later run that finds it again gets the case already
 * open, or the decided one while its correction order is still open and the values are the same.
 * The record key is kept only as the audit trail's subject hash, the two values only as keyed fingerprints.
 *
 * Both departments answer on a working-day clock (confirm their value with evidence, or concede). One
 * confirming and the other conceding settles it by agreement; otherwise, or when the clock runs out, the
 * case is referred to the bureau, which decides on its own clock. The outcome names the correct source,
 * and the other department gets a rectification order (service.ts) to correct its value.
 */
import { subjectHash } from '../../audit/subject.js';
import type { ActorRef } from '../../catalog/records.js';
import { actorRecord, PLATFORM } from '../applications/commit.js';
import { BUREAU_RECIPIENT } from '../applications/events.js';
import type { OutboxEntry } from '../applications/schema.js';
import type { WorkdayCalendar } from '../calendar/calendar.js';
import { answerDeadline } from '../objections/clock.js';
import {
  CASE_FORBIDDEN,
  CASE_ILLEGAL_TRANSITION,
  CASE_INVALID,
  CASE_JOINT_ANSWERED,
  CASE_JOINT_ITEM_UNKNOWN,
  CASE_JOINT_SAME_DEPARTMENT,
  CASE_JOINT_SOURCE_INVALID,
  CASE_JOINT_VALUES_AGREE,
} from './errors.js';
import { decidedEvent, event, referredEvent } from './joint-events.js';
import { findingOf, valueFingerprint } from './joint-finding.js';
import type {
  Case,
  JointAnswerRequest,
  JointDecisionRequest,
  JointSide,
  JointVerification,
  JointVerificationRequest,
} from './schema.js';
import { type CasePlan, type CaseStore, isOpenCase } from './store.js';
import { canView, caseId, caseTimers, notFound, record, within } from './timeline.js';

/** `responsible` of a joint verification waiting for the departments' answers. */
export const BOTH_DEPARTMENTS = 'departments';

/** The published item of a semantic id in one resource, and the resource's provider. */
export interface JointItem {
  dept: string;
  item: string;
}

/** What a rectification order that follows a joint verification says. */
export interface CorrectionOrder {
  dept: string;
  subject: string;
  description: string;
  resourceCode: string;
  relatedCase: string;
}

export interface JointVerificationDeps {
  store: CaseStore;
  calendar: WorkdayCalendar;
  now: () => Date;
  /** Working days for the departments' answers, then for the bureau's decision. */
  limits: { answer: number; decision: number };
  /** The platform subject secret: record keys are hashed, values fingerprinted, under it. */
  subjectSecret: Buffer;
  itemOf(resourceCode: string, semanticId: string): Promise<JointItem | undefined>;
  /** The resource the catalog holds as the source of the item (一数一源), if any. */
  sourceOf(semanticId: string): Promise<string | undefined>;
  /** Files the rectification order of the department whose value is wrong (service.ts). */
  orderCorrection(actor: ActorRef, order: CorrectionOrder): Promise<Case>;
  afterCommit(): Promise<void>;
}

/** A cross-source inconsistency as a quality run found it. */
export interface InconsistencyFinding {
  semanticId: string;
  /** The checked resource, then the one it was compared with. */
  resources: [string, string];
  /** The value each holds, in the same order. */
  values: [unknown, unknown];
  /** The record key in clear: hashed here, never stored. */
  key: string;
  /** The key masked as the quality report shows it. */
  maskedKey?: string;
  runId: string;
}

export interface JointOpened {
  case: Case;
  /** The finding already had this case: nothing new was opened. */
  deduplicated: boolean;
}

interface OpenSpec {
  semanticId: string;
  resources: [string, string];
  fingerprints: [string, string];
  recordKeyHash: string;
  maskedKey?: string;
  origin: JointVerification['origin'];
  runId?: string;
  description: string;
}

export class JointVerifications {
  readonly #deps: JointVerificationDeps;

  constructor(deps: JointVerificationDeps) {
    this.#deps = deps;
  }

  /** Opened by hand by the bureau or an administrator of one of the two provider departments. */
  async open(actor: ActorRef, request: JointVerificationRequest): Promise<JointOpened> {
    if (actor.role !== 'bureau' && actor.role !== 'dept-admin') {
      throw new CASE_FORBIDDEN('a joint verification is opened by the bureau or one of the two departments');
    }
    if (request.key.trim() === '') throw new CASE_INVALID('key: must not be blank');
    const [a, b] = request.resources as [string, string];
    const items = await this.#items([a, b], request.semanticId);
    if (actor.role === 'dept-admin' && !items.some((i) => i.dept === actor.dept)) {
      throw new CASE_FORBIDDEN(
        `your department provides neither ${a} nor ${b}: ask one of them or the bureau to open the case`,
      );
    }
    const { subjectSecret } = this.#deps;
    let recordKeyHash: string;
    try {
      recordKeyHash = subjectHash(subjectSecret, request.key);
    } catch {
      throw new CASE_INVALID('key: not a usable record key');
    }
    return this.#open(actor, items, {
      semanticId: request.semanticId,
      resources: [a, b],
      fingerprints: [
        valueFingerprint(subjectSecret, request.values[0]),
        valueFingerprint(subjectSecret, request.values[1]),
      ],
      recordKeyHash,
      origin: 'manual',
      description: request.description,
    });
  }

  /** Opened by the platform for a quality run's finding (deduplicated across runs). */
  async fromQualityRun(finding: InconsistencyFinding): Promise<JointOpened> {
    const { subjectSecret } = this.#deps;
    const [checked, other] = finding.resources;
    return this.#open(PLATFORM, await this.#items(finding.resources, finding.semanticId), {
      semanticId: finding.semanticId,
      resources: finding.resources,
      fingerprints: [
        valueFingerprint(subjectSecret, finding.values[0]),
        valueFingerprint(subjectSecret, finding.values[1]),
      ],
      recordKeyHash: subjectHash(subjectSecret, finding.key),
      ...(finding.maskedKey ? { maskedKey: finding.maskedKey } : {}),
      origin: 'quality-run',
      runId: finding.runId,
      description: `quality run ${finding.runId} of ${checked} found that ${checked} and ${other} hold different values of "${finding.semanticId}" for one record`,
    });
  }

  /** A department's answer: its value confirmed with evidence, or conceded. Both answered → settled or referred. */
  async answer(actor: ActorRef, id: string, request: JointAnswerRequest): Promise<Case> {
    if (request.evidence.trim() === '') throw new CASE_INVALID('evidence: must not be blank');
    const { store, now, calendar, limits } = this.#deps;
    const changed = await store.update(id, now, (c, at): CasePlan => {
      const v = joint(actor, c, id);
      if (c.state !== 'open') {
        throw new CASE_ILLEGAL_TRANSITION(
          `joint verification ${id} is ${c.state}: the departments' answers are closed${c.state === 'referred' ? ' (the bureau decides)' : ''}`,
        );
      }
      const side = actor.role === 'dept-admin' ? v.sides.find((s) => s.dept === actor.dept) : undefined;
      if (!side) {
        throw new CASE_FORBIDDEN(
          `only an administrator of department ${v.sides[0]!.dept} or ${v.sides[1]!.dept} answers ${id}`,
        );
      }
      if (side.answer) throw new CASE_JOINT_ANSWERED(`department ${side.dept} answered ${id} already`);
      side.answer = {
        position: request.position,
        evidence: request.evidence,
        by: actorRecord(actor),
        at: at.toISOString(),
        withinLimit: within(c, at),
      };
      record(c, `answer.${request.position}`, c.state, actor, at, request.evidence);
      const other = v.sides.find((s) => s !== side)!;
      if (!other.answer) {
        return {
          next: c,
          outbox: {
            events: [
              event('joint-verification.answered', at, [other.dept, BUREAU_RECIPIENT], c, {
                answeredBy: side.dept,
                position: request.position,
              }),
            ],
          },
        };
      }
      const cancel = caseTimers(c).map((t) => t.id);
      const confirmed = v.sides.filter((s) => s.answer?.position === 'confirm');
      if (confirmed.length === 1) {
        const correct = confirmed[0]!;
        settle(c, v, correct, 'agreement', PLATFORM, at, 'the departments agree on the correct value');
        return { next: c, outbox: { events: [decidedEvent(c, v, at)], cancel } };
      }
      const reason =
        confirmed.length === 2
          ? 'both departments confirm their value: referred to the bureau'
          : 'neither department confirms its value: referred to the bureau';
      refer(c, at, calendar, limits.decision, reason);
      return { next: c, outbox: { events: [referredEvent(c, at, reason)], cancel, timers: caseTimers(c) } };
    });
    await this.#deps.afterCommit();
    return this.ensureCorrection(changed, PLATFORM);
  }

  /** The bureau's decision of a referred case: the correct source; the other department must correct. */
  async decide(actor: ActorRef, id: string, request: JointDecisionRequest): Promise<Case> {
    if (actor.role !== 'bureau') throw new CASE_FORBIDDEN(`only the bureau decides joint verification ${id}`);
    if (request.text.trim() === '') throw new CASE_INVALID('text: must not be blank');
    const { store, now } = this.#deps;
    const changed = await store.update(id, now, (c, at): CasePlan => {
      const v = joint(actor, c, id);
      if (c.state !== 'referred') {
        throw new CASE_ILLEGAL_TRANSITION(
          `joint verification ${id} is ${c.state}: the bureau decides once the departments disagree or their clock ran out${c.state === 'open' ? ' (allowed now: the departments answer)' : ''}`,
        );
      }
      const correct = v.sides.find((s) => s.resourceCode === request.correctSource);
      if (!correct) {
        throw new CASE_JOINT_SOURCE_INVALID(
          `correctSource: choose ${v.sides[0]!.resourceCode} or ${v.sides[1]!.resourceCode}`,
        );
      }
      const cancel = caseTimers(c).map((t) => t.id);
      c.decision = {
        text: request.text,
        by: actorRecord(actor),
        at: at.toISOString(),
        withinLimit: within(c, at),
      };
      settle(c, v, correct, 'bureau', actor, at, request.text);
      return { next: c, outbox: { events: [decidedEvent(c, v, at)], cancel } };
    });
    await this.#deps.afterCommit();
    return this.ensureCorrection(changed, actor);
  }

  /**
   * The plan of the answer clock's overdue timer: the case is referred to the bureau, which decides on its
   * own clock. Undefined when the case is not waiting for answers.
   */
  referOnOverdue(c: Case, at: Date): CasePlan | undefined {
    if (c.kind !== 'joint-verification' || c.state !== 'open') return undefined;
    const missing = c.verification!.sides.filter((s) => !s.answer).map((s) => s.dept);
    const cancel = caseTimers(c).map((t) => t.id);
    c.deadline.overdueAt = at.toISOString();
    const reason = `not answered by ${missing.join(' and ')} by 24:00 CST of ${c.deadline.dueDate}: referred to the bureau`;
    refer(c, at, this.#deps.calendar, this.#deps.limits.decision, reason, PLATFORM);
    const audit = {
      action: 'case.refer',
      at: at.toISOString(),
      detail: { case: c.id, kind: c.kind, missing },
    };
    return {
      next: c,
      outbox: { events: [referredEvent(c, at, reason)], cancel, timers: caseTimers(c), audit: [audit] },
    };
  }

  async #items(resources: [string, string], semanticId: string): Promise<[JointItem, JointItem]> {
    const items = await Promise.all(resources.map((r) => this.#deps.itemOf(r, semanticId)));
    const missing = resources.filter((_, i) => items[i] === undefined);
    if (missing.length > 0) {
      throw new CASE_JOINT_ITEM_UNKNOWN(
        `${missing.join(' and ')} ${missing.length > 1 ? 'have' : 'has'} no published item "${semanticId}"`,
      );
    }
    const [a, b] = items as [JointItem, JointItem];
    if (a.dept === b.dept) {
      throw new CASE_JOINT_SAME_DEPARTMENT(
        `${resources[0]} and ${resources[1]} are both provided by ${a.dept}: the department corrects its own data`,
      );
    }
    return [a, b];
  }

  async #open(actor: ActorRef, items: [JointItem, JointItem], spec: OpenSpec): Promise<JointOpened> {
    const { store, calendar, now: clock, limits } = this.#deps;
    if (spec.fingerprints[0] === spec.fingerprints[1]) {
      throw new CASE_JOINT_VALUES_AGREE(
        `${spec.resources[0]} and ${spec.resources[1]} hold the same value: nothing to verify`,
      );
    }
    const finding = findingOf(spec.resources, spec.semanticId, spec.recordKeyHash);
    const latest = await store.latestOfFinding(finding);
    if (latest && (await this.#covers(latest, spec))) return { case: latest, deduplicated: true };

    const source = await this.#deps.sourceOf(spec.semanticId);
    const sides: JointSide[] = spec.resources.map((resourceCode, i) => ({
      dept: items[i]!.dept,
      resourceCode,
      item: items[i]!.item,
      valueFingerprint: spec.fingerprints[i]!,
      authoritative: resourceCode === source,
    }));
    // The catalog's source first; otherwise in code order, so that either run of a pair agrees.
    sides.sort((x, y) =>
      x.authoritative !== y.authoritative
        ? Number(y.authoritative) - Number(x.authoritative)
        : x.resourceCode.localeCompare(y.resourceCode),
    );
    const now = clock();
    const c: Case = {
      id: caseId('joint-verification', now, await store.nextSequence()),
      kind: 'joint-verification',
      state: 'open',
      subject: `${spec.semanticId}: ${sides[0]!.resourceCode} ≠ ${sides[1]!.resourceCode}`,
      description: spec.description,
      openedBy: actorRecord(actor),
      fromDept: sides[0]!.dept,
      dept: sides[1]!.dept,
      responsible: BOTH_DEPARTMENTS,
      submittedAt: now.toISOString(),
      deadline: answerDeadline(calendar, now, limits.answer),
      verification: {
        semanticId: spec.semanticId,
        recordKeyHash: spec.recordKeyHash,
        ...(spec.maskedKey ? { maskedKey: spec.maskedKey } : {}),
        finding,
        origin: spec.origin,
        ...(spec.runId ? { runId: spec.runId } : {}),
        ...(source && sides.some((s) => s.authoritative) ? { authoritativeSource: source } : {}),
        sides,
      },
      history: [],
    };
    c.history.push({
      action: 'open',
      from: null,
      to: 'open',
      at: now.toISOString(),
      by: actorRecord(actor),
    } as Case['history'][number]);
    const outbox: OutboxEntry = {
      events: [event('joint-verification.opened', now, [...sides.map((s) => s.dept), BUREAU_RECIPIENT], c)],
      timers: caseTimers(c),
    };
    // A person's opening is audited by the route; the platform's is committed with the case.
    if (actor.role === 'system') {
      outbox.audit = [
        {
          action: 'case.open',
          at: now.toISOString(),
          detail: { case: c.id, kind: c.kind, finding, ...(spec.runId ? { run: spec.runId } : {}) },
        },
      ];
    }
    const holder = await store.create(c, outbox);
    if (holder !== undefined) {
      // Another run or person opened the finding's case at the same moment.
      const read = await store.read(holder);
      if (read) return { case: read.record, deduplicated: true };
    }
    await this.#deps.afterCommit();
    return { case: c, deduplicated: false };
  }

  /**
   * Whether the finding's latest case covers what was found: it is still on its clock, or it was decided
   * on these very values and its correction order is not closed yet (the correction is under way).
   */
  async #covers(latest: Case, spec: OpenSpec): Promise<boolean> {
    if (isOpenCase(latest)) return true;
    const v = latest.verification;
    if (latest.state !== 'decided' || !v?.outcome) return false;
    const same = spec.resources.every((r, i) => {
      const side = v.sides.find((s) => s.resourceCode === r);
      return side?.valueFingerprint === spec.fingerprints[i];
    });
    if (!same) return false;
    if (!v.outcome.correctionCaseId) return true;
    const order = await this.#deps.store.read(v.outcome.correctionCaseId);
    return order !== undefined && order.record.state !== 'closed';
  }

  /**
   * Files the correction order of a decided case that has none yet, and records it on the case. An order
   * already open for the case is reused (its claim), so a recovery racing an answer files one order.
   */
  async ensureCorrection(c: Case, actor: ActorRef): Promise<Case> {
    const outcome = c.verification?.outcome;
    if (c.state !== 'decided' || !outcome || outcome.correctionCaseId) return c;
    const v = c.verification!;
    const wrong = v.sides.find((s) => s.resourceCode !== outcome.correctSource)!;
    const order = await this.#deps.orderCorrection(actor, {
      dept: wrong.dept,
      subject: `更正 ${v.semanticId}（${wrong.resourceCode}），以 ${outcome.correctSource} 为准`,
      description: `联合核实 ${c.id}（[HB-S] 17）认定 ${outcome.correctSource} 的值正确：请更正 ${wrong.resourceCode} 中信息项 ${wrong.item} 的该条记录（记录键哈希 ${v.recordKeyHash}${v.maskedKey ? `，${v.maskedKey}` : ''}）并报告整改情况。`,
      resourceCode: wrong.resourceCode,
      relatedCase: c.id,
    });
    return this.#deps.store.update(c.id, this.#deps.now, (fresh) => {
      const o = fresh.verification?.outcome;
      if (!o || o.correctionCaseId) return undefined;
      o.correctionCaseId = order.id;
      return { next: fresh };
    });
  }
}

/** The case as a joint verification the actor may see, or not found. */
function joint(actor: ActorRef, c: Case, id: string): JointVerification {
  if (!canView(actor, c)) throw notFound(id);
  if (c.kind !== 'joint-verification' || !c.verification) {
    throw new CASE_ILLEGAL_TRANSITION(`${c.kind} ${id} is not a joint verification`);
  }
  return c.verification;
}

function refer(c: Case, at: Date, calendar: WorkdayCalendar, limit: number, reason: string, by = PLATFORM) {
  record(c, 'refer', 'referred', by, at, reason);
  c.responsible = BUREAU_RECIPIENT;
  c.deadline = answerDeadline(calendar, at, limit);
}

function settle(
  c: Case,
  v: JointVerification,
  correct: JointSide,
  by: 'agreement' | 'bureau',
  actor: ActorRef,
  at: Date,
  reason: string,
) {
  const wrong = v.sides.find((s) => s !== correct)!;
  v.outcome = { correctSource: correct.resourceCode, by, correctionDept: wrong.dept };
  record(c, 'decide', 'decided', actor, at, reason);
  c.closedAt = at.toISOString();
}
