/**
 * The data path as named steps: resolve the entry and the grant → decide → admit (the signature's nonce
 * and the quota, one Redis round trip) → fetch through the connector → validate rows → apply obligations
 * → audit → respond (signed when asked). Every outcome, allowed or refused, leaves one audit record
 * before the answer does; if that record cannot be written, the answer is 503 and no data leaves.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditRecord } from '../../audit/record.js';
import { subjectHash } from '../../audit/subject.js';
import type { AuditWriter, Tally } from '../../audit/writer.js';
import { rowValidator } from '../../catalog/item-schema.js';
import type { PublishedEntry } from '../../catalog/records.js';
import { parseAcceptSignature, SigReplay, signResponse } from '../../certs/httpsig/index.js';
import type { Signer } from '../../certs/signer.js';
import { type ConnectorRegistry, serviceShape } from '../../connectors/registry.js';
import type { Row } from '../../connectors/types.js';
import { checkOriginDepartment } from '../../federation/origin.js';
import type { AdmissionGate } from '../../policies/admission.js';
import { decide } from '../../policies/decide.js';
import { denyError, denyErrors } from '../../policies/errors.js';
import type { Grant } from '../../policies/grant.js';
import { applyObligations, type Obligations } from '../../policies/obligations.js';
import { ONWARD_HEADER, onwardDisclosureHeader } from '../../policies/onward.js';
import { checkUseTerms } from '../../policies/use-terms.js';
import { gatewayErrors } from '../app/errors.js';
import { bindRequestLog } from '../app/request-log.js';
import type { GrantCache, ResourceCache } from './caches.js';
import { type Caller, callerActor } from './caller.js';

export interface DataPathDeps {
  resources: ResourceCache;
  grants: GrantCache;
  /** Nonce and quota in one round trip (the signed-calls plugin leaves data calls' nonces to it). */
  admission: AdmissionGate;
  connectors: ConnectorRegistry;
  audit: AuditWriter;
  subjectSecret: Buffer;
  /** The platform's signer and its certificate serial (lowercase hex), for response signatures. */
  signing: { signer: Signer; keyId: string };
  now: () => Date;
  /**
   * The data-use terms a consumer department must have accepted ([XY] 25, 33): the acceptances, and
   * whether every resource must carry terms (GOVSHARE_REQUIRE_USE_TERMS). No check when absent.
   */
  useTerms?: {
    acceptedVersion(deptCode: string, resourceCode: string, current: string): Promise<string | undefined>;
    required: boolean;
  };
  /** GOVSHARE_MACHINE_CALLS: grants marked machineToMachine may be called without x-user-id. */
  machineCallsAllowed?: boolean;
  /**
   * A department as registered here (its home platform when it is a federated peer's), for calls a peer
   * forwards for one of its departments; without it such calls are decided on the peer's grant only.
   */
  department?: (code: string) => Promise<{ homePlatform?: string } | null>;
  /** Step timings for metrics (seconds). */
  observe?: (step: 'policy' | 'connector' | 'audit', seconds: number) => void;
  /**
   * The bureau's call statistics: the counter a call adds to, counted with its audit record (no count
   * when none); optional so the data path does not depend on statistics.
   */
  callTally?: (call: {
    consumerDept: string;
    providerDept: string;
    resource: string;
    decision: 'allow' | 'deny' | 'error';
    reasonCode?: string;
  }) => Tally | undefined;
}

export interface DataQuery {
  code: string;
  /** The item the keys are values of; the resource's key item when omitted. */
  keyItem?: string;
  keys: string[];
  items?: string[];
  /** Extra equality conditions (e.g. control parameters besides the key). */
  conditions: Record<string, string>;
  action: 'data.lookup' | 'data.query' | 'data.federated';
  /**
   * A rule of the route checked first, inside the audited path (e.g. that a federation agreement offers
   * the resource); it throws the refusal.
   */
  admitRoute?: (code: string) => void;
}

interface Outcome {
  entry?: PublishedEntry;
  grant?: Grant;
  obligations?: Obligations;
  rowCount?: number;
}

export async function serveData(
  request: FastifyRequest,
  reply: FastifyReply,
  query: DataQuery,
  deps: DataPathDeps,
) {
  const caller = request.caller!;
  bindRequestLog(request, { resource: query.code });
  const outcome: Outcome = {};
  let body: string;
  let accepted: AcceptedSignature | undefined;
  const admission = { done: caller.pendingNonce === undefined };
  try {
    // A malformed Accept-Signature is refused before any quota is used or any provider is asked.
    accepted = acceptedSignature(request);
    query.admitRoute?.(query.code);
    const entry = await resolveResource(deps, query.code);
    outcome.entry = entry;
    const keyItem = query.keyItem ?? entry.entry.items.find((i) => i.key)?.name ?? '';
    const { grant, holder } = await findGrant(deps, caller, query.code);
    if (grant) outcome.grant = grant;
    const policyStart = performance.now();
    const obligations = decideAccess(
      caller,
      holder,
      entry,
      grant,
      query,
      keyItem,
      deps.now(),
      deps.machineCallsAllowed === true,
    );
    await checkTermsAccepted(deps, caller, entry);
    outcome.obligations = obligations;
    await admit(deps, caller, admission, obligations, grant!);
    const fetchStart = performance.now();
    deps.observe?.('policy', (fetchStart - policyStart) / 1000);
    const rows = await fetchRows(deps, entry, keyItem, query, String(request.id), caller);
    deps.observe?.('connector', (performance.now() - fetchStart) / 1000);
    const violations = validateRows(request, entry, rows);
    const served = applyObligations(filterConditions(rows, query.conditions), obligations);
    outcome.rowCount = served.length;
    body = JSON.stringify({
      data: served,
      meta: {
        requestId: String(request.id),
        resource: query.code,
        grantId: obligations.grantId,
        count: served.length,
        ...(violations.length > 0 ? { schemaViolations: violations } : {}),
      },
    });
  } catch (err) {
    // A refused call's nonce is recorded too, so that its replay is refused as a replay.
    const error = admission.done ? err : await admitRefused(deps, caller, admission, err);
    await auditOutcome(
      request,
      deps,
      query,
      outcome,
      error as Error & { code?: string; statusCode?: number },
    );
    throw error;
  }
  let signed: Record<string, string>;
  try {
    signed = await responseSignature(request, deps, outcome.obligations!, accepted, body);
  } catch (err) {
    // The key custody (a hardware module, say) failed: the call is audited as an error and nothing leaves.
    await auditOutcome(request, deps, query, outcome, err as Error);
    throw err;
  }
  await auditOutcome(request, deps, query, outcome, undefined, body);
  request.log.info(
    { grantId: outcome.obligations?.grantId, rows: outcome.rowCount, signed: Object.keys(signed).length > 0 },
    'data served',
  );
  reply.header('content-type', 'application/json; charset=utf-8');
  // The grant is for the consumer's own use; onward disclosure only as the provider consented ([HB-S] 14).
  reply.header(ONWARD_HEADER, onwardDisclosureHeader(outcome.grant!));
  for (const [name, value] of Object.entries(signed)) reply.header(name, value);
  return reply.send(body);
}

async function resolveResource(deps: DataPathDeps, code: string): Promise<PublishedEntry> {
  const entry = await deps.resources.get(code);
  if (!entry)
    throw new gatewayErrors.RESOURCE_NOT_FOUND(
      `no published catalog entry ${code}; search the catalog at GET /v1/catalog`,
    );
  return entry;
}

/**
 * The caller's grant. A call forwarded by a peer platform is decided on this platform's grant to the peer
 * platform; without one, on a grant to the original department's system the peer names in its signed
 * headers (a province may grant one city department rather than the whole city platform).
 */
async function findGrant(
  deps: DataPathDeps,
  caller: Caller,
  code: string,
): Promise<{ grant: Grant | undefined; holder: { deptCode: string; systemId: string } }> {
  const found = await deps.grants.find(caller.deptCode, caller.systemId, code);
  // A grant a peer's forwarded application made serves only what that peer forwards.
  const peerOfGrant = found && forwardedBy(found);
  const grant =
    peerOfGrant === undefined || peerOfGrant === caller.federation?.peerPlatformId ? found : undefined;
  if (grant || !caller.federation || !deps.department) return { grant, holder: caller };
  const { originDept, originSystem, peerPlatformId } = caller.federation;
  // The peer speaks only for its own departments (FEDERATION_ORIGIN_FORBIDDEN otherwise).
  const department = await deps.department(originDept);
  checkOriginDepartment(department, originDept, peerPlatformId);
  const direct = await deps.grants.find(originDept, originSystem, code);
  return direct && (forwardedBy(direct) === peerPlatformId || department?.homePlatform === peerPlatformId)
    ? { grant: direct, holder: { deptCode: originDept, systemId: originSystem } }
    : { grant: undefined, holder: caller };
}

function forwardedBy(grant: Grant): string | undefined {
  return grant.source?.kind === 'application' ? grant.source.peerPlatformId : undefined;
}

function decideAccess(
  caller: Caller,
  holder: { deptCode: string; systemId: string },
  entry: PublishedEntry,
  grant: Grant | undefined,
  query: DataQuery,
  keyItem: string,
  now: Date,
  machineCallsAllowed: boolean,
): Obligations {
  const decision = decide(
    { deptCode: holder.deptCode, systemId: holder.systemId, serial: caller.serial },
    { entry: entry.entry, status: entry.status },
    grant,
    {
      purpose: caller.purpose,
      ...(query.items ? { items: query.items } : {}),
      mode: 'api',
      queryItems: [keyItem, ...Object.keys(query.conditions)],
      now: now.getTime(),
      actingUser: { userId: caller.userId, machineCallsAllowed },
    },
  );
  if (!decision.allow) throw denyError(decision);
  return decision.obligations;
}

/** The consumer department accepted the resource's data-use terms in force (only asked when it has terms). */
async function checkTermsAccepted(deps: DataPathDeps, caller: Caller, published: PublishedEntry) {
  if (!deps.useTerms) return;
  const { entry } = published;
  const accepted = entry.useTerms
    ? await deps.useTerms.acceptedVersion(caller.deptCode, entry.code, entry.useTerms.version)
    : undefined;
  const refusal = checkUseTerms(entry, accepted, { required: deps.useTerms.required });
  if (refusal) throw denyError(refusal);
}

/** The nonce and, when the grant has limits, the quota: one round trip, before any provider is asked. */
async function admit(
  deps: DataPathDeps,
  caller: Caller,
  admission: { done: boolean },
  obligations: Obligations,
  grant: Grant,
): Promise<void> {
  const { perMinute, perDay } = obligations.quota;
  const counted = Boolean(perMinute || perDay);
  if (admission.done && !counted) return;
  const withNonce = !admission.done;
  // Attempted is done: a script that failed on its way may still have run, and its nonce must not make
  // this very request a replay of itself.
  admission.done = true;
  const result = await deps.admission.admit({
    caller,
    ...(withNonce ? { nonce: nonceOf(caller) } : {}),
    ...(counted ? { quota: { grantId: grant.id, limits: obligations.quota } } : {}),
    now: deps.now().getTime(),
  });
  if (result.admitted) return;
  if (result.reason === 'replay') throw replayError(caller);
  const error = new denyErrors.QUOTA_EXCEEDED(
    `the quota of grant ${grant.id} is used up (${result.usage.minute}/${perMinute ?? '∞'} this minute, ${result.usage.day}/${perDay ?? '∞'} today); retry after ${result.retryAfterSeconds} s`,
  ) as Error & { retryAfterSeconds?: number };
  error.retryAfterSeconds = result.retryAfterSeconds;
  throw error;
}

/**
 * Records the nonce of a call refused before admission; a replay is answered as one. Not after a failure
 * (5xx): nothing is released then, and Redis may be what failed; if recording fails, the refusal stands.
 */
async function admitRefused(
  deps: DataPathDeps,
  caller: Caller,
  admission: { done: boolean },
  refusal: unknown,
): Promise<unknown> {
  const status = (refusal as { statusCode?: number }).statusCode ?? 500;
  if (status >= 500) return refusal;
  admission.done = true;
  try {
    const result = await deps.admission.admit({
      caller,
      nonce: nonceOf(caller),
      now: deps.now().getTime(),
    });
    return !result.admitted && result.reason === 'replay' ? replayError(caller) : refusal;
  } catch {
    return refusal;
  }
}

function nonceOf(caller: Caller) {
  const { keyid, nonce } = caller.signature;
  return { keyid, nonce, ttlSeconds: caller.pendingNonce?.ttlSeconds ?? 0 };
}

function replayError(caller: Caller): Error {
  return new SigReplay(
    `nonce ${JSON.stringify(caller.signature.nonce)} was already used by keyid ${caller.signature.keyid}: sign every request with a fresh random nonce`,
  );
}

async function fetchRows(
  deps: DataPathDeps,
  entry: PublishedEntry,
  keyItem: string,
  query: DataQuery,
  requestId: string,
  caller: Caller,
): Promise<Row[]> {
  const service = entry.entry.service;
  if (!service)
    throw new gatewayErrors.RESOURCE_NOT_FOUND(`resource ${query.code} has no mounted data service`);
  const origin = {
    deptCode: caller.deptCode,
    systemId: caller.systemId,
    purpose: caller.purpose,
    ...(caller.userId ? { userId: caller.userId } : {}),
    ...(caller.caseId ? { caseId: caller.caseId } : {}),
  };
  return deps.connectors
    .get(service, serviceShape(entry.entry))
    .lookup(keyItem, query.keys, { requestId, origin });
}

/**
 * What joins the two platforms' records of one forwarded call: on the upper platform the agreement, the
 * correlation id and the original department and system; on the lower platform the correlation id (its
 * own request id, sent as x-correlation-id) and the upper platform's resource it went to.
 */
function federationDetail(
  caller: Caller,
  entry: PublishedEntry | undefined,
  requestId: string,
): AuditRecord['detail'] | undefined {
  if (caller.federation) return { federation: { ...caller.federation } };
  const service = entry?.entry.service;
  if (service?.connector === 'federation')
    return { federation: { correlationId: requestId, forwardedTo: service.endpoint } };
  return undefined;
}

/** Rows that break the catalog's schema are served flagged, never as if valid, and logged for quality. */
function validateRows(request: FastifyRequest, entry: PublishedEntry, rows: Row[]) {
  const validate = rowValidator(entry.entry, entry.version);
  const violations: { row: number; item: string; message: string }[] = [];
  rows.forEach((row, index) => {
    const result = validate(row);
    for (const error of result.errors)
      violations.push({ row: index, item: error.item, message: error.message });
  });
  if (violations.length > 0) {
    request.log.warn(
      { resource: entry.code, violations: violations.length },
      'provider rows violate the catalog schema',
    );
  }
  return violations;
}

function filterConditions(rows: Row[], conditions: Record<string, string>): Row[] {
  const names = Object.keys(conditions);
  if (names.length === 0) return rows;
  return rows.filter((row) => names.every((name) => String(row[name] ?? '') === conditions[name]));
}

type AcceptedSignature = ReturnType<typeof parseAcceptSignature>[number];

/** The first signature the caller asks for with Accept-Signature (RFC 9421 §5.1), if it asks. */
function acceptedSignature(request: FastifyRequest): AcceptedSignature | undefined {
  const asked = request.headers['accept-signature'];
  return asked ? parseAcceptSignature(asked)[0] : undefined;
}

/** RFC 9421 §5: sign when the caller asks with Accept-Signature or its grant requires it. */
function responseSignature(
  request: FastifyRequest,
  deps: DataPathDeps,
  obligations: Obligations,
  requested: AcceptedSignature | undefined,
  body: string,
): Promise<Record<string, string>> | Record<string, string> {
  if (!requested && !obligations.signResponse) return {};
  const caller = request.caller!;
  const headers = { 'content-type': 'application/json; charset=utf-8' };
  return signResponse({
    status: 200,
    headers,
    body,
    request: { method: request.method, url: caller.targetUri, headers: request.headers },
    requestLabel: caller.signature.label,
    keyId: deps.signing.keyId,
    // The platform key's own algorithm: rsa-pss-sha512 under intl, sm2-sm3 under gm.
    signer: deps.signing.signer,
    label: requested?.label ?? 'sig1',
    ...(typeof requested?.params.nonce === 'string' ? { nonce: requested.params.nonce } : {}),
  });
}

async function auditOutcome(
  request: FastifyRequest,
  deps: DataPathDeps,
  query: DataQuery,
  outcome: Outcome,
  error: (Error & { code?: string; statusCode?: number }) | undefined,
  body?: string,
): Promise<void> {
  const caller = request.caller!;
  const status = error ? (error.statusCode ?? 500) : 200;
  const decision: AuditRecord['decision'] = !error ? 'allow' : status >= 500 ? 'error' : 'deny';
  const reasonCode =
    error?.code && /^[A-Z][A-Z0-9_]{1,63}$/.test(error.code) ? error.code : error ? 'INTERNAL' : undefined;
  const record: AuditRecord = {
    time: new Date(request.receivedAt || Date.now()).toISOString(),
    requestId: String(request.id),
    instance: deps.audit.instance,
    kind: 'data',
    actor: callerActor(caller),
    action: query.action,
    resource: query.code,
    ...(outcome.entry ? { providerDept: outcome.entry.entry.provider.code } : {}),
    ...(outcome.grant ? { grantId: outcome.grant.id } : {}),
    ...(outcome.grant?.investigation ? { investigation: true as const } : {}),
    ...(caller.purpose ? { purpose: caller.purpose.slice(0, 256) } : {}),
    ...(body && outcome.obligations
      ? { items: [...outcome.obligations.items], rowCount: outcome.rowCount ?? 0 }
      : {}),
    subjects: [...new Set(query.keys)].map((key) => subjectHash(deps.subjectSecret, key)),
    decision,
    ...(reasonCode ? { reasonCode } : {}),
    status,
    latencyMs: Date.now() - (request.receivedAt || Date.now()),
    requestSignatureHash: caller.signatureHash,
    ...(body ? { responseDigest: createHash('sha256').update(body).digest('hex') } : {}),
  };
  const federation = federationDetail(caller, outcome.entry, String(request.id));
  if (federation) record.detail = federation;
  const tally = deps.callTally?.({
    consumerDept: caller.deptCode,
    providerDept: outcome.entry?.entry.provider.code ?? '',
    resource: query.code,
    decision,
    ...(reasonCode ? { reasonCode } : {}),
  });
  const auditStart = performance.now();
  try {
    await deps.audit.append(record, tally ? [tally] : undefined);
    deps.observe?.('audit', (performance.now() - auditStart) / 1000);
  } catch (auditError) {
    // Past the high-water mark the writer refused the record before writing anything: no retraction is
    // due, and the caller is told why (503 AUDIT_BACKLOG).
    if ((auditError as { code?: string }).code === 'AUDIT_BACKLOG') {
      request.log.warn({ requestId: request.id }, 'audit backlog past its high-water mark: answering 503');
      throw auditError;
    }
    request.log.error(
      { err: auditError, requestId: request.id },
      'audit write failed: answering 503, no data released',
    );
    if (record.decision === 'allow') retractLater(deps, record, request);
    throw new gatewayErrors.SERVICE_UNAVAILABLE(
      'The audit record of this request could not be written, so no data was released; retry shortly.',
    );
  }
}

/**
 * A failed append may still have reached Redis (the reply was lost, or came after the timeout), leaving an
 * `allow` record for a request that was answered 503. Once Redis answers again, a `data.undelivered`
 * record naming the request says the data never left, so the trail never claims a release that did not
 * happen. Kept in process: a gateway that dies before Redis returns leaves the claim unretracted.
 */
function retractLater(deps: DataPathDeps, record: AuditRecord, request: FastifyRequest): void {
  const retraction: AuditRecord = {
    ...record,
    time: new Date().toISOString(),
    action: 'data.undelivered',
    decision: 'error',
    reasonCode: 'AUDIT_WRITE_FAILED',
    status: 503,
    detail: { retracts: record.requestId },
  };
  delete retraction.items;
  delete retraction.rowCount;
  delete retraction.responseDigest;
  const attempt = async (left: number): Promise<void> => {
    try {
      await deps.audit.append(retraction);
    } catch (err) {
      if (left <= 0) {
        request.log.error(
          { err, requestId: record.requestId },
          'could not record that a response was not delivered',
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000).unref());
      return attempt(left - 1);
    }
  };
  void attempt(60);
}
