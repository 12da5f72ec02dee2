/** Cases in Redis on the shared workflow-record layer (policies/record-store.ts), under `{cases}`. */
import type { RedisClient } from '../../platform/redis.js';
import type { OutboxEntry } from '../applications/schema.js';
import { type IndexMembership, JsonRecordStore, workflowRecordKeys } from '../record-store.js';
import { CASE_CONFLICT, CASE_NOT_FOUND } from './errors.js';
import type { Case } from './schema.js';

export const caseKeys = (prefix: string) => {
  const keys = workflowRecordKeys(prefix, 'cases');
  return {
    ...keys,
    /** Sorted set: the joint verifications of one finding (resource pair + item + record key), by submission. */
    byFinding: (finding: string) => `${keys.base}idx:finding:${finding}`,
    /** Sorted set: decided joint verifications whose correction order is not filed yet. */
    correctionDue: `${keys.base}idx:correction-due`,
  };
};
export type CaseKeys = ReturnType<typeof caseKeys>;

/** On a clock: open, or (a joint verification) referred to the bureau. */
export const isOpenCase = (c: Pick<Case, 'state'>) => c.state === 'open' || c.state === 'referred';

export interface CasePlan {
  next: Case;
  outbox?: OutboxEntry;
}

const MAX_ATTEMPTS = 10;

function memberships(keys: CaseKeys, c: Case): IndexMembership[] {
  const score = Date.parse(c.submittedAt);
  const depts = [...new Set([c.dept, ...(c.fromDept ? [c.fromDept] : [])])];
  const list = [keys.all, ...depts.map((d) => keys.byConsumer(d))].map((key) => ({
    key,
    score,
    member: c.id,
  }));
  if (c.verification) list.push({ key: keys.byFinding(c.verification.finding), score, member: c.id });
  if (c.verification?.outcome && !c.verification.outcome.correctionCaseId) {
    list.push({ key: keys.correctionDue, score, member: c.id });
  }
  if (isOpenCase(c)) {
    // A pending clock (no deadline yet) sorts after every dated one.
    const due = c.deadline.dueAt ? Date.parse(c.deadline.dueAt) : Number.MAX_SAFE_INTEGER;
    list.push({ key: keys.open, score: due, member: c.id });
  }
  return list;
}

export class CaseStore extends JsonRecordStore<Case> {
  readonly keys: CaseKeys;

  constructor(redis: RedisClient, prefix: string) {
    const keys = caseKeys(prefix);
    super(redis, keys, {
      writeCommand: 'govshareCaseWrite',
      isOpen: isOpenCase,
      // Cases claim nothing (any number may be open between the same parties), except that one finding
      // has one joint verification open at a time, and a joint verification one open correction order.
      claimField: (c) =>
        c.verification
          ? `finding:${c.verification.finding}`
          : c.relatedCase
            ? `correction:${c.relatedCase}`
            : c.id,
      memberships: (c) => memberships(keys, c),
    });
    this.keys = keys;
  }

  async read(id: string): Promise<{ record: Case; json: string } | undefined> {
    return this.readRecord(id);
  }

  /** Stores a new case; the id of the open case already holding its claim, if another does. */
  async create(record: Case, outbox: OutboxEntry): Promise<string | undefined> {
    const [code, other] = await this.writeRecord({
      previous: undefined,
      readJson: undefined,
      next: record,
      outbox,
    });
    if (code === -2) return other;
    if (code !== 1) throw new CASE_CONFLICT(`case id ${record.id} is taken; retry`);
    return undefined;
  }

  /** The newest joint verification of a finding. */
  async latestOfFinding(finding: string): Promise<Case | undefined> {
    const [id] = await this.redis.zrevrange(this.keys.byFinding(finding), 0, 0);
    return id === undefined ? undefined : (await this.read(id))?.record;
  }

  /** Applies `planner` to the stored case, again on fresh state when another writer came first. */
  async update(
    id: string,
    now: () => Date,
    planner: (c: Case, at: Date) => CasePlan | undefined,
  ): Promise<Case> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const read = await this.read(id);
      if (!read) throw new CASE_NOT_FOUND(`no case has id "${id}"`);
      const plan = planner(structuredClone(read.record), now());
      if (!plan) return read.record;
      const [code] = await this.writeRecord({
        previous: read.record,
        readJson: read.json,
        next: plan.next,
        outbox: plan.outbox,
      });
      if (code === 1) return plan.next;
    }
    throw new CASE_CONFLICT(`case ${id} kept changing; retry`);
  }
}
