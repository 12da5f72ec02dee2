/**
 * The audit writer: one hash-chained Redis Stream per gateway instance, written before the response
 * leaves and failing closed (a rejected `append` means: answer 503, release nothing).
 *
 * Group commit ("flush when idle"): while one batch is on its way to Redis, new records wait; when it is
 * acknowledged, everything waiting goes in ONE round trip: the append script (records + head, atomic,
 * refused unless the stored head is the one this writer expects, and refused past the high-water mark of
 * unshipped records when the trail is shipped to PostgreSQL). Nothing else is written on the hot path:
 * search indexes live in the PostgreSQL store (see shipper.ts), not in Redis.
 * At low load a record is sent at once; under load batches grow by themselves. No timer is involved.
 *
 * Stream ids are chosen here, `<ms>-<n>` from the record's time (kept increasing), so that a record's
 * id says when it was written and the store can partition and order by it.
 *
 * Durability: `append` resolves once Redis has acknowledged the script. With AOF `appendfsync everysec`
 * (the default) an acknowledged record can still be lost if the machine loses power within about one
 * second; `appendfsync always` closes that gap at some throughput cost (see bench/audit-append.ts).
 * A lost tail shows up in the verifier as `head-mismatch` or a checkpoint beyond the last record, and the
 * script's head check makes the writer resynchronize rather than fork the chain. A caller whose append
 * timed out after its record was sent may see 503 while the record is stored after all: the trail can
 * over-record a refused request, never under-record a served one.
 */

import { BoundedSet } from '../platform/bounded-set.js';
import type { RedisClient } from '../platform/redis.js';
import { type ChainHashAlg, canonicalJson, chainHash, GENESIS_HASH } from './canonical.js';
import { readChainRange } from './chain-range.js';
import {
  type CheckpointPayload,
  type CheckpointSigner,
  checkSigner,
  lastCheckpoint,
  recordLeaf,
  recordsRoot,
  signCheckpoint,
  signerHashAlg,
  type Timestamper,
  writeCheckpoint,
} from './checkpoint.js';
import { lastEntry, parseStreamId, readChainEntry } from './entries.js';
import {
  AuditBacklog,
  AuditChainBroken,
  AuditChainConflict,
  AuditRecordInvalid,
  AuditSetupInvalid,
  AuditWriteFailed,
  AuditWriterClosed,
} from './errors.js';
import { type AuditKeys, auditKeys } from './keys.js';
import { CompactRange } from './merkle.js';
import { type AuditRecord, auditRecordChecker, INSTANCE_ID_PATTERN } from './record.js';
import { APPEND_COMMAND, type Command, defineAuditScripts, sendEach } from './scripts.js';

const RECENT_REQUESTS = 20_000;

export interface AuditWriterOptions {
  /** The platform signing key and certificate for checkpoints. */
  signer: CheckpointSigner;
  /**
   * The chain and Merkle tree hash: `sm3` on a `gm` platform, where each record then carries
   * `"hashAlg":"sm3"` and each checkpoint `hashAlg` (verifiers read it from there, see canonical.ts).
   * @defaultValue `sm3` when the checkpoint key is SM2, else `sha256`
   */
  hashAlg?: ChainHashAlg;
  /** Sign a checkpoint after this many records. @defaultValue 1000 */
  checkpointEvery?: number;
  /** Also sign one this often when records were added since the last. @defaultValue 10_000 */
  checkpointIntervalMs?: number;
  /**
   * Most records allowed in the stream beyond the last one shipped to the PostgreSQL store; past it
   * appends are refused with AUDIT_BACKLOG (fail closed). 0: the trail is not shipped, no limit.
   * @defaultValue 0
   */
  backlogMax?: number;
  /** An append not acknowledged within this many ms is rejected. @defaultValue 2000 */
  timeoutMs?: number;
  /** Most records per round trip (at most 1000). @defaultValue 500 */
  maxBatch?: number;
  /** Appends waiting beyond this many are refused at once. @defaultValue 20_000 */
  maxPending?: number;
  /** Largest canonical record accepted, in bytes. @defaultValue 131_072 */
  maxRecordBytes?: number;
  /** @defaultValue Date.now */
  now?: () => number;
  /**
   * An RFC 3161 time-stamping authority: each checkpoint is sent to it after signing and stored with the
   * token; when it fails the checkpoint is stored signed only (and the failure reported as 'timestamp').
   * The last checkpoint at close is not sent, so a slow TSA cannot hold a shutdown back.
   */
  timestamper?: Timestamper;
  /**
   * Failures off the request path (checkpoint signing, timestamps, tally writes).
   * @defaultValue process.emitWarning
   */
  onBackgroundError?: (err: Error, during: 'checkpoint' | 'timestamp' | 'tally') => void;
}

/** Checkpoints sent to the TSA since the writer started: with a token, and left signed only. */
export interface TimestampCounts {
  stamped: number;
  failed: number;
}

/**
 * A counter to increment (HINCRBY) once the record it comes with is stored, e.g. the call statistics.
 * Tallies of stored records are summed per key and field and ride along with the next batch's round trip
 * (or are sent on their own when no batch follows), so they count exactly what the trail holds and cost
 * no round trip of their own under load.
 */
export interface Tally {
  key: string;
  field: string;
  by: number;
}

export interface AppendResult {
  /** Stream id of the record. */
  id: string;
  seq: number;
  hash: string;
}

export interface ChainHead {
  seq: number;
  hash: string;
  /** Stream id of the last record, `0-0` for an empty chain. */
  id: string;
}

interface Pending {
  record: AuditRecord;
  rec: string;
  tallies: readonly Tally[] | undefined;
  state: 'waiting' | 'sent' | 'done';
  timer: NodeJS.Timeout;
  resolve: (result: AppendResult) => void;
  reject: (err: Error) => void;
}

export class AuditWriter {
  readonly instance: string;
  private readonly keys: AuditKeys;
  private readonly options: Required<Omit<AuditWriterOptions, 'signer' | 'timestamper' | 'hashAlg'>> & {
    signer: CheckpointSigner;
    timestamper: Timestamper | undefined;
  };
  private readonly hashAlg: ChainHashAlg;
  private head: ChainHead | undefined;
  private queue: Pending[] = [];
  private waiting = 0;
  private flushing: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private closed = false;
  private lastCheckpoint = 0;
  /** Chain hash at lastCheckpoint (undefined before the first): the next checkpoint's records link to it. */
  private lastCheckpointHash: string | undefined;
  private readonly timestamps: TimestampCounts = { stamped: 0, failed: 0 };
  private lastCheckpointTime: number | undefined;
  /**
   * Request ids of appends not yet claimed by `takeRecordFor` (bounded, oldest dropped first), so that a
   * request's catch-all record is not a duplicate. Claimed when the request is answered, so an id lives
   * about as long as its request.
   */
  private readonly recentRequests = new BoundedSet<string>(RECENT_REQUESTS);
  /** Tallies of stored records not yet sent: key → field → increment. */
  private readonly unsentTallies = new Map<string, Map<string, number>>();
  private checkpointing: Promise<void> | undefined;
  /**
   * The tree over the records after seq `from` that this writer appended, kept as they are appended, so a
   * checkpoint over exactly them needs no read-back. Undefined while the writer does not know them all
   * (after a restart or a failed write), until the next checkpoint starts a new one.
   */
  private sinceCheckpoint: { from: number; tree: CompactRange } | undefined;
  /** The last shipped record as the append script last reported it. */
  private shipped: { seq: number; ms: number } = { seq: 0, ms: 0 };
  private firstAppendAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    instanceId: string,
    options: AuditWriterOptions,
  ) {
    if (!new RegExp(INSTANCE_ID_PATTERN).test(instanceId)) {
      throw new AuditSetupInvalid(`the instance id "${instanceId}" must match ${INSTANCE_ID_PATTERN}`);
    }
    checkSigner(options.signer);
    this.hashAlg = options.hashAlg ?? signerHashAlg(options.signer);
    this.instance = instanceId;
    this.keys = auditKeys(prefix);
    this.options = {
      checkpointEvery: 1000,
      checkpointIntervalMs: 10_000,
      backlogMax: 0,
      timeoutMs: 2000,
      maxPending: 20_000,
      // The largest record the schema allows (1000 subjects, 500 items) is ~101 KB.
      maxRecordBytes: 131_072,
      now: Date.now,
      onBackgroundError: (err, during) =>
        process.emitWarning(err, { code: `GOVSHARE_AUDIT_${during.toUpperCase()}` }),
      timestamper: undefined,
      ...definedOnly(withoutHashAlg(options)),
      maxBatch: Math.min(Math.max(1, options.maxBatch ?? 500), 1000),
    };
    defineAuditScripts(redis);
  }

  /** Registers the instance, loads the chain head and the last checkpoint. `append` calls it when needed. */
  start(): Promise<void> {
    this.starting ??= this.load().catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  /**
   * Whether a record naming this request id was handed to `append` since the last call for that id (of
   * the latest 20,000 unclaimed ids); claims it. The gateway asks once per answered request and writes a
   * catch-all record only for requests whose route wrote none.
   */
  takeRecordFor(requestId: string): boolean {
    return this.recentRequests.delete(requestId);
  }

  /** Whether a record naming this request id was appended and not yet claimed (see takeRecordFor). */
  holdsRecordFor(requestId: string): boolean {
    return this.recentRequests.has(requestId);
  }

  private noteRequest(requestId: string): void {
    this.recentRequests.add(requestId);
  }

  /** Checkpoints this writer had timestamped, and those left signed only because the TSA failed. */
  timestamping(): TimestampCounts {
    return { ...this.timestamps };
  }

  /** Epoch ms of the last checkpoint this writer signed (undefined before the first). */
  lastCheckpointAt(): number | undefined {
    return this.lastCheckpointTime;
  }

  /**
   * Records of this instance not yet in the PostgreSQL store, and seconds since the last shipped record
   * was written (0 when nothing waits), as of the last append; zeros when the trail is not shipped.
   */
  shipping(): { unshipped: number; lagSeconds: number } {
    if (this.options.backlogMax === 0) return { unshipped: 0, lagSeconds: 0 }; // not shipped at all
    const unshipped = Math.max(0, (this.head?.seq ?? 0) - this.shipped.seq);
    const since = this.shipped.ms || this.firstAppendAt;
    return {
      unshipped,
      lagSeconds: unshipped > 0 && since ? Math.max(0, (this.options.now() - since) / 1000) : 0,
    };
  }

  /** The chain head as this writer knows it (undefined before start or after a failed write). */
  chainHead(): ChainHead | undefined {
    return this.head && { ...this.head };
  }

  /** Resolves once Redis has stored the record; rejects (AUDIT_*) when it cannot be stored. */
  append(record: AuditRecord, tallies?: readonly Tally[]): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new AuditWriterClosed('the audit writer is closed'));
    let rec: string;
    try {
      rec = this.serialize(record);
    } catch (err) {
      return Promise.reject(err);
    }
    this.noteRequest(record.requestId);
    if (this.waiting >= this.options.maxPending) {
      return Promise.reject(
        new AuditWriteFailed(`${this.waiting} audit records are already waiting for Redis`),
      );
    }
    return new Promise<AppendResult>((resolve, reject) => {
      const pending: Pending = { record, rec, tallies, state: 'waiting', resolve, reject, timer: undefined! };
      pending.timer = setTimeout(() => this.expire(pending), this.options.timeoutMs);
      this.queue.push(pending);
      this.waiting++;
      this.flushing ??= this.flushWhenIdle();
    });
  }

  /** Signs a checkpoint of the current head now if records were added since the last one. */
  async checkpoint(): Promise<void> {
    await this.checkpointing;
    this.maybeCheckpoint(true);
    await this.checkpointing;
  }

  /** Refuses new appends, waits (at most 2 × timeoutMs) for those in flight and a last checkpoint. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    // Bounded: a Redis that hangs must not hang the shutdown (the callers were already rejected).
    const work = (async () => {
      await this.flushing;
      await this.checkpoint();
    })();
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 2 * this.options.timeoutMs);
    });
    await Promise.race([work, limit]);
    clearTimeout(timer);
  }

  private serialize(record: AuditRecord): string {
    if (!auditRecordChecker.Check(record)) {
      const first = auditRecordChecker.Errors(record).First();
      throw new AuditRecordInvalid(`audit record ${first?.path || '/'}: ${first?.message ?? 'invalid'}`);
    }
    if (record.instance !== this.instance) {
      throw new AuditRecordInvalid(
        `audit record instance "${record.instance}" is not this writer's "${this.instance}"`,
      );
    }
    // The writer alone says which hash the chain uses: the field is set under SM3, never left from a caller.
    let named = record;
    if (this.hashAlg === 'sm3') named = { ...record, hashAlg: 'sm3' };
    else if (record.hashAlg !== undefined) named = withoutHashAlg(record);
    let rec: string;
    try {
      rec = canonicalJson(named);
    } catch (err) {
      throw new AuditRecordInvalid(`audit record is not plain JSON: ${(err as Error).message}`);
    }
    if (Buffer.byteLength(rec) > this.options.maxRecordBytes) {
      throw new AuditRecordInvalid(
        `audit record exceeds ${this.options.maxRecordBytes} bytes; shorten detail`,
      );
    }
    return rec;
  }

  private async load(): Promise<void> {
    const [, head, checkpoint] = await Promise.all([
      this.redis.sadd(this.keys.instances, this.instance),
      this.loadHead(),
      lastCheckpoint(this.redis, this.keys, this.instance),
    ]);
    this.head = head;
    this.lastCheckpoint = checkpoint?.seq ?? 0;
    this.lastCheckpointHash = checkpoint?.hash;
    this.sinceCheckpoint =
      head.seq === this.lastCheckpoint ? { from: head.seq, tree: new CompactRange(this.hashAlg) } : undefined;
    clearInterval(this.timer);
    this.timer = setInterval(() => this.maybeCheckpoint(true), this.options.checkpointIntervalMs).unref();
  }

  /** Mirrors the append script: the head key, or the stream's last entry when the head key is missing. */
  private async loadHead(): Promise<ChainHead> {
    const [seq, hash, id] = await this.redis.hmget(this.keys.head(this.instance), 'seq', 'hash', 'id');
    const last = !(seq && hash && id)
      ? await lastEntry(this.redis, this.keys.stream(this.instance))
      : undefined;
    if (seq && hash) return { seq: Number(seq), hash, id: id ?? last?.[0] ?? '0-0' };
    if (!last) return { seq: 0, hash: GENESIS_HASH, id: '0-0' };
    const entry = readChainEntry(last);
    if ('torn' in entry) throw new AuditChainBroken(`the last audit entry ${last[0]} is torn: ${entry.torn}`);
    return { seq: entry.seq, hash: entry.hash, id: entry.id };
  }

  private expire(pending: Pending): void {
    if (pending.state === 'done') return;
    if (pending.state === 'waiting') this.waiting--;
    pending.state = 'done';
    pending.reject(
      new AuditWriteFailed(`Redis did not store the audit record within ${this.options.timeoutMs} ms`),
    );
  }

  private async flushWhenIdle(): Promise<void> {
    // Let the callers of this tick join the first batch.
    await Promise.resolve();
    try {
      for (;;) {
        if (this.queue.length === 0) return this.sendTallies();
        const batch = this.queue.splice(0, this.options.maxBatch).filter((p) => p.state === 'waiting');
        if (batch.length > 0) await this.flushBatch(batch);
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async flushBatch(batch: Pending[]): Promise<void> {
    try {
      await this.start();
      this.head ??= await this.loadHead();
    } catch (err) {
      this.fail(batch, err, `the audit chain head could not be loaded: ${(err as Error).message}`);
      return;
    }
    const live = batch.filter((p) => p.state === 'waiting');
    if (live.length === 0) return;
    const base = this.head;
    let { ms, n } = parseStreamId(base.id);
    let { seq, hash } = base;
    const args: (string | number)[] = [base.seq, base.hash, this.options.backlogMax];
    const results: AppendResult[] = [];
    for (const pending of live) {
      const time = Date.parse(pending.record.time);
      if (time > ms) [ms, n] = [time, 0];
      else n++;
      const id = `${ms}-${n}`;
      const prev = hash;
      seq++;
      hash = chainHash(prev, pending.rec, this.hashAlg);
      args.push(id, seq, prev, hash, pending.rec);
      results.push({ id, seq, hash });
      pending.state = 'sent';
      this.waiting--;
    }
    const [appended] = sendEach(this.redis, [
      [
        APPEND_COMMAND,
        this.keys.stream(this.instance),
        this.keys.head(this.instance),
        this.keys.shipped(this.instance),
        ...args,
      ],
    ]);
    this.sendTallies();
    try {
      const [, shippedSeq, shippedId] = (await appended) as [number, string, string];
      this.shipped = { seq: Number(shippedSeq), ms: shippedId ? parseStreamId(shippedId).ms : 0 };
    } catch (err) {
      this.fail(live, err, `Redis did not store the audit records: ${(err as Error).message}`);
      return;
    }
    this.head = { seq, hash, id: results[results.length - 1]!.id };
    const range = this.sinceCheckpoint;
    if (range && range.from + range.tree.size === base.seq) {
      for (const pending of live) range.tree.append(recordLeaf(pending.rec, this.hashAlg));
    } else this.sinceCheckpoint = undefined;
    this.firstAppendAt ||= this.options.now();
    live.forEach((pending, i) => {
      clearTimeout(pending.timer);
      if (pending.state === 'done') return;
      pending.state = 'done';
      pending.resolve(results[i]!);
    });
    this.addTallies(live);
    this.maybeCheckpoint(false);
  }

  /** Sums the tallies of stored records per key and field until they are sent. */
  private addTallies(stored: Pending[]): void {
    for (const { tallies } of stored) {
      for (const { key, field, by } of tallies ?? []) {
        const fields = this.unsentTallies.get(key) ?? new Map<string, number>();
        this.unsentTallies.set(key, fields);
        fields.set(field, (fields.get(field) ?? 0) + by);
      }
    }
  }

  /**
   * Sends the unsent tallies; called right after a batch's commands, so that they travel back to back
   * with them, and when the queue runs empty. Failures are background errors.
   */
  private sendTallies(): void {
    if (this.unsentTallies.size === 0) return;
    const commands: Command[] = [];
    for (const [key, fields] of this.unsentTallies) {
      for (const [field, by] of fields) commands.push(['hincrby', key, field, by]);
    }
    this.unsentTallies.clear();
    for (const sent of sendEach(this.redis, commands)) {
      sent.catch((err: Error) => this.options.onBackgroundError(err, 'tally'));
    }
  }

  /** Rejects the batch and forgets the head, so the next batch starts from what Redis holds. */
  private fail(batch: Pending[], cause: unknown, message?: string): void {
    this.head = undefined;
    this.sinceCheckpoint = undefined;
    const text = (cause as Error)?.message ?? String(cause);
    const make = (): Error => {
      if (text.startsWith('AUDITCONFLICT')) {
        return new AuditChainConflict(
          `the audit chain of instance "${this.instance}" moved under this writer (${text}); is another process using the same instance id? The writer resynchronized`,
        );
      }
      if (cause instanceof AuditChainBroken) return new AuditChainBroken(`${text}; run the verifier`);
      if (text.startsWith('AUDITBACKLOG')) {
        return new AuditBacklog(
          `${text.slice('AUDITBACKLOG '.length)} audit records of instance "${this.instance}" wait to be shipped to the PostgreSQL audit store (high-water mark ${this.options.backlogMax}); is the store down or the shipper stopped?`,
        );
      }
      if (text.startsWith('AUDITBROKEN')) {
        return new AuditChainBroken(
          `the audit stream of instance "${this.instance}" holds entries beyond its head (${text}); run the verifier`,
        );
      }
      return new AuditWriteFailed(message ?? `Redis did not store the audit records: ${text}`);
    };
    for (const pending of batch) {
      clearTimeout(pending.timer);
      if (pending.state === 'done') continue;
      if (pending.state === 'waiting') this.waiting--;
      pending.state = 'done';
      pending.reject(make());
    }
  }

  private maybeCheckpoint(force: boolean): void {
    const head = this.head;
    if (this.checkpointing || !head) return;
    const due = head.seq - this.lastCheckpoint;
    if (due <= 0 || (!force && due < this.options.checkpointEvery)) return;
    this.checkpointing = this.signHead(head)
      .catch((err: unknown) => this.options.onBackgroundError(err as Error, 'checkpoint'))
      .finally(() => {
        this.checkpointing = undefined;
      });
  }

  /**
   * Signs a checkpoint of `head` over the records since the last one. They are read back from the
   * stream (not kept in memory, so a restarted or resynchronized writer needs nothing it lacks) and
   * must chain from the last checkpoint's hash to the head's: what is signed is what this writer wrote.
   */
  private async signHead(head: ChainHead): Promise<void> {
    const from = this.lastCheckpoint;
    const range = this.sinceCheckpoint;
    const known = range && range.from === from && range.from + range.tree.size === head.seq;
    // Records after this head go into a new tree (synchronously, before any append can land).
    this.sinceCheckpoint = { from: head.seq, tree: new CompactRange(this.hashAlg) };
    const root = known ? range.tree.head().toString('hex') : await this.readBackRoot(head, from);
    const payload: CheckpointPayload = {
      instance: this.instance,
      seq: head.seq,
      hash: head.hash,
      time: new Date(this.options.now()).toISOString(),
      from,
      root,
      ...(this.hashAlg === 'sm3' ? { hashAlg: 'sm3' as const } : {}),
    };
    const timestamper = this.closed ? undefined : this.options.timestamper;
    const signed = await signCheckpoint(this.options.signer, payload, timestamper, (err) => {
      this.timestamps.failed++;
      this.options.onBackgroundError(err, 'timestamp');
    });
    if (signed.tst) this.timestamps.stamped++;
    await writeCheckpoint(this.redis, this.keys, this.instance, signed);
    if (payload.seq > this.lastCheckpoint) {
      this.lastCheckpoint = payload.seq;
      this.lastCheckpointHash = payload.hash;
    }
    this.lastCheckpointTime = this.options.now();
  }

  /**
   * The tree head over records from + 1 .. head read back from the stream, when this writer did not
   * append them all itself (a restart, a failed write), checking that they are the chain it knows.
   */
  private async readBackRoot(head: ChainHead, from: number): Promise<string> {
    const records = await readChainRange(this.redis, this.keys, {
      instance: this.instance,
      fromSeq: from + 1,
      toSeq: head.seq,
      endId: head.id,
    });
    if (records[records.length - 1]!.hash !== head.hash) {
      throw new AuditChainBroken(
        `the stream's record at seq ${head.seq} is not the one this writer appended`,
      );
    }
    if (this.lastCheckpointHash !== undefined && records[0]!.prev !== this.lastCheckpointHash) {
      throw new AuditChainBroken(
        `the stream's record at seq ${from + 1} does not follow the last checkpoint`,
      );
    }
    return recordsRoot(records, this.hashAlg);
  }
}

function withoutHashAlg<T extends { hashAlg?: unknown }>(value: T): Omit<T, 'hashAlg'> {
  const { hashAlg: _, ...rest } = value;
  return rest;
}

/** Drops properties set to undefined, so they fall back to their defaults. */
function definedOnly<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as T;
}
