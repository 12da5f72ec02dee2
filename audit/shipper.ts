/**
 * The shipper: copies every instance's stream into the PostgreSQL store in chain order, checking each
 * record's seq, prev link and hash against the chain already shipped, and trims a stream only below
 * records that are both committed in PostgreSQL and covered by a signed checkpoint.
 *
 * The store's shipping position is the truth, so a shipper that crashes, or two shippers at once, lose
 * and duplicate nothing: a batch that does not continue the stored position is refused and re-read.
 * After each commit the position is mirrored into Redis (`{audit:<instance>}:shipped`, beside the head),
 * where the append script reads it to refuse appends past the high-water mark (AUDIT_BACKLOG).
 */
import type { RedisClient } from '../platform/redis.js';
import { chainHash, GENESIS_HASH } from './canonical.js';
import { lastCheckpointSeq, readCheckpointEntry, type StoredCheckpoint } from './checkpoint.js';
import { parseRecord, parseStreamId, type RawEntry, readChainEntry } from './entries.js';
import { AuditShippingBroken } from './errors.js';
import { type AuditKeys, auditKeys } from './keys.js';
import type { AuditStore, ShippedRecord, ShippingPosition } from './store/store.js';

export interface ShipperOptions {
  /** Records per transaction. @defaultValue 1000 */
  batch?: number;
  /** @defaultValue Date.now */
  now?: () => number;
}

export interface InstanceShipping {
  instance: string;
  /** Records in the stream not yet in PostgreSQL. */
  backlog: number;
  /** Age of the oldest unshipped record in seconds (0 when none). */
  lagSeconds: number;
  /** Set when the stream does not continue the shipped chain: shipping of the instance has stopped. */
  broken?: string;
}

export interface ShipResult {
  shipped: number;
  instances: InstanceShipping[];
}

/** Instances shipped at once: the store's pool has four connections; one is left for other queries. */
const PARALLEL_INSTANCES = 3;

export class AuditShipper {
  private readonly keys: AuditKeys;
  private readonly batch: number;
  private readonly now: () => number;
  /** Stream id of each instance's last checkpoint known to be in the store. */
  private readonly checkpointsShipped = new Map<string, string | undefined>();

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly store: AuditStore,
    options: ShipperOptions = {},
  ) {
    this.keys = auditKeys(prefix);
    this.batch = Math.max(1, Math.min(options.batch ?? 1000, 10_000));
    this.now = options.now ?? Date.now;
  }

  /**
   * Ships what every instance's stream holds beyond the store's position, batch by batch. Instances are
   * shipped side by side (their chains are independent; each batch still commits alone), and within one
   * the next batch is read and checked while the one before is being stored.
   */
  async shipAll(): Promise<ShipResult> {
    const instances = (await this.redis.smembers(this.keys.instances)).sort();
    const positions = await this.store.positions();
    const done = new Array<{ shipped: number; status: InstanceShipping }>(instances.length);
    let next = 0;
    const lane = async () => {
      while (next < instances.length) {
        const i = next++;
        const shipped = await this.shipInstance(instances[i]!, positions.get(instances[i]!));
        await this.shipCheckpoints(instances[i]!, shipped.position);
        done[i] = shipped;
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_INSTANCES, instances.length) }, lane));
    return {
      shipped: done.reduce((sum, d) => sum + d.shipped, 0),
      instances: done.map((d) => d.status),
    };
  }

  /** A batch of the stream after `position`, checked to continue the chain there. */
  private async read(instance: string, position: ShippingPosition | undefined) {
    const raw = (await this.redis.xrange(
      this.keys.stream(instance),
      position ? `(${position.streamId}` : '-',
      '+',
      'COUNT',
      this.batch,
    )) as RawEntry[];
    return { full: raw.length === this.batch, ...continueChain(position, raw) };
  }

  private async shipInstance(
    instance: string,
    start: ShippingPosition | undefined,
  ): Promise<{ shipped: number; status: InstanceShipping; position: ShippingPosition | undefined }> {
    let position = start;
    let shipped = 0;
    let pending = this.read(instance, position);
    for (;;) {
      const { records, broken, full } = await pending;
      if (records.length > 0) {
        const last = records[records.length - 1]!;
        const after = { seq: last.seq, hash: last.hash, streamId: last.id };
        const ahead = full && !broken ? this.read(instance, after) : undefined;
        // A read ahead that is not used must not leave a rejection unhandled.
        ahead?.catch(() => undefined);
        if (!(await this.store.append(instance, position, records))) {
          // Another shipper moved the position: start again from what the store holds.
          position = (await this.store.positions()).get(instance);
          pending = this.read(instance, position);
          continue;
        }
        position = after;
        shipped += records.length;
        await this.redis.hset(this.keys.shipped(instance), 'seq', last.seq, 'id', last.id);
        await this.trim(instance, position);
        if (ahead) {
          pending = ahead;
          continue;
        }
      }
      if (broken) {
        const status = await this.status(instance, position);
        return { shipped, status: { ...status, broken }, position };
      }
      if (!full) return { shipped, status: await this.status(instance, position), position };
      pending = this.read(instance, position);
    }
  }

  /**
   * Copies the instance's checkpoints into the store, in stream order, up to the first that vouches for
   * a record not stored yet (it follows once that record is shipped).
   */
  private async shipCheckpoints(instance: string, position: ShippingPosition | undefined): Promise<void> {
    if (!position) return;
    let after = this.checkpointsShipped.has(instance)
      ? this.checkpointsShipped.get(instance)
      : await this.store.lastCheckpointId(instance);
    for (;;) {
      const raw = (await this.redis.xrange(
        this.keys.checkpoints(instance),
        after ? `(${after}` : '-',
        '+',
        'COUNT',
        this.batch,
      )) as RawEntry[];
      const ready: StoredCheckpoint[] = [];
      let waiting = false;
      for (const entry of raw) {
        const checkpoint = readCheckpointEntry(entry);
        if (checkpoint.parsed && checkpoint.parsed.seq > position.seq) {
          waiting = true;
          break;
        }
        ready.push(checkpoint);
      }
      if (ready.length > 0) {
        await this.store.appendCheckpoints(instance, ready);
        after = ready[ready.length - 1]!.id;
      }
      this.checkpointsShipped.set(instance, after);
      if (waiting || raw.length < this.batch) return;
    }
  }

  /** Trims the stream below the newest record that is shipped and vouched for by a checkpoint. */
  private async trim(instance: string, shipped: ShippingPosition): Promise<void> {
    const vouched = await lastCheckpointSeq(this.redis, this.keys, instance);
    const upTo = Math.min(vouched, shipped.seq);
    if (upTo <= 0) return;
    const id = upTo === shipped.seq ? shipped.streamId : await this.store.streamIdOf(instance, upTo);
    // MINID keeps the record at `id` itself: the stream never loses the record its head follows from.
    if (id) await this.redis.xtrim(this.keys.stream(instance), 'MINID', id);
  }

  private async status(instance: string, position: ShippingPosition | undefined): Promise<InstanceShipping> {
    const [headSeq] = await this.redis.hmget(this.keys.head(instance), 'seq');
    const backlog = Math.max(0, Number(headSeq ?? 0) - (position?.seq ?? 0));
    let lagSeconds = 0;
    if (backlog > 0) {
      const from = position ? `(${position.streamId}` : '-';
      const [first] = (await this.redis.xrange(
        this.keys.stream(instance),
        from,
        '+',
        'COUNT',
        1,
      )) as RawEntry[];
      if (first) lagSeconds = Math.max(0, (this.now() - parseStreamId(first[0]).ms) / 1000);
    }
    return { instance, backlog, lagSeconds };
  }
}

/**
 * The entries as shipped records, checked to continue the chain at `position` (the chain's start when
 * undefined): those before the first entry that does not, and why that one does not.
 */
export function continueChain(
  position: ShippingPosition | undefined,
  raw: RawEntry[],
): { records: ShippedRecord[]; broken?: string } {
  const records: ShippedRecord[] = [];
  try {
    chainInto(records, position, raw);
    return { records };
  } catch (err) {
    if (!(err instanceof AuditShippingBroken)) throw err;
    return { records, broken: err.message };
  }
}

function chainInto(records: ShippedRecord[], position: ShippingPosition | undefined, raw: RawEntry[]): void {
  let seq = position?.seq ?? 0;
  let hash = position?.hash ?? GENESIS_HASH;
  for (const entry of raw) {
    const chained = readChainEntry(entry);
    if ('torn' in chained) throw new AuditShippingBroken(`entry ${entry[0]} is torn: ${chained.torn}`);
    if (chained.seq !== seq + 1) {
      throw new AuditShippingBroken(
        `entry ${entry[0]} has seq ${chained.seq}, the shipped chain needs ${seq + 1}`,
      );
    }
    if (chained.prev !== hash) {
      throw new AuditShippingBroken(
        `entry ${entry[0]} (seq ${chained.seq}) does not link to the shipped chain`,
      );
    }
    if (chainHash(chained.prev, chained.rec) !== chained.hash) {
      throw new AuditShippingBroken(
        `entry ${entry[0]} (seq ${chained.seq}): its hash is not the chain hash of prev + rec`,
      );
    }
    const record = parseRecord(chained.rec);
    if (!record)
      throw new AuditShippingBroken(`entry ${entry[0]} (seq ${chained.seq}): rec is not a JSON object`);
    const { ms, n } = parseStreamId(chained.id);
    records.push({
      id: chained.id,
      ms,
      n,
      seq: chained.seq,
      prev: chained.prev,
      hash: chained.hash,
      rec: chained.rec,
      record,
    });
    seq = chained.seq;
    hash = chained.hash;
  }
}
