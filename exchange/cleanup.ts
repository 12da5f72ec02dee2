/**
 * Files expire: a completed job's file is deleted once its `expiresAt` has passed (GOVSHARE_EXCHANGE_FILE_TTL)
 * and the job record then shows `expired`. A periodic job (gateway/jobs/exchange.ts) calls this; it is
 * safe to run on several workers at once (the state change is compare-and-set; deleting twice is harmless).
 */
import { rm } from 'node:fs/promises';
import { jobAudit } from './audit.js';
import { type ExchangeDeps, nowOf, settingsOf } from './deps.js';
import { jobDir } from './paths.js';
import type { ExchangeJob } from './schema.js';
import { ExchangeStore } from './store.js';

export async function cleanupExpiredFiles(
  deps: Pick<ExchangeDeps, 'redis' | 'prefix' | 'settings' | 'audit' | 'now'>,
  options: { limit?: number } = {},
): Promise<{ expired: string[] }> {
  const store = new ExchangeStore(deps.redis, deps.prefix);
  const now = nowOf(deps);
  const exchangeDir = settingsOf(deps).exchangeDir;
  const expired: string[] = [];
  const expiredNow = (j: ExchangeJob): ExchangeJob | undefined =>
    j.state === 'completed' && j.expiresAt !== undefined && Date.parse(j.expiresAt) <= now
      ? { ...j, state: 'expired', updatedAt: new Date(now).toISOString() }
      : undefined;
  for (const id of await store.dueForExpiry(now, options.limit ?? 500)) {
    const current = await store.get(id);
    const due = current && expiredNow(current);
    if (due) {
      // Recorded before it is done: when the trail refuses the record, the job and its file stay for the
      // next sweep. (Two sweeps expiring the same job at once would both record it.)
      await deps.audit(jobAudit(due, { action: 'exchange.expire', now, rowCount: due.progress.rows }));
      let expiring: ExchangeJob | undefined;
      const job = await store.change(id, (j) => {
        expiring = expiredNow(j);
        return expiring;
      });
      if (job !== undefined && job === expiring) expired.push(id);
    }
    // Delete first, then drop from the index: a crash in between leaves it for the next sweep.
    await rm(jobDir(exchangeDir, id), { recursive: true, force: true });
    await store.dropExpiry(id);
  }
  return { expired };
}
