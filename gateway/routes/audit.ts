/**
 * The auditor's view of the trail: search, JSONL export and chain verification. Only the `auditor` role
 * (三员分立: not the bureau, not the security administrator). Auditors' own searches are audited too,
 * recording which filters were used but never a plain subject.
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AuditFilters, AuditQuery, exportAudit, searchAudit } from '../../audit/search.js';
import { verifyAudit } from '../../audit/verify.js';
import type { GatewayContext } from '../app/context.js';
import { problemResponses } from '../app/schemas.js';
import { readTsaTrustAnchors } from '../app/timestamps.js';

function usedFilters(query: Record<string, unknown>): Record<string, unknown> {
  const { subject, cursor: _cursor, ...rest } = query;
  return { ...rest, ...(subject ? { subject: '(given)' } : {}) };
}

export const auditRoutes: FastifyPluginAsyncTypebox<{ context: GatewayContext }> = async (
  app,
  { context },
) => {
  const { redis, prefix, platform, auditStore } = context;

  app.get(
    '/v1/audit',
    {
      config: { access: ['auditor'] },
      schema: {
        tags: ['audit'],
        description:
          'Search audit records, newest first, by time, calling department, system, providing department, resource, grant, request id, subject (a plain ID number: hashed by the gateway) and decision. Shipped records come from the PostgreSQL store, the rest from the streams.',
        querystring: AuditQuery,
        response: {
          200: Type.Object({ records: Type.Array(Type.Unknown()), nextCursor: Type.Optional(Type.String()) }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const page = await searchAudit(redis, prefix, platform.subjectHmacKey, request.query, auditStore);
      await request.auditAdmin('audit.search', usedFilters(request.query));
      return page;
    },
  );

  app.get(
    '/v1/audit/export',
    {
      config: { access: ['auditor'] },
      schema: {
        tags: ['audit'],
        description: 'The matching records as JSON Lines, streamed.',
        querystring: AuditFilters,
        produces: ['application/x-ndjson'],
      },
    },
    async (request, reply) => {
      await request.auditAdmin('audit.export', usedFilters(request.query));
      reply.type('application/x-ndjson');
      return reply.send(
        Readable.from(exportAudit(redis, prefix, platform.subjectHmacKey, request.query, auditStore)),
      );
    },
  );

  app.get(
    '/v1/audit/verify',
    {
      config: { access: ['auditor'] },
      schema: {
        tags: ['audit'],
        description:
          "Walk every instance's hash chain and signed checkpoints (their hashes, RFC 9162 tree heads and, with GOVSHARE_AUDIT_TSA_CA, RFC 3161 timestamps); reports the first broken or missing link per instance.",
      },
    },
    async (request) => {
      const tsaTrustAnchorsPem = readTsaTrustAnchors(context.config);
      const result = await verifyAudit(redis, prefix, {
        publicKey: platform.signingCertX509.publicKey,
        ...(auditStore ? { store: auditStore } : {}),
        ...(tsaTrustAnchorsPem ? { tsaTrustAnchorsPem } : {}),
      });
      await request.auditAdmin('audit.verify', { ok: result.ok });
      return result;
    },
  );
};
