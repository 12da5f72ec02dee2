/**
 * Exchange jobs in Redis. A job is one JSON string; its data key is sealed in a key of its own so that
 * the job record (shown to the consumer) never carries it.
 *
 * Runs are fenced: a run claims the job with a fresh token (stored in the owner key) and every later
 * write of that run checks the token, so a worker that was presumed dead and replaced cannot overwrite
 * the checkpoints of the run that took over. Claims and other read-decide-write changes are optimistic:
 * the write happens only if the stored JSON is still what was read.
 */
import type { RedisClient } from '../platform/redis.js';
import { exchangeErrors } from './errors.js';
import { type ExchangeKeys, exchangeKeys } from './keys.js';
import type { Checkpoint, ExchangeJob } from './schema.js';

/** One part of a job cut into parts (parts.ts): its range, checkpoint and, once written, its digests. */
export interface ExportPart {
  index: number;
  /** Cursor of the row before the part (absent: the first part). */
  after?: string;
  /** Cursor of the part's last row (absent: the last part). */
  until?: string;
  /** Runs of this part started. */
  attempts: number;
  checkpoint?: Checkpoint;
  /** The part file is whole and verified. */
  done?: { bytes: number; sha256: string; plaintextSha256: string; rows: number; watermarkTo?: string };
}

/*
 * KEYS[1] job, KEYS[2] sealed key, KEYS[3] consumer index
 * ARGV[1] job JSON, ARGV[2] sealed key, ARGV[3] score (created ms), ARGV[4] job id
 * Returns 1, or 0 when the id is taken.
 */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1`;

/*
 * KEYS[1] job, KEYS[2] owner
 * ARGV[1] job JSON as read, ARGV[2] new JSON, ARGV[3] new owner token ('' = leave the owner)
 * Returns 1, or 0 when the job changed since it was read.
 */
const SWAP = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3]) end
return 1`;

/*
 * KEYS[1] job, KEYS[2] owner
 * ARGV[1] owner token, ARGV[2] new JSON
 * Returns 1, or 0 when another run owns the job now.
 */
const SAVE_OWNED = `
if redis.call('GET', KEYS[1]) == false or redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1`;

/*
 * The end of a run (completed or failed), in one step.
 * KEYS[1] job, KEYS[2] sealed key, KEYS[3] owner, KEYS[4] expiry index, KEYS[5] subscription watermark,
 * KEYS[6] subscription active job
 * ARGV[1] owner token, ARGV[2] job JSON, ARGV[3] job id, ARGV[4] expiry score ('' = not indexed),
 * ARGV[5] watermark as the run read it ('' = none), ARGV[6] new watermark ('' = leave it)
 * The watermark advances only if it is still what the run started from. Returns 1, or 0 when another
 * run owns the job (token '' finishes a job no run owns).
 */
const FINISH = `
if (redis.call('GET', KEYS[3]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2], KEYS[3])
if ARGV[4] ~= '' then redis.call('ZADD', KEYS[4], ARGV[4], ARGV[3]) end
if ARGV[6] ~= '' and (redis.call('GET', KEYS[5]) or '') == ARGV[5] then
  redis.call('SET', KEYS[5], ARGV[6])
end
if redis.call('GET', KEYS[6]) == ARGV[3] then redis.call('DEL', KEYS[6]) end
return 1`;

const MAX_ATTEMPTS = 8;

export interface FinishOptions {
  /** Index the file for deletion at this time (completed jobs). */
  expiresAtMs?: number;
  /** Advance the job's subscription watermark from `from` to `to` (completed incremental runs). */
  watermark?: { from?: string; to: string };
}

export class ExchangeStore {
  readonly keys: ExchangeKeys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = exchangeKeys(prefix);
  }

  async create(job: ExchangeJob, sealedKey: string): Promise<void> {
    const k = this.keys;
    const stored = await this.#eval(
      CREATE,
      [k.job(job.id), k.sealedKey(job.id), k.consumerJobs(job.consumer.deptCode, job.consumer.systemId)],
      [JSON.stringify(job), sealedKey, Date.parse(job.createdAt), job.id],
    );
    if (stored !== 1) throw new Error(`exchange job id ${job.id} is already taken`);
  }

  async get(id: string): Promise<ExchangeJob | undefined> {
    const json = await this.redis.get(this.keys.job(id));
    return json === null ? undefined : (JSON.parse(json) as ExchangeJob);
  }

  /** The token of the run that owns the job ('' when none). */
  async ownerToken(id: string): Promise<string> {
    return (await this.redis.get(this.keys.owner(id))) ?? '';
  }

  async sealedKey(id: string): Promise<string | null> {
    return this.redis.get(this.keys.sealedKey(id));
  }

  /**
   * Read, decide, write if unchanged. `decide` returns the new job, or undefined to leave it as it is.
   * With `ownerToken`, the write also makes that token the job's owner (a run taking the job over).
   */
  async change(
    id: string,
    decide: (job: ExchangeJob) => ExchangeJob | undefined,
    ownerToken = '',
  ): Promise<ExchangeJob | undefined> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const raw = await this.redis.get(this.keys.job(id));
      if (raw === null) return undefined;
      const next = decide(JSON.parse(raw) as ExchangeJob);
      if (next === undefined) return JSON.parse(raw) as ExchangeJob;
      const swapped = await this.#eval(
        SWAP,
        [this.keys.job(id), this.keys.owner(id)],
        [raw, JSON.stringify(next), ownerToken],
      );
      if (swapped === 1) return next;
    }
    throw new Error(`exchange job ${id} changed concurrently too often`);
  }

  /** A write of the run holding `token`; throws EXCHANGE_RUN_SUPERSEDED when another run took over. */
  async saveOwned(job: ExchangeJob, token: string): Promise<void> {
    const saved = await this.#eval(
      SAVE_OWNED,
      [this.keys.job(job.id), this.keys.owner(job.id)],
      [token, JSON.stringify(job)],
    );
    if (saved !== 1) throw superseded(job.id);
  }

  /** Writes the final state of a run, drops the sealed key and the owner, indexes expiry, moves the watermark. */
  async finish(job: ExchangeJob, token: string, options: FinishOptions = {}): Promise<void> {
    const k = this.keys;
    const sub = job.subscriptionId ?? '-';
    const done = await this.#eval(
      FINISH,
      [
        k.job(job.id),
        k.sealedKey(job.id),
        k.owner(job.id),
        k.expiry,
        k.subscriptionWatermark(sub),
        k.subscriptionActive(sub),
      ],
      [
        token,
        JSON.stringify(job),
        job.id,
        options.expiresAtMs === undefined ? '' : options.expiresAtMs,
        options.watermark?.from ?? '',
        job.subscriptionId === undefined ? '' : (options.watermark?.to ?? ''),
      ],
    );
    if (done !== 1) throw superseded(job.id);
  }

  /**
   * The cursors cutting a job into parts: the ones stored first when several runs plan at once, so every
   * run works on one plan. Creates the part records of a new plan.
   */
  async planParts(id: string, cursors: readonly string[]): Promise<string[]> {
    const k = this.keys;
    const stored = await this.redis.set(k.partPlan(id), JSON.stringify(cursors), 'NX');
    const plan =
      stored === null
        ? (JSON.parse((await this.redis.get(k.partPlan(id))) ?? '[]') as string[])
        : [...cursors];
    // Also after a run that stopped between the plan and its parts: a part already there stays.
    const batch = this.redis.pipeline();
    for (let index = 0; index <= plan.length; index++) {
      const part: ExportPart = {
        index,
        attempts: 0,
        ...(index > 0 ? { after: plan[index - 1]! } : {}),
        ...(index < plan.length ? { until: plan[index]! } : {}),
      };
      batch.set(k.part(id, index), JSON.stringify(part), 'NX');
    }
    await batch.exec();
    return plan;
  }

  async getPart(id: string, index: number): Promise<ExportPart | undefined> {
    const json = await this.redis.get(this.keys.part(id, index));
    return json === null ? undefined : (JSON.parse(json) as ExportPart);
  }

  async getParts(id: string, count: number): Promise<(ExportPart | undefined)[]> {
    if (count === 0) return [];
    const values = await this.redis.mget(Array.from({ length: count }, (_, i) => this.keys.part(id, i)));
    return values.map((v) => (v === null ? undefined : (JSON.parse(v) as ExportPart)));
  }

  /** A run takes a part over: its token owns the part from now on (the attempt is counted). */
  async claimPart(id: string, index: number, token: string): Promise<ExportPart | undefined> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const raw = await this.redis.get(this.keys.part(id, index));
      if (raw === null) return undefined;
      const read = JSON.parse(raw) as ExportPart;
      const next: ExportPart = read.done ? read : { ...read, attempts: read.attempts + 1 };
      const swapped = await this.#eval(
        SWAP,
        [this.keys.part(id, index), this.keys.partOwner(id, index)],
        [raw, JSON.stringify(next), token],
      );
      if (swapped === 1) return next;
    }
    throw new Error(`part ${index} of exchange job ${id} changed concurrently too often`);
  }

  /** A write of the run holding `token` on the part; throws EXCHANGE_RUN_SUPERSEDED when another took over. */
  async savePart(id: string, part: ExportPart, token: string): Promise<void> {
    const saved = await this.#eval(
      SAVE_OWNED,
      [this.keys.part(id, part.index), this.keys.partOwner(id, part.index)],
      [token, JSON.stringify(part)],
    );
    if (saved !== 1) throw superseded(id);
  }

  /** Drops the plan and part records of a job that ended (completed or failed). */
  async dropParts(id: string, count: number): Promise<void> {
    const keys = [this.keys.partPlan(id)];
    for (let i = 0; i < count; i++) keys.push(this.keys.part(id, i), this.keys.partOwner(id, i));
    await this.redis.del(...keys);
  }

  /** Newest first. */
  async listForConsumer(deptCode: string, systemId: string, limit: number): Promise<ExchangeJob[]> {
    const ids = await this.redis.zrevrange(this.keys.consumerJobs(deptCode, systemId), 0, limit - 1);
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => this.keys.job(id)));
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as ExchangeJob);
  }

  /** Ids of completed jobs whose files expire at or before `nowMs`, oldest first. */
  dueForExpiry(nowMs: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.expiry, '-inf', nowMs, 'LIMIT', 0, limit);
  }

  async dropSealedKey(id: string): Promise<void> {
    await this.redis.del(this.keys.sealedKey(id));
  }

  async dropExpiry(id: string): Promise<void> {
    await this.redis.zrem(this.keys.expiry, id);
  }

  async #eval(script: string, keys: string[], args: (string | number)[]): Promise<number> {
    return Number(await this.redis.eval(script, keys.length, ...keys, ...args));
  }
}

function superseded(id: string) {
  return new exchangeErrors.EXCHANGE_RUN_SUPERSEDED(
    `another worker took exchange job ${id} over; this run stops`,
  );
}
