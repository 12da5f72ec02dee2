/**
 * Administrative actions (catalog, grants, departments, certificates, applications) are audited like data
 * requests: `await request.auditAdmin('certificate.revoke', { serial })` after the change succeeds and
 * before the answer leaves. If the record cannot be written the request fails with 503.
 *
 * Refusals and failures of people's routes (401, 403, 409, 422, 5xx...) are audited too, as
 * `request.refused` with the problem code, before the answer leaves: an auditor can see who tried what
 * and was turned away. If that record cannot be written the answer becomes 503.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AuditRecord } from '../audit/record.js';
import type { AuditWriter } from '../audit/writer.js';
import { gatewayErrors } from '../errors.js';
import { toProblem } from './problem-details.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Epoch ms when the request arrived (set by the first onRequest hook). */
    receivedAt: number;
    /** Set once a refusal of this request has been audited (so a replaced answer is not audited twice). */
    refusalAudited?: boolean;
    auditAdmin(action: string, detail?: Record<string, unknown>, extra?: Partial<AuditRecord>): Promise<void>;
  }
}

async function adminAudit(app: FastifyInstance, options: { writer: AuditWriter }) {
  const { writer } = options;
  app.decorateRequest('receivedAt', 0);
  app.addHook('onRequest', async function stampArrival(request) {
    request.receivedAt = Date.now();
  });
  app.decorateRequest(
    'auditAdmin',
    async function auditAdmin(
      this: FastifyRequest,
      action: string,
      detail: Record<string, unknown> = {},
      extra: Partial<AuditRecord> = {},
    ) {
      const person = this.person;
      const started = this.receivedAt || Date.now();
      await writer.append({
        time: new Date(started).toISOString(),
        requestId: String(this.id),
        instance: writer.instance,
        kind: 'admin',
        actor: person
          ? { person: person.sub, role: person.role, ...(person.dept ? { deptCode: person.dept } : {}) }
          : {},
        action,
        decision: 'allow',
        status: 200,
        latencyMs: Date.now() - started,
        detail,
        ...extra,
      });
    },
  );

  app.addHook('onSend', async function auditRefusal(request, reply, payload) {
    const access = request.routeOptions.config.access;
    if (access === undefined || access === 'public' || access === 'system') return payload;
    if (reply.statusCode < 400 || request.refusalAudited) return payload;
    request.refusalAudited = true;
    const person = request.person;
    const started = request.receivedAt || Date.now();
    try {
      await writer.append({
        time: new Date(started).toISOString(),
        requestId: String(request.id),
        instance: writer.instance,
        kind: 'admin',
        actor: person
          ? { person: person.sub, role: person.role, ...(person.dept ? { deptCode: person.dept } : {}) }
          : {},
        action: 'request.refused',
        decision: reply.statusCode >= 500 ? 'error' : 'deny',
        reasonCode: request.problemCode ?? 'UNSPECIFIED',
        status: reply.statusCode,
        latencyMs: Date.now() - started,
        detail: { method: request.method, route: request.routeOptions.url ?? '' },
      });
      return payload;
    } catch (err) {
      request.log.error({ err }, 'audit write failed: answering 503');
      const problem = toProblem(
        new gatewayErrors.SERVICE_UNAVAILABLE(
          'The audit record of this request could not be written; retry shortly.',
        ),
        request,
      );
      // onSend may replace the payload and the status: the headers are not written yet.
      request.problemCode = problem.code;
      reply
        .code(503)
        .type('application/problem+json')
        .header('retry-after', String(problem.retryAfterSeconds ?? 2));
      return JSON.stringify(problem);
    }
  });
}

export default fp(adminAudit, { name: 'govshare-admin-audit', fastify: '5.x' });
