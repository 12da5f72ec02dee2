/**
 * Moves committed changes from an outbox (a Redis stream written atomically with each change: the
 * applications', the objections') to BullMQ and the audit trail: timers become delayed jobs on the
 * deadlines queue, events are fanned out to webhook deliveries, cancelled timers are removed, and the
 * audit records of changes the platform made itself are appended. An entry is deleted only once all of
 * it is done; job ids are deterministic, so an entry handled twice (two processes, or a crash before the
 * delete) queues nothing twice. Its audit records come last, with request ids derived from the entry, so
 * a repeat (a crash between the append and the delete) shows as the same request id twice, never as a
 * second change. While the trail refuses writes, the entry and all after it wait. Runs right after each
 * change and periodically in the worker, which catches up after a crash.
 */

import type { PlatformAuditEntry, Timer } from '../policies/applications/schema.js';
import type { OutboxRecord } from '../policies/applications/store.js';
import type { Notifier } from './notifier.js';
import type { JobQueue } from './queue.js';

const BATCH = 100;

/** Appends the audit record of a platform change under `requestId`; throws when the trail refuses it. */
export type PlatformAuditAppend = (entry: PlatformAuditEntry, requestId: string) => Promise<void>;

/** A stream of committed changes: the applications' outbox, or the objections' (policies/objections). */
export interface OutboxSource {
  readOutbox(count: number): Promise<OutboxRecord[]>;
  ackOutbox(ids: string[]): Promise<void>;
}

export class OutboxRelay {
  #chain: Promise<number> = Promise.resolve(0);

  /** `name` tells this outbox's entries apart in audit request ids (stream ids repeat across streams). */
  constructor(
    private readonly name: string,
    private readonly store: OutboxSource,
    private readonly deadlines: JobQueue<Timer>,
    private readonly notifier: Notifier,
    private readonly audit: PlatformAuditAppend,
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
        const audit = entry.audit ?? [];
        for (let i = 0; i < audit.length; i++) {
          await this.audit(audit[i]!, `platform-${this.name}-${id}-${i}`);
        }
        await this.store.ackOutbox([id]);
        handled++;
      }
    }
  }
}

/**
 * Attempts of a timer's job. Telling the upper platform of a withdrawal has no later clock to retry at
 * (a forwarding does: its stage's reminder and overdue timers), so it keeps trying for about six days.
 */
const ATTEMPTS: Partial<Record<Timer['kind'], number>> = { 'forward-withdraw': 20 };

/** A timer as a delayed job; the delay is counted on the platform clock. */
export function scheduleTimer(queue: JobQueue<Timer>, timer: Timer, now: Date) {
  return queue.add(timer.kind, timer, {
    jobId: timer.id,
    delay: Math.max(0, timer.runAt - now.getTime()),
    attempts: ATTEMPTS[timer.kind] ?? 5,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: 7 * 86_400 },
    removeOnFail: { age: 30 * 86_400 },
  });
}
