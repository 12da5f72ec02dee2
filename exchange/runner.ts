/**
 * The export runner: pages from the connector → the request filter and the grant's obligations (row
 * filter, items in catalog order, masking) → jsonl or csv → gzip → envelope encryption → the job file.
 *
 * The file is written in segments of `segmentPages` pages. Each segment is one gzip member (gzip
 * members concatenate into one valid gzip stream) and ends on an envelope frame boundary; after it is
 * fsynced, the checkpoint (cursor, rows, file length, next chunk index, largest watermark) is stored.
 * A run that resumes truncates the file to the checkpointed length and continues from the cursor with
 * the same data key, nonce prefix and chunk counter. Paging, serialization, gzip and GCM are all
 * deterministic, so a resumed job writes the same bytes and signs the same manifest as one that never
 * stopped. Memory stays flat: one page at a time, and backpressure through gzip to the file.
 */

import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { parseHeader, SUITE_ALGORITHMS } from '../certs/envelope.js';
import { serviceShape } from '../connectors/registry.js';
import type { Connector } from '../connectors/types.js';
import { type UseRestriction, useRestrictionOf } from '../policies/onward.js';
import { jobAudit } from './audit.js';
import { type ExchangeDeps, nowOf, settingsOf } from './deps.js';
import { errorSummary, exchangeErrors } from './errors.js';
import { digestFile, progressOf, type WriteOptions, writeFile } from './file-writer.js';
import { KeyVault } from './key-vault.js';
import { signManifest } from './manifest.js';
import { planParts } from './part-plan.js';
import { fileName, jobDir, jobFilePath, relativeFilePath } from './paths.js';
import type { ExchangeJob, Manifest } from './schema.js';
import { laterWatermark } from './serialize.js';
import { ExchangeStore } from './store.js';
import { resolveTerms, usableCertificate } from './terms.js';

export interface RunOptions extends WriteOptions {
  /** Fencing token of this run; a fresh one when omitted. */
  token?: string;
  /**
   * Cut a new job into parts of about `settings.partRows` rows when its connector can (parts.ts): the run
   * then stores the plan and returns the job still running, with `parts` set, for the queue to run the
   * parts. Without it the job is written as one file (as before).
   */
  split?: boolean;
}

const TERMINAL = new Set(['completed', 'failed', 'expired']);

/**
 * Runs (or resumes) a job to completion and returns it. A job already completed, failed or expired is
 * returned as it is (idempotent). Throws what stopped it: the caller decides between retry and
 * `failExportJob` (see errors.ts `isPermanentError`).
 */
export async function runExportJob(
  deps: ExchangeDeps,
  jobId: string,
  options: RunOptions = {},
): Promise<ExchangeJob> {
  const store = new ExchangeStore(deps.redis, deps.prefix);
  const token = options.token ?? randomUUID();
  const found = await store.get(jobId);
  if (!found) throw new exchangeErrors.EXCHANGE_JOB_NOT_FOUND(`no exchange job ${jobId}`);
  if (TERMINAL.has(found.state)) return found;
  // Cut into parts already: the parts run on the queue, this run has nothing to add.
  if (found.parts !== undefined) return found;
  const startedAt = nowOf(deps);
  let job = await claimRun(deps, store, jobId, token, startedAt);
  if (!job) return found;
  if (job.state !== 'running') return job;
  const { terms, dataKey, connector } = await prepareRun(deps, store, job, startedAt);

  if (options.split && !job.checkpoint) {
    const parts = await planParts(deps, store, job, connector, options.signal);
    if (parts > 1) {
      job = { ...job, parts, updatedAt: new Date(nowOf(deps)).toISOString() };
      await store.saveOwned(job, token);
      return job;
    }
  }
  const written = await writeFile(deps, job, {
    token,
    dataKey,
    connector,
    obligations: terms.obligations,
    watermarkItem: terms.service.watermark,
    store,
    options,
  });
  job = written.job;
  return complete(deps, store, job, token, dataKey, written.bytes, startedAt, useRestrictionOf(terms.grant));
}

/** Takes the job over for a run (fenced by `token`) and records the start; undefined when it ended meanwhile. */
export async function claimRun(
  deps: ExchangeDeps,
  store: ExchangeStore,
  jobId: string,
  token: string,
  startedAt: number,
): Promise<ExchangeJob | undefined> {
  const iso = new Date(startedAt).toISOString();
  const job = await store.change(
    jobId,
    (j) =>
      TERMINAL.has(j.state)
        ? undefined
        : {
            ...j,
            state: 'running',
            attempts: j.attempts + 1,
            startedAt: j.startedAt ?? iso,
            updatedAt: iso,
            error: undefined,
          },
    token,
  );
  if (job?.state !== 'running') return job;
  await deps.audit(
    jobAudit(job, {
      action: 'exchange.start',
      now: startedAt,
      detail: { attempt: job.attempts, resumeAtSegment: job.checkpoint?.segment ?? 0 },
    }),
  );
  return job;
}

/**
 * What every run (and every part) checks and needs before it reads: the grant decided again, the terms
 * the job was submitted under, a usable consumer certificate, the data key, the connector.
 */
export async function prepareRun(
  deps: ExchangeDeps,
  store: ExchangeStore,
  job: ExchangeJob,
  at: number,
): Promise<{ terms: Awaited<ReturnType<typeof resolveTerms>>; dataKey: Buffer; connector: Connector }> {
  const caller = {
    deptCode: job.consumer.deptCode,
    systemId: job.consumer.systemId,
    serial: job.consumer.certSerial,
  };
  const terms = await resolveTerms(
    deps,
    caller,
    {
      resource: job.resource,
      items: job.items,
      ...(job.filter ? { filter: job.filter } : {}),
      kind: job.kind,
      purpose: job.purpose,
      grantId: job.grantId,
    },
    at,
  );
  if (terms.resourceVersion !== job.resourceVersion || terms.obligations.items.join() !== job.items.join()) {
    throw new exchangeErrors.EXCHANGE_TERMS_CHANGED(
      `resource ${job.resource} is at version ${terms.resourceVersion} now, the job was submitted under version ${job.resourceVersion}; submit a new job`,
    );
  }
  await usableCertificate(deps, job.consumer, at);
  const sealed = await store.sealedKey(job.id);
  let dataKey: Buffer;
  try {
    if (sealed === null) throw new Error('absent');
    dataKey = new KeyVault(deps.platform.subjectHmacKey).open(job.id, sealed);
  } catch {
    throw new exchangeErrors.EXCHANGE_KEY_LOST(`the data key of job ${job.id} is gone: submit a new job`);
  }
  const connector = deps.connectors.get(terms.service, serviceShape(terms.entry));
  return { terms, dataKey, connector };
}

function envelopeSuite(job: ExchangeJob): number | undefined {
  return parseHeader(Buffer.from(job.envelopeHeader, 'base64'))?.header.suite;
}

async function complete(
  deps: ExchangeDeps,
  store: ExchangeStore,
  written: ExchangeJob,
  token: string,
  dataKey: Buffer,
  bytes: number,
  startedAt: number,
  useRestriction: UseRestriction,
): Promise<ExchangeJob> {
  const settings = settingsOf(deps);
  const path = jobFilePath(settings.exchangeDir, written.id, written.format);
  const digests = await digestFile(path, dataKey).catch((error: unknown) => ({ error: error as Error }));
  if ('error' in digests || digests.bytes !== bytes) {
    // Start the file over on the retry: its bytes on disk are not what was written.
    const { checkpoint: _drop, ...restart } = written;
    await store.saveOwned(restart, token);
    const why =
      'error' in digests ? digests.error.message : `${digests.bytes} bytes on disk, ${bytes} written`;
    throw new exchangeErrors.EXCHANGE_FILE_CORRUPT(
      `the finished file of job ${written.id} does not verify (${why}); it is rebuilt`,
    );
  }
  const checkpoint = written.checkpoint!;
  const name = fileName(written.format);
  return finishJob(deps, store, written, token, startedAt, useRestriction, {
    rows: checkpoint.rows,
    watermarkTo: checkpoint.watermarkTo,
    progress: progressOf(checkpoint, true),
    bytes,
    file: { name, bytes, sha256: digests.sha256, plaintextSha256: digests.plaintextSha256 },
  });
}

/** What a finished job delivers: one file, or the parts of one. */
export interface Delivered {
  rows: number;
  watermarkTo: string | undefined;
  progress: ExchangeJob['progress'];
  /** Encrypted bytes, all parts together. */
  bytes: number;
  file?: NonNullable<Manifest['file']>;
  parts?: Manifest['parts'];
}

/** Signs the manifest, records the completion, and ends the run: the file (or its parts) is released. */
export async function finishJob(
  deps: ExchangeDeps,
  store: ExchangeStore,
  written: ExchangeJob,
  token: string,
  startedAt: number,
  useRestriction: UseRestriction,
  delivered: Delivered,
): Promise<ExchangeJob> {
  const settings = settingsOf(deps);
  const watermark = finalWatermark(written, delivered.watermarkTo);
  const manifest: Manifest = {
    version: delivered.parts ? 2 : 1,
    jobId: written.id,
    resource: written.resource,
    resourceVersion: written.resourceVersion,
    grantId: written.grantId,
    consumer: written.consumer,
    items: written.items,
    ...(written.filter ? { filter: written.filter } : {}),
    kind: written.kind,
    format: written.format,
    rows: delivered.rows,
    ...(delivered.file ? { file: delivered.file } : {}),
    ...(delivered.parts ? { parts: delivered.parts } : {}),
    ...(watermark ? { watermark } : {}),
    encryption: {
      scheme: 'govshare-envelope-v1',
      recipientSerial: written.consumer.certSerial,
      // gm files name their national algorithms; intl manifests stay as they were (suite 1).
      ...(envelopeSuite(written) === 2 ? { algorithms: SUITE_ALGORITHMS[2] } : {}),
    },
    createdAt: written.createdAt,
    // Own use only; onward disclosure as the provider consented ([HB-S] 14; [HC-R] 37).
    useRestriction,
    // A package on a medium names the approval it was produced under ([HB-S] 16).
    ...(written.offlineRequest ? { offlineRequest: written.offlineRequest } : {}),
  };
  const now = nowOf(deps);
  const expiresAtMs = now + settings.fileTtlMs;
  const { checkpoint: _done, error: _error, ...rest } = written;
  const file = delivered.file;
  const job: ExchangeJob = {
    ...rest,
    ...(watermark ? { watermark } : {}),
    state: 'completed',
    progress: delivered.progress,
    completedAt: new Date(now).toISOString(),
    updatedAt: new Date(now).toISOString(),
    expiresAt: new Date(expiresAtMs).toISOString(),
    ...(file
      ? {
          file: {
            path: relativeFilePath(written.id, written.format),
            name: file.name,
            bytes: file.bytes,
            sha256: file.sha256,
          },
        }
      : {}),
    manifest: await signManifest(manifest, deps.platform),
  };
  // The record comes first, as on the data path: a job completed (its file downloadable) is always in the
  // trail. When the record cannot be written the job is not completed and the retry tries both again.
  await deps.audit(
    jobAudit(job, {
      action: 'exchange.complete',
      now,
      rowCount: delivered.rows,
      latencyMs: now - startedAt,
      detail: {
        bytes: delivered.bytes,
        ...(file ? { sha256: file.sha256 } : { parts: delivered.parts!.length }),
        ...(watermark ? { watermark } : {}),
      },
    }),
  );
  await store.finish(job, token, {
    expiresAtMs,
    ...(job.subscriptionId && watermark?.to !== undefined
      ? {
          watermark: {
            ...(written.watermark?.from === undefined ? {} : { from: written.watermark.from }),
            to: watermark.to,
          },
        }
      : {}),
  });
  return job;
}

/**
 * Ends a job that cannot go on (`final`: a permanent error, or the last retry failed): marked failed, its
 * partial file and sealed key deleted. Otherwise records the error and puts it back to queued for the
 * retry, keeping its checkpoint. Does nothing when another run owns the job now.
 */
export async function failExportJob(
  deps: ExchangeDeps,
  jobId: string,
  token: string,
  error: unknown,
  final: boolean,
): Promise<ExchangeJob | undefined> {
  const store = new ExchangeStore(deps.redis, deps.prefix);
  const job = await store.get(jobId);
  if (!job || TERMINAL.has(job.state)) return job;
  const now = nowOf(deps);
  const summary = errorSummary(error);
  const status = (error as { statusCode?: number }).statusCode ?? 500;
  const { checkpoint, ...rest } = job;
  const next: ExchangeJob = final
    ? { ...rest, state: 'failed', error: summary, updatedAt: new Date(now).toISOString() }
    : { ...job, state: 'queued', error: summary, updatedAt: new Date(now).toISOString() };
  try {
    if (final) await store.finish(next, token);
    else await store.saveOwned(next, token);
  } catch (e) {
    if ((e as { code?: string }).code === 'EXCHANGE_RUN_SUPERSEDED') return undefined;
    throw e;
  }
  if (final) {
    await rm(jobDir(settingsOf(deps).exchangeDir, jobId), { recursive: true, force: true });
    if (job.parts !== undefined) await store.dropParts(jobId, job.parts);
  }
  await deps.audit(
    jobAudit(next, {
      action: final ? 'exchange.fail' : 'exchange.interrupt',
      now,
      decision: summary.code.startsWith('EXCHANGE_') || status < 500 ? 'deny' : 'error',
      status,
      reasonCode: summary.code,
      rowCount: checkpoint?.rows ?? 0,
      detail: { message: summary.message, attempt: job.attempts },
    }),
  );
  return next;
}

/** The manifest watermark: `to` is the largest value read, never before `from` (nothing read: `from`). */
export function finalWatermark(job: ExchangeJob, largest: string | undefined): ExchangeJob['watermark'] {
  if (!job.watermark) return undefined;
  const { item, from } = job.watermark;
  const to = laterWatermark(from, largest);
  return { item, ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
}
