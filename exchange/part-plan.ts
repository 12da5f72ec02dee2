/**
 * The plan of a job cut into parts (see parts.ts): where the read is cut, and each part's envelope header.
 */
import { encodeHeader, parseHeader } from '../certs/envelope.js';
import { readsCopyPages, splitsReads } from '../connectors/sql/copy-pages.js';
import type { Connector } from '../connectors/types.js';
import { type ExchangeDeps, settingsOf } from './deps.js';
import { MAX_PARTS } from './paths.js';
import type { ExchangeJob } from './schema.js';
import type { ExchangeStore } from './store.js';

/**
 * The header of part `index`: the job's, with `index` XORed into the low bytes of the nonce prefix
 * (part 0 keeps the job's header). Distinct parts get distinct prefixes, hence distinct nonces.
 */
export function partHeader(jobHeader: Buffer, index: number): Buffer {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_PARTS) throw new RangeError('part index');
  if (index === 0) return jobHeader;
  const parsed = parseHeader(jobHeader);
  if (!parsed) throw new RangeError('not a complete envelope header');
  const prefix = Buffer.from(parsed.header.noncePrefix);
  let rest = index;
  for (let at = prefix.length - 1; rest > 0; at--) {
    prefix[at]! ^= rest & 0xff;
    rest = Math.floor(rest / 256);
  }
  return encodeHeader({ ...parsed.header, noncePrefix: prefix });
}

const sinceOf = (job: ExchangeJob) =>
  job.kind === 'incremental' && job.watermark?.from !== undefined
    ? { watermark: job.watermark.item, value: job.watermark.from }
    : undefined;

/**
 * Cuts a job into parts when its connector can (COPY and `splitPoints`) and the read holds more than
 * `partRows` rows; stores the plan (the first one stored wins) and returns the number of parts (1: one file).
 */
export async function planParts(
  deps: ExchangeDeps,
  store: ExchangeStore,
  job: ExchangeJob,
  connector: Connector,
  signal?: AbortSignal,
): Promise<number> {
  if (!readsCopyPages(connector) || !splitsReads(connector)) return 1;
  const since = sinceOf(job);
  let cursors = await connector.splitPoints({
    every: settingsOf(deps).partRows,
    ...(since ? { since } : {}),
    ...(signal ? { signal } : {}),
  });
  if (cursors.length + 1 > MAX_PARTS) {
    const step = Math.ceil((cursors.length + 1) / MAX_PARTS);
    cursors = cursors.filter((_, i) => (i + 1) % step === 0);
  }
  if (cursors.length === 0) return 1;
  return (await store.planParts(job.id, cursors)).length + 1;
}
