/**
 * Usage feedback (使用反馈): the consumer department reports, per grant, how the data served the purpose it
 * was granted for — the national 《政务数据共享条例》 and [HB-S] 26 ask the platform to track use, and a
 * provider learns where its data falls short. Visible to the consumer, the provider and the bureau, and
 * counted in the statistics (policies/stats).
 */
import { type Static, Type } from '@sinclair/typebox';
import { ActorRef } from '../catalog/records.js';
import { USCC_PATTERN } from '../catalog/schema.js';
import type { RedisClient } from '../platform/redis.js';
import { FEEDBACK_FORBIDDEN } from './errors.js';
import type { Grant } from './grant.js';

export const FEEDBACK_OUTCOMES = ['served', 'partly-served', 'not-served'] as const;

export const FeedbackRequest = Type.Object(
  {
    outcome: Type.Union(
      FEEDBACK_OUTCOMES.map((o) => Type.Literal(o)),
      { description: 'Whether the data served the granted purpose: fully, partly, or not' },
    ),
    comment: Type.String({ minLength: 1, maxLength: 2000, description: 'What worked, what was missing' }),
    period: Type.Optional(
      Type.String({ pattern: '^[0-9]{4}-[0-9]{2}$', description: 'Month the feedback covers (YYYY-MM)' }),
    ),
  },
  { additionalProperties: false },
);
export type FeedbackRequest = Static<typeof FeedbackRequest>;

export const UsageFeedback = Type.Object(
  {
    id: Type.String({ pattern: '^FB-[0-9]{1,12}$' }),
    grantId: Type.String(),
    resourceCode: Type.String(),
    consumerDept: Type.String({ pattern: USCC_PATTERN }),
    systemId: Type.String(),
    providerDept: Type.String({ pattern: USCC_PATTERN }),
    outcome: FeedbackRequest.properties.outcome,
    comment: Type.String(),
    period: Type.Optional(Type.String()),
    by: ActorRef,
    at: Type.String({ format: 'date-time', description: 'Platform record time' }),
  },
  { additionalProperties: false, description: 'A consumer’s report of how granted data served its purpose' },
);
export type UsageFeedback = Static<typeof UsageFeedback>;

export interface FeedbackQuery {
  consumerDept?: string;
  providerDept?: string;
  grantId?: string;
}

function feedbackKeys(prefix: string) {
  const base = `${prefix}{feedback}:`;
  return {
    /** Hash: id → JSON UsageFeedback. */
    data: `${base}data`,
    /** Sorted set of ids by record time (ms). */
    all: `${base}idx:all`,
    seq: `${base}seq`,
  };
}

export class FeedbackStore {
  readonly #redis: RedisClient;
  readonly #keys: ReturnType<typeof feedbackKeys>;
  readonly #now: () => Date;

  constructor(redis: RedisClient, prefix: string, options: { now?: () => Date } = {}) {
    this.#redis = redis;
    this.#keys = feedbackKeys(prefix);
    this.#now = options.now ?? (() => new Date());
  }

  /** Records feedback of the grant's consumer department (its dept-admin). */
  async submit(actor: ActorRef, grant: Grant, request: FeedbackRequest): Promise<UsageFeedback> {
    if (actor.role !== 'dept-admin' || actor.dept !== grant.deptCode) {
      throw new FEEDBACK_FORBIDDEN(
        `only an administrator of the consumer department ${grant.deptCode} reports on the use of grant ${grant.id}`,
      );
    }
    const at = this.#now();
    const feedback: UsageFeedback = {
      id: `FB-${await this.#redis.incr(this.#keys.seq)}`,
      grantId: grant.id,
      resourceCode: grant.resourceCode,
      consumerDept: grant.deptCode,
      systemId: grant.systemId,
      providerDept: grant.providerCode,
      outcome: request.outcome,
      comment: request.comment.trim(),
      ...(request.period ? { period: request.period } : {}),
      by: { role: actor.role, name: actor.name, dept: actor.dept },
      at: at.toISOString(),
    };
    await this.#redis
      .multi()
      .hset(this.#keys.data, feedback.id, JSON.stringify(feedback))
      .zadd(this.#keys.all, at.getTime(), feedback.id)
      .exec();
    return feedback;
  }

  /** Feedback recorded in [start, end) (epoch ms), oldest first. */
  async between(start: number, end: number): Promise<UsageFeedback[]> {
    const ids = await this.#redis.zrangebyscore(this.#keys.all, start, `(${end}`);
    if (ids.length === 0) return [];
    const raws = await this.#redis.hmget(this.#keys.data, ...ids);
    return raws.flatMap((raw) => (raw === null ? [] : [JSON.parse(raw) as UsageFeedback]));
  }

  /** Feedback matching the query, newest first (at most `limit`). */
  async list(query: FeedbackQuery, limit = 500): Promise<UsageFeedback[]> {
    const all = await this.between(0, Number.MAX_SAFE_INTEGER);
    return all
      .filter(
        (f) =>
          (query.consumerDept === undefined || f.consumerDept === query.consumerDept) &&
          (query.providerDept === undefined || f.providerDept === query.providerDept) &&
          (query.grantId === undefined || f.grantId === query.grantId),
      )
      .reverse()
      .slice(0, limit);
  }
}

/** Feedback counts for the statistics. */
export function feedbackFigures(feedback: UsageFeedback[]) {
  const count = (outcome: UsageFeedback['outcome']) => feedback.filter((f) => f.outcome === outcome).length;
  return {
    reports: feedback.length,
    served: count('served'),
    partlyServed: count('partly-served'),
    notServed: count('not-served'),
  };
}
