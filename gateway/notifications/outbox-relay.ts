/**
 * Moves committed changes from an outbox (a Redis stream written atomically with each change: the
 * applications', the objections') to BullMQ: timers become delayed jobs on the deadlines queue, events
 * are fanned out to webhook deliveries, cancelled timers are removed. An entry is deleted only once all of it is queued; job ids
 * are deterministic, so an entry handled twice (two processes, or a crash before the delete) queues
 * nothing twice. Runs right after each change and periodically in the worker, which catches up after
 * a crash.
 */
import type { Queue } from 'bullmq';
import type { Timer } from '../../policies/applications/schema.js';
import type { OutboxRecord } from '../../policies/applications/store.js';
import type { Notifier } from './notifier.js';

const BATCH = 100;

/** A stream of committed changes: the applications' outbox, or the objections' (policies/objections). */
export interface OutboxSource {
  readOutbox(count: number): Promise<OutboxRecord[]>;
  ackOutbox(ids: string[]): Promise<void>;
}

export class OutboxRelay {
  #chain: Promise<number> = Promise.resolve(0);

  constructor(
    private readonly store: OutboxSource,
    private readonly deadlines: Queue<Timer>,
    private readonly notifier: Notifier,
    private readonly now: () => Date,
  ) {}

  /** Drains the outbox; calls are serialized within the process. Returns the entries handled. */
  drain(): Promise<number> {
    const run = this.#chain.catch(() => 0).then(() => this.#drainAll());
    this.#chain = run;
    return run;
  }

  async #drainAll(): Promise<number> {
    let handled = 0;
    for (;;) {
      const records = await this.store.readOutbox(BATCH);
      if (records.length === 0) return handled;
      for (const { id, entry } of records) {
        for (const timer of entry.timers ?? []) await scheduleTimer(this.deadlines, timer, this.now());
        for (const jobId of entry.cancel ?? []) await this.deadlines.remove(jobId);
        for (const event of entry.events ?? []) await this.notifier.fanOut(event);
        await this.store.ackOutbox([id]);
        handled++;
      }
    }
  }
}

/** A timer as a delayed job; the delay is counted on the platform clock. */
export function scheduleTimer(queue: Queue<Timer>, timer: Timer, now: Date) {
  return queue.add(timer.kind, timer, {
    jobId: timer.id,
    delay: Math.max(0, timer.runAt - now.getTime()),
    attempts: 5,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: 7 * 86_400 },
    removeOnFail: { age: 30 * 86_400 },
  });
}
