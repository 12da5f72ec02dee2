/**
 * The federation as routes. `POST /v1/federation/data/{code}/query` takes a call forwarded by a peer
 * platform under an agreement in force: the signed-calls plugin verifies the peer platform's signature
 * and the signed origin headers; the data path then decides on this platform's grant to the peer
 * platform (its operator's department, system `federation`), masks by this platform's rules and audits
 * under the correlation id. `GET /v1/federation/agreements` lists the agreements this platform holds.
 * Forwarded applications and their withdrawals and events are in federation-applications.ts.
 */

import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { type AgreementTerms, otherSide } from '../../federation/agreement.js';
import { federationErrors } from '../../federation/errors.js';
import type { GatewayContext } from '../app/context.js';
import { problemResponses } from '../app/schemas.js';
import type { Workflow } from '../app/workflow.js';
import { serveChanges } from '../data-path/federated-changes.js';
import type { DataPathDeps } from '../data-path/serve.js';
import { serveData } from '../data-path/serve.js';
import { CodeParams, DataResponse, ItemName, Value } from './data.js';
import { federationApplicationRoutes } from './federation-applications.js';
import { ForwardedHeaders } from './federation-headers.js';

const AgreementSummary = Type.Object({
  id: Type.String(),
  status: Type.String(),
  side: Type.String(),
  peer: Type.Object({
    platformId: Type.String(),
    name: Type.String(),
    operator: Type.String(),
    gatewayUrl: Type.String(),
  }),
  offeredToPeer: Type.Array(Type.String()),
  offeredByPeer: Type.Array(Type.String()),
  validFrom: Type.String(),
  validTo: Type.String(),
  digest: Type.String({ description: 'SHA-256 hex of the signed terms' }),
  revokedAt: Type.Optional(Type.String()),
  revocationReason: Type.Optional(Type.String()),
});

export const federationRoutes: FastifyPluginAsyncTypebox<{
  context: GatewayContext;
  deps: DataPathDeps;
  batchMaxKeys: number;
  workflow: Workflow;
}> = async (app, { context, deps, batchMaxKeys, workflow }) => {
  await app.register(federationApplicationRoutes, { context, workflow });

  app.post(
    '/v1/federation/data/:code/query',
    {
      config: { access: 'system', nonce: 'data-path', signer: 'peer-platform' },
      schema: {
        tags: ['federation'],
        description:
          `A lookup forwarded by a federated platform (up to ${batchMaxKeys} keys). Signed (RFC 9421) by the peer platform's signing key named in the agreement, ` +
          'covering @method, @target-uri, content-digest, x-purpose, x-user-id and the x-federation-agreement, x-origin-dept, x-origin-system and x-correlation-id headers.',
        params: CodeParams,
        headers: ForwardedHeaders,
        body: Type.Object(
          {
            keys: Type.Array(Value, { minItems: 1, maxItems: batchMaxKeys }),
            keyItem: Type.Optional(ItemName),
            items: Type.Optional(Type.Array(ItemName, { minItems: 1, maxItems: 500, uniqueItems: true })),
          },
          { additionalProperties: false },
        ),
        response: { 200: DataResponse, ...problemResponses },
      },
    },
    async (request, reply) => {
      const federation = request.caller!.federation!;
      const link = (await context.peers.links()).get(federation.agreementId)!;
      return serveData(
        request,
        reply,
        {
          code: request.params.code,
          ...(request.body.keyItem ? { keyItem: request.body.keyItem } : {}),
          keys: [...new Set(request.body.keys)],
          ...(request.body.items ? { items: request.body.items } : {}),
          conditions: {},
          action: 'data.federated',
          admitRoute: (code) => {
            if (!link?.local.offers.includes(code)) {
              throw new federationErrors.FEDERATION_RESOURCE_NOT_OFFERED(
                `agreement ${federation.agreementId} does not offer ${code} to ${federation.peerPlatformId}`,
              );
            }
          },
        },
        deps,
      );
    },
  );

  app.post(
    '/v1/federation/data/:code/changes',
    {
      config: { access: 'system', signer: 'peer-platform' },
      schema: {
        tags: ['federation'],
        description:
          "One page of a resource's rows changed since a watermark value, for a federated platform's data return (回流) job, under this platform's bulk grant to it; signed as the query route is.",
        params: CodeParams,
        headers: ForwardedHeaders,
        body: Type.Object(
          {
            limit: Type.Integer({ minimum: 1, maximum: 5000 }),
            after: Type.Optional(
              Type.String({ minLength: 1, maxLength: 2000, description: 'Cursor of the previous page' }),
            ),
            since: Type.Optional(
              Type.String({ minLength: 1, maxLength: 64, description: 'Watermark value last returned' }),
            ),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const federation = request.caller!.federation!;
      const link = (await context.peers.links()).get(federation.agreementId);
      return serveChanges(
        request,
        reply,
        {
          code: request.params.code,
          limit: request.body.limit,
          ...(request.body.after ? { after: request.body.after } : {}),
          ...(request.body.since ? { since: request.body.since } : {}),
          offered: link?.local.offers.includes(request.params.code) ?? false,
        },
        deps,
      );
    },
  );

  app.get(
    '/v1/federation/agreements',
    {
      config: { access: ['bureau', 'auditor', 'security-admin'] },
      schema: {
        tags: ['federation'],
        description: 'The federation agreements this platform holds, with their status, parties and offers.',
        response: { 200: Type.Object({ agreements: Type.Array(AgreementSummary) }), ...problemResponses },
      },
    },
    async () => {
      // Verified when stored and when used; listed as stored, so an expired certificate still shows.
      const agreements = (await context.agreements.list()).map((record) => {
        const terms = JSON.parse(record.document.terms) as AgreementTerms;
        const local = terms[record.side];
        const peer = terms[otherSide(record.side)];
        return {
          id: record.id,
          status: record.status,
          side: record.side,
          peer: {
            platformId: peer.platformId,
            name: peer.name,
            operator: peer.operator,
            gatewayUrl: peer.gatewayUrl,
          },
          offeredToPeer: local.offers,
          offeredByPeer: peer.offers,
          validFrom: record.validFrom,
          validTo: record.validTo,
          digest: createHash('sha256').update(record.document.terms).digest('hex'),
          ...(record.revokedAt ? { revokedAt: record.revokedAt } : {}),
          ...(record.revocationReason ? { revocationReason: record.revocationReason } : {}),
        };
      });
      return { agreements };
    },
  );
};
