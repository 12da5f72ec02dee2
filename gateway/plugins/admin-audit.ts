/**
 * Administrative actions (catalog, grants, departments, certificates, applications) are audited like data
 * requests: `await request.auditAdmin('certificate.revoke', { serial })` after the change succeeds and
 * before the answer leaves. If the record cannot be written the request fails with 503.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AuditRecord } from '../audit/record.js';
import type { AuditWriter } from '../audit/writer.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Epoch ms when the request arrived (set by the first onRequest hook). */
    receivedAt: number;
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
}

export default fp(adminAudit, { name: 'govshare-admin-audit', fastify: '5.x' });
