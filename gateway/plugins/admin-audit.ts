/**
 * Administrative actions (catalog, grants, departments, certificates, applications) are audited like data
 * requests: `await request.auditAdmin('certificate.revoke', { serial })` after the change succeeds and
 * before the answer leaves. If the record cannot be written the request fails with 503.
 *
 * A change is also announced before it is attempted: every POST, PUT, PATCH or DELETE by a person that
 * passed authentication, its role check and validation first leaves a `request.received` record (status
 * 100: received, not yet answered). If that record cannot be written the answer is 503 and nothing is
 * changed. So the trail never lacks a change made through these routes: at worst (Redis failing between
 * the change and its outcome record) it holds the request without its outcome, which points an auditor
 * at it.
 *
 * A change whose own record must never be missing (a statistics report published and delivered, an
 * emergency change, a direct grant) writes that record first, with `request.auditBefore(...)`: if it
 * cannot be written the answer is 503 and nothing is changed, stored or delivered.
 *
 * Every other request to a /v1 route leaves a record too, before its answer: a route that wrote none
 * itself (reads, refusals by a rule or a role, failures) gets a catch-all `request.served` or
 * `request.refused` record with the caller, the route and the problem code. So an auditor sees every
 * read and everyone turned away; if that record cannot be written the answer becomes 503.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AuditRecord } from '../../audit/record.js';
import type { AuditWriter } from '../../audit/writer.js';
import { gatewayErrors } from '../app/errors.js';
import type { Person } from '../auth/people.js';
import { callerActor } from '../data-path/caller.js';
import { prepareProblem, toProblem } from './problem-details.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Epoch ms when the request arrived (set by the first onRequest hook). */
    receivedAt: number;
    /** Set once the catch-all record of this request was written (a replaced answer is not audited twice). */
    catchAllAudited?: boolean;
    auditAdmin(action: string, detail?: Record<string, unknown>, extra?: Partial<AuditRecord>): Promise<void>;
    /**
     * The record of a change written before the change is made, for changes whose record must never be
     * missing (a report published, an emergency change, a direct grant): if it cannot be written the
     * request fails with 503 and nothing is changed. It does not stand for the request's outcome, which
     * the route or the catch-all still records.
     */
    auditBefore(
      action: string,
      detail?: Record<string, unknown>,
      extra?: Partial<AuditRecord>,
    ): Promise<void>;
  }
}

async function adminAudit(app: FastifyInstance, options: { writer: AuditWriter }) {
  const { writer } = options;
  app.decorateRequest('receivedAt', 0);
  app.addHook('onRequest', async function stampArrival(request) {
    request.receivedAt = Date.now();
  });
  /** What every record of a request holds: when it arrived, its id, this instance, the time spent so far. */
  function requestFields(request: FastifyRequest) {
    const started = request.receivedAt || Date.now();
    return {
      time: new Date(started).toISOString(),
      requestId: String(request.id),
      instance: writer.instance,
      latencyMs: Date.now() - started,
    };
  }

  /** The status a route answers on success: the 2xx its schema declares (201 for a creation), else 200. */
  function successStatus(request: FastifyRequest): number {
    const declared = Object.keys(request.routeOptions.schema?.response ?? {})
      .map(Number)
      .filter((code) => code >= 200 && code < 300);
    return declared.length === 1 ? declared[0]! : 200;
  }

  /** A person's administrative record of this request: `action` allowed, with its detail. */
  function appendAdminRecord(
    request: FastifyRequest,
    action: string,
    status: number,
    detail: Record<string, unknown>,
    extra: Partial<AuditRecord> = {},
  ) {
    return writer.append({
      ...requestFields(request),
      kind: 'admin',
      actor: request.person ? personActor(request.person) : {},
      action,
      decision: 'allow',
      status,
      detail,
      ...extra,
    });
  }

  app.decorateRequest(
    'auditAdmin',
    async function auditAdmin(
      this: FastifyRequest,
      action: string,
      detail: Record<string, unknown> = {},
      extra: Partial<AuditRecord> = {},
    ) {
      try {
        await appendAdminRecord(this, action, successStatus(this), detail, extra);
      } catch (err) {
        if (!CHANGING_METHODS.has(this.method)) throw err;
        this.log.error({ err, action }, 'audit write failed after the change: answering 503');
        throw new gatewayErrors.SERVICE_UNAVAILABLE(
          `The change was made, but its audit record (${action}) could not be written; the trail holds this request as received. Check the current state before retrying.`,
        );
      }
    },
  );

  app.decorateRequest(
    'auditBefore',
    async function auditBefore(
      this: FastifyRequest,
      action: string,
      detail: Record<string, unknown> = {},
      extra: Partial<AuditRecord> = {},
    ) {
      try {
        await appendAdminRecord(this, action, successStatus(this), detail, extra);
      } catch (err) {
        this.log.error(
          { err, action },
          'audit write failed before the change: answering 503, nothing changed',
        );
        throw new gatewayErrors.SERVICE_UNAVAILABLE(
          `The audit record of this change (${action}) could not be written, so nothing was changed; retry shortly.`,
        );
      }
      // Written ahead: the outcome (the change refused after all, or its answer) is recorded as well.
      writer.takeRecordFor(String(this.id));
    },
  );

  async function auditChangeAhead(request: FastifyRequest) {
    if (!CHANGING_METHODS.has(request.method)) return;
    try {
      await appendAdminRecord(request, 'request.received', 100, {
        method: request.method,
        route: request.routeOptions.url ?? '',
      });
    } catch (err) {
      request.log.error({ err }, 'audit write failed: answering 503, nothing changed');
      throw new gatewayErrors.SERVICE_UNAVAILABLE(
        'The audit record announcing this change could not be written, so nothing was changed; retry shortly.',
      );
    }
    // This record announces the request; it does not stand for its outcome, which the route or the
    // catch-all below still writes.
    writer.takeRecordFor(String(request.id));
  }
  // Attached to the routes people change things through only, so data requests do not pay for the hook.
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (access === undefined || access === 'public' || access === 'system') return;
    if (![route.method].flat().some((method) => CHANGING_METHODS.has(method))) return;
    route.preHandler = [...[route.preHandler ?? []].flat(), auditChangeAhead];
  });

  app.addHook('onSend', async function auditEveryRequest(request, reply, payload) {
    const access = request.routeOptions.config.access;
    if (access === undefined || access === 'public') return payload;
    if (request.catchAllAudited) return payload;
    // Set before asking: the writer forgets the id once asked, and onSend may run again (an error answer).
    request.catchAllAudited = true;
    if (writer.takeRecordFor(String(request.id))) return payload;
    const status = reply.statusCode;
    try {
      await writer.append({
        ...requestFields(request),
        kind: access !== 'system' ? 'admin' : request.url.startsWith('/v1/exchange') ? 'exchange' : 'data',
        actor: actorOf(request),
        action: status < 400 ? 'request.served' : 'request.refused',
        decision: status < 400 ? 'allow' : status >= 500 ? 'error' : 'deny',
        ...(status >= 400 ? { reasonCode: request.problemCode ?? 'UNSPECIFIED' } : {}),
        status,
        ...(request.caller ? { requestSignatureHash: request.caller.signatureHash } : {}),
        detail: { method: request.method, route: request.routeOptions.url ?? '' },
      });
      return payload;
    } catch (err) {
      request.log.error({ err }, 'audit write failed: answering 503, nothing released');
      const problem = toProblem(
        new gatewayErrors.SERVICE_UNAVAILABLE(
          'The audit record of this request could not be written, so nothing was released; retry shortly.',
        ),
        request,
      );
      // onSend may replace the payload and the status: the headers are not written yet. A stream payload
      // (a file download) is not consumed, so destroy it.
      (payload as { destroy?: () => void } | null)?.destroy?.();
      prepareProblem(reply, problem).removeHeader('content-length');
      return JSON.stringify(problem);
    }
  });
}

const CHANGING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function personActor(person: Person): AuditRecord['actor'] {
  return { person: person.sub, role: person.role, ...(person.dept ? { deptCode: person.dept } : {}) };
}

function actorOf(request: FastifyRequest): AuditRecord['actor'] {
  if (request.caller) return callerActor(request.caller);
  return request.person ? personActor(request.person) : {};
}

export default fp(adminAudit, { name: 'govshare-admin-audit', fastify: '5.x' });
