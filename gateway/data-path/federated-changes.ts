/**
 * A page of changes for a federated platform's data return (回流) job: the peer platform (verified by the
 * signed-calls plugin) asks for rows changed since a watermark value; this platform checks that the
 * agreement offers the resource and decides on its grant to the peer platform for bulk use, reads one
 * page through the provider's connector, projects and masks it by that grant, and audits the page
 * (rows, watermark, correlation id) before it answers. The page carries the largest watermark value of
 * its rows as the provider holds them, so the lower platform can resume even when the grant leaves the
 * watermark item out.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditRecord } from '../../audit/record.js';
import type { PublishedEntry } from '../../catalog/records.js';
import { serviceShape } from '../../connectors/registry.js';
import { exchangeErrors } from '../../exchange/errors.js';
import { federationErrors } from '../../federation/errors.js';
import { decide } from '../../policies/decide.js';
import { denyError } from '../../policies/errors.js';
import type { Grant } from '../../policies/grant.js';
import { applyObligations, type Obligations } from '../../policies/obligations.js';
import { gatewayErrors } from '../app/errors.js';
import { callerActor } from './caller.js';
import type { DataPathDeps } from './serve.js';

export interface ChangesQuery {
  code: string;
  limit: number;
  after?: string;
  since?: string;
  offered: boolean;
}

export async function serveChanges(
  request: FastifyRequest,
  reply: FastifyReply,
  query: ChangesQuery,
  deps: DataPathDeps,
) {
  const caller = request.caller!;
  const outcome: { entry?: PublishedEntry; grant?: Grant; obligations?: Obligations; rows?: number } = {};
  let body: string;
  let watermark: string | undefined;
  try {
    if (!query.offered) {
      throw new federationErrors.FEDERATION_RESOURCE_NOT_OFFERED(
        `agreement ${caller.federation?.agreementId} does not offer ${query.code} to ${caller.federation?.peerPlatformId}`,
      );
    }
    const entry = await deps.resources.get(query.code);
    if (!entry?.entry.service)
      throw new gatewayErrors.RESOURCE_NOT_FOUND(
        `no published catalog entry ${query.code} with a data service`,
      );
    outcome.entry = entry;
    const grant = await deps.grants.find(caller.deptCode, caller.systemId, query.code);
    if (grant) outcome.grant = grant;
    const decision = decide(
      { deptCode: caller.deptCode, systemId: caller.systemId, serial: caller.serial },
      { entry: entry.entry, status: entry.status },
      grant,
      { purpose: caller.purpose, mode: 'bulk', queryItems: [], now: deps.now().getTime() },
    );
    if (!decision.allow) throw denyError(decision);
    outcome.obligations = decision.obligations;
    const service = entry.entry.service;
    if (query.since !== undefined && !service.watermark) {
      throw new exchangeErrors.EXCHANGE_INCREMENTAL_UNSUPPORTED(
        `resource ${query.code} declares no watermark item, so changes cannot be told apart: return it in full`,
      );
    }
    const page = await deps.connectors.get(service, serviceShape(entry.entry)).page({
      limit: query.limit,
      ...(query.after === undefined ? {} : { after: query.after }),
      ...(query.since === undefined ? {} : { since: { watermark: service.watermark!, value: query.since } }),
      requestId: String(request.id),
    });
    if (service.watermark) {
      for (const row of page.rows) {
        const value = row[service.watermark];
        if (typeof value === 'string' && (watermark === undefined || value > watermark)) watermark = value;
      }
    }
    const rows = applyObligations(page.rows, decision.obligations);
    outcome.rows = rows.length;
    body = JSON.stringify({
      rows,
      ...(page.next === undefined ? {} : { next: page.next }),
      ...(watermark === undefined ? {} : { watermark }),
      meta: { requestId: String(request.id), resource: query.code, grantId: decision.obligations.grantId },
    });
  } catch (err) {
    await audit(request, deps, query, outcome, err as Error & { code?: string; statusCode?: number });
    throw err;
  }
  await audit(request, deps, query, outcome, undefined, body, watermark);
  reply.header('content-type', 'application/json; charset=utf-8');
  return reply.send(body);
}

async function audit(
  request: FastifyRequest,
  deps: DataPathDeps,
  query: ChangesQuery,
  outcome: { entry?: PublishedEntry; grant?: Grant; obligations?: Obligations; rows?: number },
  error: (Error & { code?: string; statusCode?: number }) | undefined,
  body?: string,
  watermark?: string,
): Promise<void> {
  const caller = request.caller!;
  const status = error ? (error.statusCode ?? 500) : 200;
  const reasonCode =
    error?.code && /^[A-Z][A-Z0-9_]{1,63}$/.test(error.code) ? error.code : error ? 'INTERNAL' : undefined;
  const record: AuditRecord = {
    time: new Date(request.receivedAt || Date.now()).toISOString(),
    requestId: String(request.id),
    instance: deps.audit.instance,
    kind: 'exchange',
    actor: callerActor(caller),
    action: 'data.returned',
    resource: query.code,
    ...(outcome.entry ? { providerDept: outcome.entry.entry.provider.code } : {}),
    ...(outcome.grant ? { grantId: outcome.grant.id } : {}),
    ...(caller.purpose ? { purpose: caller.purpose.slice(0, 256) } : {}),
    ...(body && outcome.obligations
      ? { items: [...outcome.obligations.items], rowCount: outcome.rows ?? 0 }
      : {}),
    decision: !error ? 'allow' : status >= 500 ? 'error' : 'deny',
    ...(reasonCode ? { reasonCode } : {}),
    status,
    latencyMs: Date.now() - (request.receivedAt || Date.now()),
    requestSignatureHash: caller.signatureHash,
    ...(body ? { responseDigest: createHash('sha256').update(body).digest('hex') } : {}),
    detail: {
      ...(caller.federation ? { federation: { ...caller.federation } } : {}),
      ...(query.since === undefined ? {} : { since: query.since.slice(0, 64) }),
      ...(watermark === undefined ? {} : { watermark: watermark.slice(0, 64) }),
    },
  };
  try {
    await deps.audit.append(record);
  } catch (auditError) {
    request.log.error(
      { err: auditError, requestId: request.id },
      'audit write failed: answering 503, no data released',
    );
    throw new gatewayErrors.SERVICE_UNAVAILABLE(
      'The audit record of this request could not be written, so no data was released; retry shortly.',
    );
  }
}
