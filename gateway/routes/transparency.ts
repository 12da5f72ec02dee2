/**
 * Citizen data-use transparency (`GET /v1/transparency/uses`): a citizen portal, a system the bureau gave
 * the role `portal`, asks for a person whose identity it has verified who used that person's record.
 * The person's ID number travels only in the signed header x-subject-id: never in the URL (access logs),
 * never logged, never stored; the trail holds only its keyed hash. Every query, answered or refused, is
 * itself audited with that hash, so a person's own lookups are traceable too; if that record cannot be
 * written nothing is released (503).
 */
import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { TransparencyPortalOnly } from '../../audit/errors.js';
import type { AuditRecord } from '../../audit/record.js';
import { subjectHash } from '../../audit/subject.js';
import {
  TransparencyPage,
  TransparencyQuery,
  transparencySubject,
  transparencyUses,
} from '../../audit/transparency.js';
import { parseAcceptSignature, signResponse } from '../../certs/httpsig/index.js';
import type { GatewayContext } from '../app/context.js';
import { gatewayErrors } from '../app/errors.js';
import { problemResponses } from '../app/schemas.js';
import { callerActor } from '../data-path/caller.js';

const TransparencyHeaders = Type.Object({
  'x-subject-id': Type.Optional(
    Type.String({
      description:
        'Resident ID number of the person the portal verified (signed; never put it in the URL). Required.',
    }),
  ),
  'x-purpose': Type.Optional(Type.String({ maxLength: 64, description: 'Purpose code (signed)' })),
  'x-user-id': Type.Optional(
    Type.String({ maxLength: 128, description: 'Official or session acting through the portal (signed)' }),
  ),
});

export const transparencyRoutes: FastifyPluginAsyncTypebox<{ context: GatewayContext }> = async (
  app,
  { context },
) => {
  const { certs, audit } = context;
  const delayDays = context.config.GOVSHARE_TRANSPARENCY_DELAY_DAYS;
  const signingKeyId = context.platform.signingCertX509.serialNumber.toLowerCase();

  /** The query's own record: who asked (the portal), for whom (the hash), and the outcome. */
  async function auditQuery(
    request: FastifyRequest,
    outcome: { subject?: string; error?: Error & { code?: string; statusCode?: number }; body?: string },
    detail: Record<string, unknown>,
  ): Promise<void> {
    const { error } = outcome;
    const status = error ? (error.statusCode ?? 500) : 200;
    const started = request.receivedAt || Date.now();
    const reasonCode =
      error?.code && /^[A-Z][A-Z0-9_]{1,63}$/.test(error.code) ? error.code : error ? 'INTERNAL' : undefined;
    const record: AuditRecord = {
      time: new Date(started).toISOString(),
      requestId: String(request.id),
      instance: audit.instance,
      kind: 'admin',
      actor: callerActor(request.caller!),
      action: 'transparency.uses',
      ...(request.caller!.purpose ? { purpose: request.caller!.purpose.slice(0, 256) } : {}),
      ...(outcome.subject
        ? { subjects: [subjectHash(context.platform.subjectHmacKey, outcome.subject)] }
        : {}),
      decision: !error ? 'allow' : status >= 500 ? 'error' : 'deny',
      ...(reasonCode ? { reasonCode } : {}),
      status,
      latencyMs: Date.now() - started,
      requestSignatureHash: request.caller!.signatureHash,
      ...(outcome.body ? { responseDigest: createHash('sha256').update(outcome.body).digest('hex') } : {}),
      detail,
    };
    try {
      await audit.append(record);
    } catch (auditError) {
      if ((auditError as { code?: string }).code === 'AUDIT_BACKLOG') throw auditError;
      request.log.error({ err: auditError }, 'audit write failed: answering 503, nothing released');
      throw new gatewayErrors.SERVICE_UNAVAILABLE(
        'The audit record of this transparency query could not be written, so nothing was released; retry shortly.',
      );
    }
  }

  app.get(
    '/v1/transparency/uses',
    {
      config: { access: 'system' },
      schema: {
        tags: ['transparency'],
        description:
          "For a citizen portal (a system with role `portal`): who used a person's record — department (code and name), system, time, resource, purpose, case and decision — newest first, with keyset pages. " +
          'The person is named by the signed header x-subject-id (a resident ID number, hashed as audit subject search hashes it; never in the URL). ' +
          `Calls under a grant flagged for an investigation appear only once GOVSHARE_TRANSPARENCY_DELAY_DAYS have passed. Every query is audited. Signed (RFC 9421): cover @method, @target-uri, x-purpose and x-subject-id (and x-user-id when sent).`,
        headers: TransparencyHeaders,
        querystring: TransparencyQuery,
        response: { 200: TransparencyPage, ...problemResponses },
      },
    },
    async (request, reply) => {
      const caller = request.caller!;
      const now = context.now();
      let subject: string | undefined;
      let body: string;
      let count: number;
      let accepted: ReturnType<typeof parseAcceptSignature>[number] | undefined;
      try {
        // Evidence for the portal, as on the data path: the answer signed by the platform when asked
        // (RFC 9421 §5); a malformed Accept-Signature is refused before anything is read.
        const asked = request.headers['accept-signature'];
        accepted = asked ? parseAcceptSignature(asked)[0] : undefined;
        // Checked even for a system about to be refused: its attempt is then audited under the hash.
        let subjectError: Error | undefined;
        try {
          subject = transparencySubject(request.headers['x-subject-id'], now);
        } catch (err) {
          subjectError = err as Error;
        }
        const system = await certs.getSystem(caller.deptCode, caller.systemId);
        if (system?.role !== 'portal') {
          throw new TransparencyPortalOnly(
            `system ${caller.systemId} of ${caller.deptCode} is not a citizen portal: the bureau gives that role (PUT /v1/departments/{code}/systems/{systemId}/role)`,
          );
        }
        if (subjectError) throw subjectError;
        const page = await transparencyUses(
          {
            redis: context.redis,
            prefix: context.prefix,
            subjectSecret: context.platform.subjectHmacKey,
            ...(context.auditStore ? { store: context.auditStore } : {}),
            departmentName: async (code) => (await certs.getDepartment(code))?.name,
          },
          {
            subject: subject!,
            now: now.getTime(),
            delayDays,
            ...(request.query.limit === undefined ? {} : { limit: request.query.limit }),
            ...(request.query.cursor === undefined ? {} : { cursor: request.query.cursor }),
          },
        );
        count = page.uses.length;
        body = JSON.stringify(page);
      } catch (err) {
        await auditQuery(request, { ...(subject ? { subject } : {}), error: err as Error }, {});
        throw err;
      }
      await auditQuery(
        request,
        { subject: subject!, body },
        { uses: count, page: request.query.cursor ? 'next' : 'first' },
      );
      request.log.info({ uses: count }, 'transparency query answered');
      reply.header('cache-control', 'no-store');
      if (accepted) {
        const signed = await signResponse({
          status: 200,
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body,
          request: { method: request.method, url: caller.targetUri, headers: request.headers },
          requestLabel: caller.signature.label,
          keyId: signingKeyId,
          // The platform key's own algorithm: rsa-pss-sha512 under intl, sm2-sm3 under gm.
          signer: context.platform.platformSigner,
          label: accepted.label ?? 'sig1',
          ...(typeof accepted.params.nonce === 'string' ? { nonce: accepted.params.nonce } : {}),
        });
        for (const [name, value] of Object.entries(signed)) reply.header(name, value);
      }
      // Sent as the exact bytes the audit record's responseDigest covers (a string is not re-serialized).
      return reply.type('application/json; charset=utf-8').send(body as unknown as TransparencyPage);
    },
  );
};
