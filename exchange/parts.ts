/**
 * A job cut into parts, so that several workers (one per core) export it at once and a crashed worker
 * redoes only its part. The first run of a job whose connector reads with COPY and can split its read
 * (a SQL source) asks for cursors every `partRows` rows (`splitPoints`, a whole group of rows sharing a
 * key never split) and stores them as the job's plan; the queue (gateway/jobs/exchange.ts) then runs one
 * BullMQ child job per part and, when all are done, the parent that completes the job.
 *
 * Each part is its own encrypted file, written by the same writer as a whole job (file-writer.ts:
 * masking, gzip members, envelope frames, checkpoints), read from `after` (exclusive) to `until`
 * (inclusive). All parts share the job's data key and wrapped key; part i's header carries the job's
 * nonce prefix with i XORed into its low bytes, so no two parts (and no part and a one-file job) ever
 * seal under the same nonce, and a part's bytes are the same whichever run writes it. The plaintexts
 * (gzip streams) concatenate, in order, into what one file would hold: a csv header row only in part 0.
 *
 * The parent verifies every part file against the digests its run stored (and rewrites one that does not
 * verify), then signs a version 2 manifest listing the parts in order with their digests, row counts and,
 * when the consumer may see the key items unmasked, their key ranges.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { serviceShape } from '../connectors/registry.js';
import { decodeCursor } from '../connectors/sql/cursor.js';
import { useRestrictionOf } from '../policies/onward.js';
import { type ExchangeDeps, nowOf, settingsOf } from './deps.js';
import { exchangeErrors } from './errors.js';
import { digestFile, progressOf, writeFile } from './file-writer.js';
import { partHeader } from './part-plan.js';
import { partFileName, partFilePath } from './paths.js';
import { claimRun, finishJob, prepareRun, type RunOptions } from './runner.js';
import type { Checkpoint, ExchangeJob, ManifestPart, Progress } from './schema.js';
import { laterWatermark } from './serialize.js';
import { ExchangeStore, type ExportPart } from './store.js';

const TERMINAL = new Set(['completed', 'failed', 'expired']);

/**
 * Writes (or resumes) part `index` of a job cut into parts and returns it done, with its digests. A part
 * already done is returned as it is; so is nothing when the job ended. The part is fenced by this run's
 * token: a run presumed dead and replaced stops at its next checkpoint. Throws what stopped it, as
 * `runExportJob` does.
 */
export async function runExportPart(
  deps: ExchangeDeps,
  jobId: string,
  index: number,
  options: RunOptions = {},
): Promise<ExportPart | undefined> {
  const store = new ExchangeStore(deps.redis, deps.prefix);
  const token = options.token ?? randomUUID();
  const job = await store.get(jobId);
  if (!job) throw new exchangeErrors.EXCHANGE_JOB_NOT_FOUND(`no exchange job ${jobId}`);
  if (TERMINAL.has(job.state)) return undefined;
  const found = job.parts !== undefined && index < job.parts ? await store.getPart(jobId, index) : undefined;
  if (!found) throw new exchangeErrors.EXCHANGE_JOB_NOT_FOUND(`exchange job ${jobId} has no part ${index}`);
  if (found.done) return found;
  let part = (await store.claimPart(jobId, index, token))!;
  const { terms, dataKey, connector } = await prepareRun(deps, store, job, nowOf(deps));
  const path = partFilePath(settingsOf(deps).exchangeDir, jobId, job.format, index);
  const written = await writeFile(deps, job, {
    token,
    dataKey,
    connector,
    obligations: terms.obligations,
    watermarkItem: terms.service.watermark,
    store,
    options,
    part: {
      index,
      path,
      headerBytes: partHeader(Buffer.from(job.envelopeHeader, 'base64'), index),
      ...(part.after === undefined ? {} : { after: part.after }),
      ...(part.until === undefined ? {} : { until: part.until }),
      ...(part.checkpoint ? { checkpoint: part.checkpoint } : {}),
      save: async (checkpoint: Checkpoint) => {
        part = { ...part, checkpoint };
        await store.savePart(jobId, part, token);
        await showProgress(deps, store, jobId, job.parts!);
      },
    },
  });
  const digests = await digestFile(path, dataKey).catch((error: unknown) => ({ error: error as Error }));
  if ('error' in digests || digests.bytes !== written.bytes) {
    // Start the part over on the retry: its bytes on disk are not what was written.
    const { checkpoint: _drop, ...restart } = part;
    await store.savePart(jobId, restart, token);
    const why =
      'error' in digests ? digests.error.message : `${digests.bytes} bytes on disk, ${written.bytes} written`;
    throw new exchangeErrors.EXCHANGE_FILE_CORRUPT(
      `part ${index} of job ${jobId} does not verify (${why}); it is rebuilt`,
    );
  }
  part = {
    ...part,
    done: {
      bytes: digests.bytes,
      sha256: digests.sha256,
      plaintextSha256: digests.plaintextSha256,
      rows: written.checkpoint.rows,
      ...(written.checkpoint.watermarkTo === undefined
        ? {}
        : { watermarkTo: written.checkpoint.watermarkTo }),
    },
  };
  await store.savePart(jobId, part, token);
  await showProgress(deps, store, jobId, job.parts!);
  return part;
}

/**
 * Completes a job whose parts are written: checks each part file against its stored digests (a part that
 * is missing or does not verify is written again here), then signs the version 2 manifest and releases
 * the parts, as `runExportJob` completes a one-file job.
 */
export async function completeExportParts(
  deps: ExchangeDeps,
  jobId: string,
  options: RunOptions = {},
): Promise<ExchangeJob> {
  const store = new ExchangeStore(deps.redis, deps.prefix);
  const token = options.token ?? randomUUID();
  const found = await store.get(jobId);
  if (!found) throw new exchangeErrors.EXCHANGE_JOB_NOT_FOUND(`no exchange job ${jobId}`);
  if (TERMINAL.has(found.state)) return found;
  const count = found.parts;
  if (count === undefined)
    throw new exchangeErrors.EXCHANGE_JOB_NOT_FOUND(`exchange job ${jobId} has no parts`);
  const startedAt = nowOf(deps);
  const job = await claimRun(deps, store, jobId, token, startedAt);
  if (!job) return found;
  if (job.state !== 'running') return job;
  // The grant, the terms and the certificate are checked again at release, as for one file.
  const { terms } = await prepareRun(deps, store, job, startedAt);
  const exchangeDir = settingsOf(deps).exchangeDir;
  const shape = serviceShape(terms.entry);
  const ordered = [
    ...(job.kind === 'incremental' && job.watermark ? [job.watermark.item] : []),
    ...shape.key,
  ];
  // Key ranges name key values: listed only when the consumer receives those items unmasked.
  const rangesShown = ordered.every(
    (item) => terms.obligations.items.includes(item) && !Object.hasOwn(terms.obligations.masks, item),
  );
  const listed: ManifestPart[] = [];
  let rows = 0;
  let bytes = 0;
  let watermarkTo: string | undefined;
  const sums: Progress = { rows: 0, scanned: 0, pagesDone: 0, segments: 0, percent: 100 };
  for (let index = 0; index < count; index++) {
    let part = await store.getPart(jobId, index);
    if (!part) {
      throw new exchangeErrors.EXCHANGE_KEY_LOST(`the plan of job ${jobId} is gone: submit a new job`);
    }
    const path = partFilePath(exchangeDir, jobId, job.format, index);
    if (!part.done || !(await fileIs(path, part.done.bytes, part.done.sha256))) {
      // Lost or altered on disk since its run: written again from its start.
      const redo = randomUUID();
      const claimed = (await store.claimPart(jobId, index, redo))!;
      const { checkpoint: _c, done: _d, ...fresh } = claimed;
      await store.savePart(jobId, fresh, redo);
      part = await runExportPart(deps, jobId, index, { ...options, token: redo });
      if (!part?.done) return (await store.get(jobId)) ?? job;
    }
    const done = part.done!;
    const checkpoint = part.checkpoint;
    sums.scanned += checkpoint?.scanned ?? 0;
    sums.pagesDone += checkpoint?.pagesDone ?? 0;
    sums.segments += checkpoint?.segment ?? 0;
    const range = rangesShown ? keyRange(part, shape.key.length, job.kind === 'incremental') : undefined;
    listed.push({
      index,
      name: partFileName(job.format, index),
      bytes: done.bytes,
      sha256: done.sha256,
      plaintextSha256: done.plaintextSha256,
      rows: done.rows,
      firstRow: rows,
      ...(range ? { keyRange: range } : {}),
    });
    rows += done.rows;
    bytes += done.bytes;
    watermarkTo = laterWatermark(watermarkTo, done.watermarkTo);
  }
  sums.rows = rows;
  const completed = await finishJob(deps, store, job, token, startedAt, useRestrictionOf(terms.grant), {
    rows,
    watermarkTo,
    progress: sums,
    bytes,
    parts: listed,
  });
  await store.dropParts(jobId, count);
  return completed;
}

/** The part's key range from its cursors (values the connector produced and checked). */
function keyRange(part: ExportPart, keyLength: number, incremental: boolean): ManifestPart['keyRange'] {
  const position = (cursor: string) => {
    const { key, watermark } = decodeCursor(cursor, keyLength, incremental);
    return { key, ...(watermark === undefined ? {} : { watermark }) };
  };
  return {
    ...(part.after === undefined ? {} : { after: position(part.after) }),
    ...(part.until === undefined ? {} : { until: position(part.until) }),
  };
}

async function fileIs(path: string, bytes: number, sha256: string): Promise<boolean> {
  const size = await stat(path).then(
    (s) => s.size,
    () => -1,
  );
  if (size !== bytes) return false;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex') === sha256;
}

/**
 * The job's progress as the sum of its parts' (rows, pages, segments; percent: the share of parts done).
 * Shown only: a write that loses to another part's is left to the next checkpoint.
 */
async function showProgress(
  deps: ExchangeDeps,
  store: ExchangeStore,
  jobId: string,
  count: number,
): Promise<void> {
  const parts = await store.getParts(jobId, count);
  const sums: Checkpoint = { segment: 0, rows: 0, scanned: 0, pagesDone: 0, bytes: 0, nextChunk: 0 };
  let done = 0;
  for (const part of parts) {
    const c = part?.checkpoint;
    if (part?.done) done++;
    if (!c) continue;
    sums.segment += c.segment;
    sums.rows += c.rows;
    sums.scanned += c.scanned;
    sums.pagesDone += c.pagesDone;
  }
  const progress: Progress = {
    ...progressOf(sums, false),
    percent: Math.min(99, Math.floor((done * 100) / count)),
  };
  const at = new Date(nowOf(deps)).toISOString();
  await store
    .change(jobId, (j) =>
      j.state === 'running' && j.parts === count ? { ...j, progress, updatedAt: at } : undefined,
    )
    .catch(() => undefined);
}
