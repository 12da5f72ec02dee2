/**
 * The worker's audit retention: every few hours (and a minute after start), months of the audit store
 * past GOVSHARE_AUDIT_RETENTION_DAYS are archived to signed segments and dropped (audit/archive.ts).
 */
import { type ArchivedMonth, type ArchiveOptions, archiveExpired } from '../../audit/archive.js';
import type { AuditStore } from '../../audit/store/store.js';

export interface RetentionLoopOptions extends ArchiveOptions {
  intervalMs: number;
  firstRunMs: number;
  onArchived: (months: ArchivedMonth[]) => void;
  onError: (err: Error) => void;
}

export function startRetentionLoop(
  store: AuditStore,
  options: RetentionLoopOptions,
): { close(): Promise<void> } {
  let running: Promise<void> | undefined;
  const run = () => {
    running = archiveExpired(store, options)
      .then((months) => {
        if (months.length > 0) options.onArchived(months);
      })
      .catch((err: Error) => options.onError(err));
  };
  const first = setTimeout(run, options.firstRunMs);
  const timer = setInterval(run, options.intervalMs);
  first.unref();
  timer.unref();
  return {
    async close() {
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
