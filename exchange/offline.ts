/**
 * Offline (medium) exchange with approval, [HB-S] 16 (离线文件交换须经审批).
 *
 * A consumer department's administrator asks for a granted resource to be delivered on a medium, with a
 * reason from a closed list, the medium kind and the person who takes it over. The request is decided
 * like a bulk export (terms.ts: the grant in mode bulk, purpose, items, masking, data-use terms accepted,
 * a usable certificate of the system to encrypt for) and told at once to the provider department and the
 * bureau. The provider may object ([HB-S] 27: 谁提供谁负责); the bureau approves or refuses (a refusal
 * states its reason, an approval over an objection answers it). An approval is good for one package,
 * produced before the end of the `approvalWorkdays`-th working day after it (the working-day calendar).
 *
 * Only a live approval produces a package: the bureau orders it, the worker runs the ordinary exchange
 * runner (same terms decided again, masking, envelope encryption for the consumer's certificate, signed
 * manifest carrying the use restriction) with the offline outbox as its directory, then writes the
 * manifest beside the file (0600). The package is recorded as handed over (who, when, medium serial) and
 * the consumer confirms receipt, which deletes it from the outbox. Every other attempt to produce is
 * refused with OFFLINE_APPROVAL_REQUIRED and audited.
 *
 * Audit first, fail closed: each person's step passes its record and its notices to `beforeCommit`
 * (the route writes the audit record and commits the notices) before the change is stored, and a change
 * is stored only if the request is still as it was read (OFFLINE_STATE_CONFLICT otherwise).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ActorRef } from '../catalog/records.js';
import { effectiveStatus } from '../certs/registry.js';
import type { CertificateRecord } from '../certs/schema.js';
import { makeEvent } from '../policies/applications/events.js';
import type { EventType, WorkflowEvent } from '../policies/applications/schema.js';
import type { ExchangeAuditRecord, ExchangeDeps } from './deps.js';
import { nowOf } from './deps.js';
import { errorSummary, exchangeErrors } from './errors.js';
import type {
  OfflineDecisionBody,
  OfflineHandoverBody,
  OfflineRequest,
  OfflineRequestBody,
} from './offline-schema.js';
import { OFFLINE_ID_PATTERN } from './offline-schema.js';
import { OfflineStore } from './offline-store.js';
import { jobDir, newJobId } from './paths.js';
import { failExportJob, runExportJob } from './runner.js';
import { createJob } from './service.js';
import { ExchangeStore } from './store.js';
import { resolveTerms, usableCertificate } from './terms.js';

export interface OfflineDeps {
  /** The platform's exchange dependencies; the package is exported with them into `outboxDir`. */
  exchange: ExchangeDeps;
  certs: {
    getSystem(deptCode: string, systemId: string): Promise<unknown>;
    listCertificates(filter: { deptCode?: string }): Promise<CertificateRecord[]>;
  };
  /** Absolute directory the packages are written to (GOVSHARE_OFFLINE_OUTBOX). */
  outboxDir: string;
  /** Working days an approval stays good for (GOVSHARE_OFFLINE_APPROVAL_WORKDAYS). @defaultValue 10 */
  approvalWorkdays: number;
  /** The working-day calendar (policies/calendar). */
  calendar: { deadline(start: Date | number, workdays: number): { dueAt: Date } };
  /** Commits notices to the outbox and delivers them (inbox and webhooks). */
  announce(events: WorkflowEvent[]): Promise<void>;
  /** Queues the production of an approved request (the worker calls produceOfflinePackage). */
  enqueue(id: string): Promise<void>;
}

/** @defaultValue of GOVSHARE_OFFLINE_APPROVAL_WORKDAYS (see docs/conformance.md for the reasoning). */
export const DEFAULT_APPROVAL_WORKDAYS = 10;

/** What the route writes (the audit record) and commits (the notices) before a change is stored. */
export type BeforeCommit = (record: OfflineRequest, events: WorkflowEvent[]) => Promise<void>;

const BUREAU = 'bureau';
const ID = new RegExp(OFFLINE_ID_PATTERN);

const iso = (ms: number) => new Date(ms).toISOString();
const storeOf = (deps: OfflineDeps) => new OfflineStore(deps.exchange.redis, deps.exchange.prefix);

/** The exchange deps that write into the offline outbox instead of the download directory. */
function outboxDeps(deps: OfflineDeps): ExchangeDeps {
  return { ...deps.exchange, settings: { ...deps.exchange.settings, exchangeDir: deps.outboxDir } };
}

function notFound(id: string) {
  return new exchangeErrors.OFFLINE_REQUEST_NOT_FOUND(`no offline request ${id}`);
}

/** The consumer and the provider department, the bureau, and the auditors see a request. */
export function canSee(actor: ActorRef, request: OfflineRequest): boolean {
  if (actor.role === 'bureau' || actor.role === 'auditor') return true;
  return (
    actor.role === 'dept-admin' &&
    (actor.dept === request.consumer.deptCode || actor.dept === request.providerCode)
  );
}

/** A request as shown: an approval past its time reads as expired. */
export function offlineView(request: OfflineRequest, now: number): OfflineRequest {
  return request.state === 'approved' && !approvalLive(request, now)
    ? { ...request, state: 'expired' }
    : request;
}

function approvalLive(request: OfflineRequest, now: number): boolean {
  return (
    request.decision?.approved === true &&
    request.approvalExpiresAt !== undefined &&
    now < Date.parse(request.approvalExpiresAt)
  );
}

function event(type: EventType, request: OfflineRequest, at: number, recipients: string[]): WorkflowEvent {
  return makeEvent(type, new Date(at), recipients, {
    offlineId: request.id,
    state: request.state,
    resourceCode: request.resource,
    consumerDept: request.consumer.deptCode,
    systemId: request.consumer.systemId,
    providerDept: request.providerCode,
    grantId: request.grantId,
    medium: request.medium,
    ...(request.approvalExpiresAt ? { approvalExpiresAt: request.approvalExpiresAt } : {}),
    ...(request.decision?.reason ? { reason: request.decision.reason } : {}),
    ...(request.objection ? { objection: request.objection.reason } : {}),
    ...(request.handover ? { mediumSerial: request.handover.mediumSerial } : {}),
  });
}

const parties = (r: OfflineRequest) => [r.consumer.deptCode, r.providerCode];

/** The certificate the package is encrypted for: the one named, or the system's newest active one. */
async function recipientCertificate(
  deps: OfflineDeps,
  deptCode: string,
  systemId: string,
  serial: string | undefined,
  now: number,
): Promise<CertificateRecord> {
  if (!(await deps.certs.getSystem(deptCode, systemId))) {
    throw new exchangeErrors.OFFLINE_REQUEST_INVALID(
      `department ${deptCode} has no registered system "${systemId}"`,
    );
  }
  let chosen = serial;
  if (chosen === undefined) {
    const active = (await deps.certs.listCertificates({ deptCode }))
      .filter((c) => c.systemId === systemId && effectiveStatus(c, new Date(now)) === 'active')
      .sort((a, b) => b.issuedAt.localeCompare(a.issuedAt));
    chosen = active[0]?.serial;
    if (chosen === undefined) {
      throw new exchangeErrors.OFFLINE_REQUEST_INVALID(
        `system "${systemId}" has no active certificate to encrypt the package for: issue one first`,
      );
    }
  }
  try {
    return await usableCertificate(deps.exchange, { deptCode, systemId, certSerial: chosen }, now);
  } catch (error) {
    throw new exchangeErrors.OFFLINE_REQUEST_INVALID((error as Error).message);
  }
}

/**
 * A consumer department's request (its dept-admin, `actor`). Decided as a bulk export of the grant of
 * `body.systemId` would be; refusals are the same deny codes (GRANT_MISSING, PURPOSE_MISMATCH, …).
 */
export async function requestOffline(
  deps: OfflineDeps,
  actor: ActorRef,
  body: OfflineRequestBody,
  beforeCommit: BeforeCommit,
): Promise<OfflineRequest> {
  const now = nowOf(deps.exchange);
  const deptCode = actor.dept;
  if (actor.role !== 'dept-admin' || !deptCode) {
    throw new exchangeErrors.OFFLINE_REQUEST_INVALID(
      'an offline request is made by a department administrator',
    );
  }
  const cert = await recipientCertificate(deps, deptCode, body.systemId, body.certSerial, now);
  const terms = await resolveTerms(
    deps.exchange,
    { deptCode, systemId: body.systemId, serial: cert.serial },
    {
      resource: body.resource,
      ...(body.items ? { items: body.items } : {}),
      ...(body.filter ? { filter: body.filter } : {}),
      kind: 'full',
      purpose: body.purpose,
    },
    now,
  );
  const request: OfflineRequest = {
    id: `o${randomBytes(16).toString('hex')}`,
    consumer: { deptCode, systemId: body.systemId, certSerial: cert.serial },
    providerCode: terms.entry.provider.code,
    resource: body.resource,
    grantId: terms.grant.id,
    purpose: body.purpose,
    items: [...terms.obligations.items],
    ...(body.filter ? { filter: body.filter } : {}),
    format: body.format,
    reason: body.reason,
    medium: body.medium,
    contact: body.contact,
    state: 'requested',
    requestedBy: actor,
    requestedAt: iso(now),
    updatedAt: iso(now),
  };
  await beforeCommit(request, [event('offline.requested', request, now, [...parties(request), BUREAU])]);
  await storeOf(deps).create(request);
  return request;
}

/** One person's step: read (visible to them), compute the next record, write it first to the trail, store. */
async function step(
  deps: OfflineDeps,
  id: string,
  actor: ActorRef,
  next: (
    current: OfflineRequest,
    now: number,
  ) => Promise<{ record: OfflineRequest; events: WorkflowEvent[] }>,
  beforeCommit: BeforeCommit,
): Promise<OfflineRequest> {
  if (!ID.test(id)) throw notFound(id);
  const store = storeOf(deps);
  const current = await store.get(id);
  if (!current || !canSee(actor, current)) throw notFound(id);
  const now = nowOf(deps.exchange);
  const { record, events } = await next(current, now);
  await beforeCommit(record, events);
  const changed = await store.change(id, (stored) => {
    if (JSON.stringify(stored) !== JSON.stringify(current)) {
      throw new exchangeErrors.OFFLINE_STATE_CONFLICT(
        `offline request ${id} changed while this step was taken: read it again`,
      );
    }
    return record;
  });
  if (!changed) throw notFound(id);
  return record;
}

function requireState(
  request: OfflineRequest,
  now: number,
  allowed: OfflineRequest['state'][],
  what: string,
) {
  const state = offlineView(request, now).state;
  if (!allowed.includes(state)) {
    throw new exchangeErrors.OFFLINE_STATE_CONFLICT(
      `offline request ${request.id} is ${state}: ${what} needs it ${allowed.join(' or ')}`,
    );
  }
}

/** The provider department objects before the bureau decides (once). */
export function objectOffline(
  deps: OfflineDeps,
  id: string,
  actor: ActorRef,
  reason: string,
  beforeCommit: BeforeCommit,
): Promise<OfflineRequest> {
  return step(
    deps,
    id,
    actor,
    async (current, now) => {
      if (actor.role !== 'dept-admin' || actor.dept !== current.providerCode) throw notFound(id);
      requireState(current, now, ['requested'], 'an objection');
      if (current.objection) {
        throw new exchangeErrors.OFFLINE_STATE_CONFLICT(`the provider objected to ${id} already`);
      }
      const record: OfflineRequest = {
        ...current,
        objection: { by: actor, at: iso(now), reason },
        updatedAt: iso(now),
      };
      return { record, events: [event('offline.objected', record, now, [...parties(record), BUREAU])] };
    },
    beforeCommit,
  );
}

/**
 * The bureau approves (for one package, until the end of the approval's last working day) or refuses
 * with a reason. The grant is decided again: an approval is never given on a grant that lapsed.
 */
export function decideOffline(
  deps: OfflineDeps,
  id: string,
  actor: ActorRef,
  body: OfflineDecisionBody,
  beforeCommit: BeforeCommit,
): Promise<OfflineRequest> {
  return step(
    deps,
    id,
    actor,
    async (current, now) => {
      if (actor.role !== 'bureau') throw notFound(id);
      requireState(current, now, ['requested'], 'a decision');
      if (!body.approve && !body.reason) {
        throw new exchangeErrors.OFFLINE_DECISION_INVALID('a refusal states its reason in `reason`');
      }
      if (body.approve && current.objection && !body.answer) {
        throw new exchangeErrors.OFFLINE_DECISION_INVALID(
          `the provider objected ("${current.objection.reason}"): an approval answers the objection in \`answer\``,
        );
      }
      if (body.approve) await checkTerms(deps, current, now);
      const decision = {
        by: actor,
        at: iso(now),
        approved: body.approve,
        ...(body.reason ? { reason: body.reason } : {}),
        ...(body.answer ? { answer: body.answer } : {}),
      };
      const record: OfflineRequest = {
        ...current,
        state: body.approve ? 'approved' : 'refused',
        decision,
        ...(body.approve
          ? { approvalExpiresAt: deps.calendar.deadline(now, deps.approvalWorkdays).dueAt.toISOString() }
          : {}),
        updatedAt: iso(now),
      };
      const type = body.approve ? 'offline.approved' : 'offline.refused';
      return { record, events: [event(type, record, now, parties(record))] };
    },
    beforeCommit,
  );
}

/** The request's own grant and terms, decided again now. */
async function checkTerms(deps: OfflineDeps, request: OfflineRequest, now: number): Promise<void> {
  await resolveTerms(
    deps.exchange,
    {
      deptCode: request.consumer.deptCode,
      systemId: request.consumer.systemId,
      serial: request.consumer.certSerial,
    },
    {
      resource: request.resource,
      items: request.items,
      ...(request.filter ? { filter: request.filter } : {}),
      kind: 'full',
      purpose: request.purpose,
      grantId: request.grantId,
    },
    now,
  );
}

/** The consumer department withdraws its request before a package is produced. */
export function withdrawOffline(
  deps: OfflineDeps,
  id: string,
  actor: ActorRef,
  beforeCommit: BeforeCommit,
): Promise<OfflineRequest> {
  return step(
    deps,
    id,
    actor,
    async (current, now) => {
      if (actor.role !== 'dept-admin' || actor.dept !== current.consumer.deptCode) throw notFound(id);
      requireState(current, now, ['requested', 'approved'], 'a withdrawal');
      const record: OfflineRequest = { ...current, state: 'withdrawn', updatedAt: iso(now) };
      return { record, events: [event('offline.withdrawn', record, now, [...parties(record), BUREAU])] };
    },
    beforeCommit,
  );
}

/**
 * Why a package may not be produced now, or undefined when the approval is live and unused. A request
 * ordered already (`producing`) may be ordered again while it has no package: the same job resumes.
 */
export function productionRefusal(request: OfflineRequest, now: number): string | undefined {
  if (request.state === 'producing' && !request.package) return undefined;
  if (request.state === 'approved' && approvalLive(request, now)) return undefined;
  if (request.state === 'approved') {
    return `the approval of offline request ${request.id} expired at ${request.approvalExpiresAt}: request the delivery again`;
  }
  if (request.state === 'requested') return `offline request ${request.id} is not approved yet`;
  if (['produced', 'handed-over', 'received'].includes(request.state)) {
    return `the approval of offline request ${request.id} was used for its one package already`;
  }
  return `offline request ${request.id} is ${request.state}: nothing may be produced under it`;
}

/**
 * The bureau orders the package of an approved request: the approval is taken (one delivery) and the
 * production queued. Throws OFFLINE_APPROVAL_REQUIRED, after `onRefused` recorded the attempt, when the
 * approval is not live.
 */
export async function orderOfflinePackage(
  deps: OfflineDeps,
  id: string,
  actor: ActorRef,
  beforeCommit: BeforeCommit,
  onRefused: (request: OfflineRequest, why: string) => Promise<void>,
): Promise<OfflineRequest> {
  const ordered = await step(
    deps,
    id,
    actor,
    async (current, now) => {
      if (actor.role !== 'bureau') throw notFound(id);
      const why = productionRefusal(current, now);
      if (why) {
        await onRefused(current, why);
        throw new exchangeErrors.OFFLINE_APPROVAL_REQUIRED(why);
      }
      if (current.state === 'producing') return { record: current, events: [] };
      const record: OfflineRequest = {
        ...current,
        state: 'producing',
        production: { by: actor, at: iso(now), jobId: newJobId() },
        updatedAt: iso(now),
      };
      return { record, events: [event('offline.ordered', record, now, parties(record))] };
    },
    beforeCommit,
  );
  await deps.enqueue(id);
  return ordered;
}

/** An audit record of the worker's part (kind exchange, the offline id as request id). */
function workerAudit(
  request: OfflineRequest,
  fields: {
    action: 'offline.produce';
    now: number;
    decision?: ExchangeAuditRecord['decision'];
    status?: number;
    reasonCode?: string;
    rowCount?: number;
    detail?: Record<string, unknown>;
  },
): ExchangeAuditRecord {
  return {
    time: iso(fields.now),
    requestId: request.id,
    kind: 'exchange',
    actor: {
      deptCode: request.consumer.deptCode,
      systemId: request.consumer.systemId,
      certSerial: request.consumer.certSerial,
      userId: request.requestedBy.name.slice(0, 128),
    },
    action: fields.action,
    resource: request.resource,
    providerDept: request.providerCode,
    grantId: request.grantId,
    purpose: request.purpose,
    items: [...request.items],
    ...(fields.rowCount === undefined ? {} : { rowCount: fields.rowCount }),
    decision: fields.decision ?? 'allow',
    ...(fields.reasonCode ? { reasonCode: fields.reasonCode } : {}),
    status: fields.status ?? 200,
    latencyMs: 0,
    detail: {
      offlineId: request.id,
      medium: request.medium,
      ...(request.production ? { jobId: request.production.jobId } : {}),
      ...fields.detail,
    },
  };
}

/**
 * The worker's run: produces (or resumes) the package of a request ordered under a live approval, through
 * the exchange runner into the outbox. Anything else is refused with OFFLINE_APPROVAL_REQUIRED and
 * audited; a request whose package exists already is returned as it is (idempotent).
 */
export async function produceOfflinePackage(deps: OfflineDeps, id: string): Promise<OfflineRequest> {
  if (!ID.test(id)) throw notFound(id);
  const store = storeOf(deps);
  const request = await store.get(id);
  if (!request) throw notFound(id);
  if (request.package) return request;
  const now = nowOf(deps.exchange);
  const jobs = new ExchangeStore(deps.exchange.redis, deps.exchange.prefix);
  const jobId = request.production?.jobId;
  const started = jobId !== undefined && (await jobs.get(jobId)) !== undefined;
  // An order taken under a live approval, not started before the approval ran out.
  const refusal =
    request.state !== 'producing' || !jobId
      ? (productionRefusal(request, now) ?? `offline request ${id} was not ordered by the bureau`)
      : !started && !approvalLive(request, now)
        ? `the approval of offline request ${id} expired at ${request.approvalExpiresAt} before its package was started`
        : undefined;
  if (refusal) {
    await deps.exchange.audit(
      workerAudit(request, {
        action: 'offline.produce',
        now,
        decision: 'deny',
        status: 403,
        reasonCode: 'OFFLINE_APPROVAL_REQUIRED',
        detail: { message: refusal },
      }),
    );
    throw new exchangeErrors.OFFLINE_APPROVAL_REQUIRED(refusal);
  }
  const outbox = outboxDeps(deps);
  if (!started) {
    await createJob(outbox, {
      id: jobId!,
      consumer: {
        ...request.consumer,
        userId: request.requestedBy.name.slice(0, 256),
      },
      purpose: request.purpose,
      resource: request.resource,
      items: request.items,
      ...(request.filter ? { filter: request.filter } : {}),
      kind: 'full',
      format: request.format,
      grantId: request.grantId,
      offlineRequest: id,
    });
  }
  const job = await runExportJob(outbox, jobId!);
  if (job.state !== 'completed' || !job.file || !job.manifest) {
    // The job ended without a file (failed, or expired by a sweep): the request fails with its reason.
    const error = Object.assign(new Error(job.error?.message ?? `the package job is ${job.state}`), {
      code: job.error?.code ?? 'EXCHANGE_JOB_NOT_READY',
    });
    await failOfflinePackage(deps, id, error);
    return (await store.get(id)) ?? request;
  }
  // The manifest goes on the medium beside the file: the consumer checks the file against it offline.
  const dir = jobDir(deps.outboxDir, job.id);
  const manifestBytes = Buffer.from(`${JSON.stringify(job.manifest, null, 2)}\n`, 'utf8');
  await writeFile(join(dir, 'manifest.json'), manifestBytes, { mode: 0o600 });
  const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
  const manifestOnDisk = await readFile(join(dir, 'manifest.json'));
  const done = nowOf(deps.exchange);
  const files = [
    { name: job.file.name, bytes: job.file.bytes, sha256: job.file.sha256 },
    { name: 'manifest.json', bytes: manifestOnDisk.length, sha256: sha(manifestOnDisk) },
  ];
  const produced: OfflineRequest = {
    ...request,
    state: 'produced',
    package: { directory: job.id, files, rows: job.progress.rows, producedAt: iso(done) },
    updatedAt: iso(done),
  };
  // Recorded and announced before the package is shown as ready; a failure retries the whole step.
  await deps.exchange.audit(
    workerAudit(produced, {
      action: 'offline.produce',
      now: done,
      status: 201,
      rowCount: job.progress.rows,
      detail: { files },
    }),
  );
  await deps.announce([event('offline.produced', produced, done, [...parties(produced), BUREAU])]);
  const changed = await store.change(id, (current) => (current.package ? undefined : produced));
  return changed?.after ?? produced;
}

/** A production that cannot go on: its job failed, the request failed, both departments told. */
export async function failOfflinePackage(deps: OfflineDeps, id: string, error: unknown): Promise<void> {
  if (!ID.test(id)) return;
  const store = storeOf(deps);
  const request = await store.get(id);
  if (request?.state !== 'producing' || request.package) return;
  const jobId = request.production?.jobId;
  const outbox = outboxDeps(deps);
  if (jobId) {
    const owner = await new ExchangeStore(deps.exchange.redis, deps.exchange.prefix).ownerToken(jobId);
    await failExportJob(outbox, jobId, owner, error, true);
  }
  const now = nowOf(deps.exchange);
  const failed: OfflineRequest = {
    ...request,
    state: 'failed',
    error: errorSummary(error),
    updatedAt: iso(now),
  };
  await deps.announce([event('offline.failed', failed, now, [...parties(failed), BUREAU])]);
  await store.change(id, (current) =>
    current.state === 'producing' && !current.package ? failed : undefined,
  );
}

/** The bureau records the hand-over of the medium: who took it, when, the medium's serial. */
export function handOverOffline(
  deps: OfflineDeps,
  id: string,
  actor: ActorRef,
  body: OfflineHandoverBody,
  beforeCommit: BeforeCommit,
): Promise<OfflineRequest> {
  return step(
    deps,
    id,
    actor,
    async (current, now) => {
      if (actor.role !== 'bureau') throw notFound(id);
      requireState(current, now, ['produced'], 'a hand-over');
      const record: OfflineRequest = {
        ...current,
        state: 'handed-over',
        handover: { by: actor, at: iso(now), mediumSerial: body.mediumSerial, handedTo: body.handedTo },
        updatedAt: iso(now),
      };
      return { record, events: [event('offline.handed-over', record, now, parties(record))] };
    },
    beforeCommit,
  );
}

/** The consumer department confirms receipt; the package leaves the outbox. */
export async function confirmOfflineReceipt(
  deps: OfflineDeps,
  id: string,
  actor: ActorRef,
  note: string | undefined,
  beforeCommit: BeforeCommit,
): Promise<OfflineRequest> {
  const received = await step(
    deps,
    id,
    actor,
    async (current, now) => {
      if (actor.role !== 'dept-admin' || actor.dept !== current.consumer.deptCode) throw notFound(id);
      requireState(current, now, ['handed-over'], 'a receipt');
      const record: OfflineRequest = {
        ...current,
        state: 'received',
        receipt: { by: actor, at: iso(now), note: note ?? '' },
        updatedAt: iso(now),
      };
      return { record, events: [event('offline.received', record, now, [...parties(record), BUREAU])] };
    },
    beforeCommit,
  );
  if (received.package) {
    await rm(jobDir(deps.outboxDir, received.package.directory), { recursive: true, force: true });
  }
  return received;
}

/** One request, if `actor` may see it. */
export async function getOffline(deps: OfflineDeps, id: string, actor: ActorRef): Promise<OfflineRequest> {
  if (!ID.test(id)) throw notFound(id);
  const request = await storeOf(deps).get(id);
  if (!request || !canSee(actor, request)) throw notFound(id);
  return offlineView(request, nowOf(deps.exchange));
}

/** The requests `actor` may see, newest first; a dept-admin's as consumer or as provider. */
export async function listOffline(
  deps: OfflineDeps,
  actor: ActorRef,
  filter: { state?: OfflineRequest['state']; dept?: string },
  limit: number,
): Promise<OfflineRequest[]> {
  const now = nowOf(deps.exchange);
  const list = await storeOf(deps).list((r) => {
    if (!canSee(actor, r)) return false;
    if (filter.dept && r.consumer.deptCode !== filter.dept && r.providerCode !== filter.dept) return false;
    return filter.state === undefined || offlineView(r, now).state === filter.state;
  }, limit);
  return list.map((r) => offlineView(r, now));
}
