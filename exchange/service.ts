/**
 * What the exchange routes call. A consumer system submits a job (decided in mode bulk against its own
 * grant, encrypted for the certificate that signed the request), follows it, and downloads its file.
 * Only the job's own system (department + system) sees a job: for anyone else it does not exist (404),
 * so job ids reveal nothing.
 */
import { stat } from 'node:fs/promises';
import { createEnvelope } from '../certs/envelope.js';
import type { Caller } from '../policies/decide.js';
import { denyErrors } from '../policies/errors.js';
import { jobAudit } from './audit.js';
import { type ExchangeDeps, nowOf, settingsOf } from './deps.js';
import { errorSummary, exchangeErrors } from './errors.js';
import { KeyVault } from './key-vault.js';
import { assertJobId, fileName, jobFilePath, newJobId, partFilePath } from './paths.js';
import {
  checkJobRequest,
  type ExchangeConsumer,
  type ExchangeFilter,
  type ExchangeFormat,
  type ExchangeJob,
  type ExchangeJobRequest,
  type ExchangeJobView,
  type ExchangeKind,
} from './schema.js';
import { ExchangeStore } from './store.js';
import { resolveTerms, usableCertificate } from './terms.js';

export interface SubmitContext {
  /** The x-purpose of the signed request. */
  purpose: string;
  /** The request id, for the audit record. */
  requestId?: string;
  /**
   * The signed x-user-id: the official acting through the system, recorded on the job, its audit records
   * and its manifest. Required unless the grant is machine-to-machine and the platform allows it.
   */
  userId?: string;
}

/** Everything a new job is made of, whether a consumer posted it or a subscription's schedule fired. */
export interface NewJob {
  consumer: ExchangeConsumer;
  purpose: string;
  resource: string;
  items?: string[];
  filter?: ExchangeFilter;
  kind: ExchangeKind;
  format: ExchangeFormat;
  since?: string;
  subscriptionId?: string;
  /** Pin the job to this grant (a subscription's); the consumer's current grant when absent. */
  grantId?: string;
  /** The failed job this one retries. */
  retryOf?: string;
  /** The new job's id (a retry claims it on the failed job first); a fresh one when absent. */
  id?: string;
  /**
   * The approved offline request the job produces a package for (offline.ts): not queued, the offline
   * worker runs it into the outbox itself, and it is never downloaded.
   */
  offlineRequest?: string;
}

/** Checks a submission, stores the job (queued) and enqueues it. Throws deny / EXCHANGE_* errors. */
export async function submitExchangeJob(
  deps: ExchangeDeps,
  caller: Caller,
  request: unknown,
  context: SubmitContext,
): Promise<ExchangeJob> {
  if (!checkJobRequest.Check(request)) {
    const first = checkJobRequest.Errors(request).First();
    throw new exchangeErrors.EXCHANGE_REQUEST_INVALID(
      `exchange job request${first?.path ?? ''}: ${first?.message ?? 'invalid'}`,
    );
  }
  const body = request as ExchangeJobRequest;
  if (body.since !== undefined && body.kind !== 'incremental') {
    throw new exchangeErrors.EXCHANGE_REQUEST_INVALID('since applies to incremental jobs only');
  }
  return createJob(
    deps,
    {
      consumer: {
        deptCode: caller.deptCode,
        systemId: caller.systemId,
        certSerial: caller.serial,
        ...(context.userId ? { userId: context.userId } : {}),
      },
      purpose: context.purpose,
      resource: body.resource,
      ...(body.items ? { items: body.items } : {}),
      ...(body.filter ? { filter: body.filter } : {}),
      kind: body.kind,
      format: body.format,
      ...(body.since === undefined ? {} : { since: body.since }),
    },
    context.requestId,
  );
}

export async function createJob(deps: ExchangeDeps, input: NewJob, requestId?: string): Promise<ExchangeJob> {
  const started = nowOf(deps);
  const settings = settingsOf(deps);
  const caller: Caller = {
    deptCode: input.consumer.deptCode,
    systemId: input.consumer.systemId,
    serial: input.consumer.certSerial,
  };
  const id = input.id ?? newJobId();
  const draft = {
    id,
    consumer: input.consumer,
    resource: input.resource,
    grantId: input.grantId ?? '',
    purpose: input.purpose,
    items: input.items ?? [],
    kind: input.kind,
    format: input.format,
    ...(input.subscriptionId ? { subscriptionId: input.subscriptionId } : {}),
    ...(input.retryOf ? { retryOf: input.retryOf } : {}),
    ...(input.offlineRequest ? { offlineRequest: input.offlineRequest } : {}),
  };
  let job: ExchangeJob;
  try {
    const terms = await resolveTerms(
      deps,
      caller,
      {
        resource: input.resource,
        ...(input.items ? { items: input.items } : {}),
        ...(input.filter ? { filter: input.filter } : {}),
        kind: input.kind,
        purpose: input.purpose,
        ...(input.grantId ? { grantId: input.grantId } : {}),
        ...(input.kind === 'incremental' && input.since !== undefined ? { since: input.since } : {}),
        // A scheduled run of a subscription acts for the official who subscribed.
        actingUser: { userId: input.consumer.userId, machineCallsAllowed: deps.machineCallsAllowed === true },
      },
      started,
    );
    draft.grantId = terms.grant.id;
    draft.items = [...terms.obligations.items];
    const cert = await usableCertificate(deps, input.consumer, started);
    const envelope = createEnvelope(
      { certPem: cert.certPem, serial: cert.serial },
      { chunkSize: settings.chunkSize },
    );
    const createdAt = new Date(started).toISOString();
    const watermarkItem = terms.service.watermark;
    job = {
      ...draft,
      resourceVersion: terms.resourceVersion,
      providerCode: terms.entry.provider.code,
      ...(input.filter ? { filter: input.filter } : {}),
      ...(watermarkItem
        ? {
            watermark: {
              item: watermarkItem,
              ...(input.kind === 'incremental' && input.since !== undefined ? { from: input.since } : {}),
            },
          }
        : {}),
      state: 'queued',
      progress: { rows: 0, scanned: 0, pagesDone: 0, segments: 0 },
      attempts: 0,
      createdAt,
      updatedAt: createdAt,
      envelopeHeader: envelope.headerBytes.toString('base64'),
    };
    const store = new ExchangeStore(deps.redis, deps.prefix);
    await store.create(job, new KeyVault(deps.platform.subjectHmacKey).seal(id, envelope.dataKey));
  } catch (error) {
    const e = error as { code?: string; statusCode?: number };
    if (typeof e.code === 'string') {
      await deps.audit(
        jobAudit(draft, {
          action: 'exchange.submit',
          now: nowOf(deps),
          decision: 'deny',
          status: e.statusCode ?? 500,
          reasonCode: e.code,
          latencyMs: nowOf(deps) - started,
          ...(requestId ? { requestId } : {}),
        }),
      );
    }
    throw error;
  }
  try {
    // A job that could not be recorded never runs: nothing is exported unaudited.
    await deps.audit(
      jobAudit(job, {
        action: 'exchange.submit',
        now: nowOf(deps),
        status: 202,
        latencyMs: nowOf(deps) - started,
        ...(requestId ? { requestId } : {}),
        detail: {
          resourceVersion: job.resourceVersion,
          ...(job.filter ? { filter: job.filter } : {}),
          ...(job.offlineRequest ? { offlineRequest: job.offlineRequest } : {}),
        },
      }),
    );
    if (!job.offlineRequest) await deps.queue.enqueue(id);
  } catch (error) {
    // Not left queued forever: the consumer sees why and submits again.
    const failedAt = new Date(nowOf(deps)).toISOString();
    const store = new ExchangeStore(deps.redis, deps.prefix);
    await store.change(id, (j) =>
      j.state === 'queued'
        ? { ...j, state: 'failed', error: errorSummary(error), updatedAt: failedAt }
        : undefined,
    );
    await store.dropSealedKey(id);
    throw error;
  }
  return job;
}

/**
 * Retries a failed job as a new one with the same request (resource, items, filter, kind, format, the
 * since of an incremental job, a subscription's pinned grant), decided again now against the grant, the
 * catalog and the consumer's certificate, and encrypted for that certificate. Only the job's consumer
 * department (`dept`) or the bureau (`dept` undefined) may: for anyone else the job does not exist. The
 * failed job records its retry, so it is retried once (EXCHANGE_JOB_NOT_FAILED after).
 */
export async function retryExchangeJob(
  deps: ExchangeDeps,
  failedId: string,
  by: { dept: string | undefined },
  requestId?: string,
): Promise<ExchangeJob> {
  assertJobId(failedId);
  const store = new ExchangeStore(deps.redis, deps.prefix);
  const failed = await store.get(failedId);
  if (!failed || (by.dept !== undefined && failed.consumer.deptCode !== by.dept)) {
    throw new exchangeErrors.EXCHANGE_JOB_NOT_FOUND(`no exchange job ${failedId}`);
  }
  if (failed.offlineRequest) {
    throw new exchangeErrors.EXCHANGE_JOB_OFFLINE(
      `job ${failedId} was the package of offline request ${failed.offlineRequest}: a new package needs a new approved request`,
    );
  }
  if (failed.state !== 'failed' || failed.retriedBy) {
    const why = failed.retriedBy ? `was retried already as ${failed.retriedBy}` : `is ${failed.state}`;
    throw new exchangeErrors.EXCHANGE_JOB_NOT_FAILED(`job ${failedId} ${why}: only a failed job is retried`);
  }
  // Claimed first, so two people retrying at once make one new job; released when the retry is refused.
  const id = newJobId();
  const claimed = await store.change(failed.id, (j) =>
    j.state === 'failed' && !j.retriedBy ? { ...j, retriedBy: id } : undefined,
  );
  if (claimed?.retriedBy !== id) {
    throw new exchangeErrors.EXCHANGE_JOB_NOT_FAILED(
      `job ${failedId} was retried already: only a failed job is retried`,
    );
  }
  const since = failed.kind === 'incremental' ? failed.watermark?.from : undefined;
  let retry: ExchangeJob;
  try {
    retry = await createJob(
      deps,
      {
        id,
        consumer: failed.consumer,
        purpose: failed.purpose,
        resource: failed.resource,
        items: failed.items,
        ...(failed.filter ? { filter: failed.filter } : {}),
        kind: failed.kind,
        format: failed.format,
        ...(since === undefined ? {} : { since }),
        ...(failed.subscriptionId ? { subscriptionId: failed.subscriptionId, grantId: failed.grantId } : {}),
        retryOf: failed.id,
      },
      requestId,
    );
  } catch (error) {
    await store.change(failed.id, (j) => {
      if (j.retriedBy !== id) return undefined;
      const { retriedBy: _retriedBy, ...rest } = j;
      return rest;
    });
    throw error;
  }
  return retry;
}

const visibleTo = (job: ExchangeJob, caller: Pick<Caller, 'deptCode' | 'systemId'>) =>
  job.consumer.deptCode === caller.deptCode && job.consumer.systemId === caller.systemId;

/** The job, if it is the caller's own; EXCHANGE_JOB_NOT_FOUND otherwise (whether or not it exists). */
export async function getJobForCaller(
  deps: Pick<ExchangeDeps, 'redis' | 'prefix'>,
  caller: Pick<Caller, 'deptCode' | 'systemId'>,
  id: string,
): Promise<ExchangeJob> {
  assertJobId(id);
  const job = await new ExchangeStore(deps.redis, deps.prefix).get(id);
  if (!job || !visibleTo(job, caller))
    throw new exchangeErrors.EXCHANGE_JOB_NOT_FOUND(`no exchange job ${id}`);
  return job;
}

/** The caller's jobs, newest first. */
export async function listJobsForCaller(
  deps: Pick<ExchangeDeps, 'redis' | 'prefix'>,
  caller: Pick<Caller, 'deptCode' | 'systemId'>,
  limit = 50,
): Promise<ExchangeJob[]> {
  const jobs = await new ExchangeStore(deps.redis, deps.prefix).listForConsumer(
    caller.deptCode,
    caller.systemId,
    Math.min(Math.max(1, limit), 500),
  );
  return jobs.filter((job) => visibleTo(job, caller));
}

export interface JobFile {
  /** Absolute path to stream from (Range requests: byte offsets into it). */
  path: string;
  name: string;
  bytes: number;
  sha256: string;
  job: ExchangeJob;
}

/**
 * The finished file of the caller's job. EXCHANGE_JOB_NOT_FOUND (not the caller's), USER_ID_REQUIRED (no
 * acting official named, unless the job's grant is machine-to-machine and the platform allows it),
 * EXCHANGE_JOB_NOT_READY (queued, running or failed), EXCHANGE_FILE_EXPIRED (expired or gone from disk).
 */
export async function openJobFileForCaller(
  deps: Pick<ExchangeDeps, 'redis' | 'prefix' | 'settings' | 'grants' | 'machineCallsAllowed'>,
  caller: Pick<Caller, 'deptCode' | 'systemId'> & { userId?: string },
  id: string,
  part?: number,
): Promise<JobFile> {
  const job = await getJobForCaller(deps, caller, id);
  if (job.offlineRequest) {
    throw new exchangeErrors.EXCHANGE_JOB_OFFLINE(
      `job ${id} produced the package of offline request ${job.offlineRequest}: it is handed over on a medium, not downloaded`,
    );
  }
  await checkActingOfficial(deps, caller.userId, job);
  if (job.state === 'expired') {
    throw new exchangeErrors.EXCHANGE_FILE_EXPIRED(
      `the file of job ${id} expired at ${job.expiresAt}; submit a new job`,
    );
  }
  const parts = job.manifest?.manifest.parts;
  if (job.state !== 'completed' || (!job.file && !parts)) {
    const why = job.state === 'failed' ? `failed (${job.error?.code ?? 'unknown'})` : `is ${job.state}`;
    throw new exchangeErrors.EXCHANGE_JOB_NOT_READY(`job ${id} ${why}: there is no file to download`);
  }
  // A job in parts is downloaded part by part; a job of one file has no parts.
  if (parts || part !== undefined) {
    const listed = part === undefined ? undefined : parts?.[part];
    if (!listed) {
      throw new exchangeErrors.EXCHANGE_PART_NOT_FOUND(
        parts
          ? `job ${id} is in ${parts.length} parts: download /parts/0/file to /parts/${parts.length - 1}/file`
          : `job ${id} is one file: download /file`,
      );
    }
    const path = partFilePath(settingsOf(deps).exchangeDir, job.id, job.format, listed.index);
    const size = await stat(path).then(
      (s) => s.size,
      () => -1,
    );
    if (size !== listed.bytes) {
      throw new exchangeErrors.EXCHANGE_FILE_EXPIRED(
        `part ${listed.index} of job ${id} is no longer available; submit a new job`,
      );
    }
    return { path, name: listed.name, bytes: listed.bytes, sha256: listed.sha256, job };
  }
  if (!job.file) throw new exchangeErrors.EXCHANGE_JOB_NOT_READY(`job ${id} has no file to download`);
  const path = jobFilePath(settingsOf(deps).exchangeDir, job.id, job.format);
  const size = await stat(path).then(
    (s) => s.size,
    () => -1,
  );
  if (size !== job.file.bytes) {
    throw new exchangeErrors.EXCHANGE_FILE_EXPIRED(
      `the file of job ${id} is no longer available; submit a new job`,
    );
  }
  return { path, name: fileName(job.format), bytes: job.file.bytes, sha256: job.file.sha256, job };
}

/** A download releases the data to a person: it names them, as a data call does ([HC-R] 41, 44). */
async function checkActingOfficial(
  deps: Pick<ExchangeDeps, 'grants' | 'machineCallsAllowed'>,
  userId: string | undefined,
  job: ExchangeJob,
): Promise<void> {
  if (userId) return;
  if (deps.machineCallsAllowed === true && (await deps.grants.get(job.grantId))?.machineToMachine === true) {
    return;
  }
  throw new denyErrors.USER_ID_REQUIRED(
    'name the official acting through the system in a signed x-user-id header (e.g. a staff number); ' +
      'every download of a bulk file is attributed to a person',
  );
}

/** The job as a consumer sees it: without the checkpoint (provider cursors) and the envelope header. */
export function jobView(job: ExchangeJob): ExchangeJobView {
  const { checkpoint: _checkpoint, envelopeHeader: _header, ...view } = job;
  return view;
}
