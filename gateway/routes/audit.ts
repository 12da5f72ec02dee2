/**
 * The auditor's view of the trail: search, JSONL export and chain verification. Only the `auditor` role
 * (三员分立: not the bureau, not the security administrator). Auditors' own searches are audited too,
 * recording which filters were used but never a plain subject.
 *
 * The auditors' own actions are readable by the bureau and the security administrator
 * (`/v1/audit/auditor-actions`): nobody's actions go unwatched.
 *
 * Inclusion proofs (`/v1/audit/{requestId}/proof`) are also given to a department's administrator for
 * its own department's requests: evidence of what the platform recorded about them, checkable offline
 * with only the platform CA (`govshare audit verify-proof`).
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AuditRecordUnknown } from '../../audit/errors.js';
import { buildInclusionProof, InclusionProofBundle, recordsOfRequest } from '../../audit/proof.js';
import { INSTANCE_ID_PATTERN } from '../../audit/record.js';
import { AuditFilters, AuditQuery, exportAudit, searchAudit } from '../../audit/search.js';
import { verifyAudit } from '../../audit/verify.js';
import { signerKeys } from '../../certs/platform.js';
import type { GatewayContext } from '../app/context.js';
import { problemResponses } from '../app/schemas.js';
import { readTsaTrustAnchors } from '../app/timestamps.js';
import { personOf, requireOwnDepartment } from '../plugins/people-auth.js';

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

  app.post(
    '/v1/audit/search',
    {
      config: { access: ['auditor'] },
      schema: {
        tags: ['audit'],
        description:
          "The search of GET /v1/audit with the query in the body, so that a subject's ID number never appears in a URL, a browser's history or an access log (the console uses this).",
        body: AuditQuery,
        response: {
          200: Type.Object({ records: Type.Array(Type.Unknown()), nextCursor: Type.Optional(Type.String()) }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const page = await searchAudit(redis, prefix, platform.subjectHmacKey, request.body, auditStore);
      await request.auditAdmin('audit.search', usedFilters(request.body));
      return page;
    },
  );

  app.get(
    '/v1/audit/auditor-actions',
    {
      config: { access: ['bureau', 'security-admin', 'auditor'] },
      schema: {
        tags: ['audit'],
        description:
          "三员分立: the audit administrators' own actions (searches, exports, verifications, proofs), newest first, readable by the system and security administrators so that the auditors are audited too.",
        querystring: Type.Object(
          {
            from: AuditFilters.properties.from,
            to: AuditFilters.properties.to,
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
            cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ records: Type.Array(Type.Unknown()), nextCursor: Type.Optional(Type.String()) }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const query = { ...request.query, actorRole: 'auditor' };
      return searchAudit(redis, prefix, platform.subjectHmacKey, query, auditStore);
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
        signerKeys: signerKeys(platform),
        ...(auditStore ? { store: auditStore } : {}),
        ...(tsaTrustAnchorsPem ? { tsaTrustAnchorsPem } : {}),
      });
      await request.auditAdmin('audit.verify', { ok: result.ok });
      return result;
    },
  );

  app.get(
    '/v1/audit/:requestId/proof',
    {
      config: { access: ['auditor', 'dept-admin'] },
      schema: {
        tags: ['audit'],
        description:
          "An RFC 9162 inclusion proof of a request's audit record in the signed trail: the record as chained, its audit path, the signed checkpoint (with its RFC 3161 timestamp, if any) and the platform signing certificate. Verify it offline with `govshare audit verify-proof FILE --ca ca.pem`. The newest record of the request unless seq (and instance) name another. A dept-admin gets proofs of its own department's requests only. 409 AUDIT_PROOF_PENDING until a checkpoint covers the record.",
        params: Type.Object({ requestId: Type.String({ minLength: 1, maxLength: 128 }) }),
        querystring: Type.Object(
          {
            seq: Type.Optional(
              Type.Integer({ minimum: 1, description: 'Seq of the record, when the request has several' }),
            ),
            instance: Type.Optional(
              Type.String({ pattern: INSTANCE_ID_PATTERN, description: 'Its instance' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: InclusionProofBundle, ...problemResponses },
      },
    },
    async (request) => {
      const person = personOf(request);
      const { requestId } = request.params;
      const { seq, instance } = request.query;
      let records = await recordsOfRequest(redis, prefix, platform.subjectHmacKey, requestId, auditStore);
      if (person.role === 'dept-admin') {
        const own = records.filter((r) => r.actor.deptCode === person.dept);
        if (own.length === 0) requireOwnDepartment(person, records[0]!.actor.deptCode ?? '(none)');
        records = own;
      }
      const chosen = records.find(
        (r) => (seq === undefined || r.seq === seq) && (instance === undefined || r.instance === instance),
      );
      if (!chosen) {
        throw new AuditRecordUnknown(
          `request ${requestId} has no audit record at seq ${seq} of ${instance ?? 'any instance'}`,
        );
      }
      const bundle = await buildInclusionProof(
        redis,
        prefix,
        { instance: chosen.instance, seq: chosen.seq },
        { current: platform.signingCertX509, byFingerprint: platform.signingCertificates },
        auditStore,
      );
      await request.auditAdmin('audit.proof', { requestId, instance: chosen.instance, seq: chosen.seq });
      return bundle;
    },
  );
};
