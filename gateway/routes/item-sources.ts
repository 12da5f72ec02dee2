/**
 * 一数一源 over HTTP ([HB-S] 14; [HC-R] 18): which resource is the authoritative source of each data
 * item, and the bureau's arbitration when a second resource claims to be it (opened by submitting a
 * catalog entry with `arbitrate: true`). Every decision is audited.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ARBITRATION_ID_PATTERN, ItemSourceArbitration } from '../../catalog/item-sources.js';
import { RESOURCE_CODE_PATTERN } from '../../catalog/schema.js';
import type { GatewayContext } from '../app/context.js';
import { problemResponses } from '../app/schemas.js';
import { actorOf, ROLES } from '../auth/people.js';
import { personOf } from '../plugins/people-auth.js';

export const itemSourceRoutes: FastifyPluginAsyncTypebox<{ context: GatewayContext }> = async (
  app,
  { context },
) => {
  const { sources } = context.catalog;

  app.get(
    '/v1/catalog/item-sources',
    {
      config: { access: ROLES },
      schema: {
        tags: ['catalog'],
        description: 'The authoritative source (resource code) of each data item by semantic id (一数一源).',
        response: {
          200: Type.Object({ sources: Type.Record(Type.String(), Type.String()) }),
          ...problemResponses,
        },
      },
    },
    async () => ({ sources: await sources.registry() }),
  );

  app.get(
    '/v1/catalog/item-sources/arbitrations',
    {
      config: { access: ['bureau', 'auditor', 'dept-admin'] },
      schema: {
        tags: ['catalog'],
        description: 'Contested item sources, oldest first.',
        response: {
          200: Type.Object({ arbitrations: Type.Array(ItemSourceArbitration) }),
          ...problemResponses,
        },
      },
    },
    async () => ({ arbitrations: await sources.list() }),
  );

  app.post(
    '/v1/catalog/item-sources/arbitrations/:id/decision',
    {
      config: { access: ['bureau'] },
      schema: {
        tags: ['catalog'],
        description:
          'The bureau decides which resource is the source of the item: the claimant or the source on record.',
        params: Type.Object({ id: Type.String({ pattern: ARBITRATION_ID_PATTERN }) }),
        body: Type.Object(
          {
            source: Type.String({ pattern: RESOURCE_CODE_PATTERN }),
            reason: Type.String({ minLength: 1, maxLength: 2000 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: ItemSourceArbitration, ...problemResponses },
      },
    },
    async (request) => {
      const decided = await sources.decide(actorOf(personOf(request)), request.params.id, request.body);
      await request.auditAdmin('catalog.item-source.arbitration.decide', {
        id: decided.id,
        semanticId: decided.semanticId,
        source: request.body.source,
        reason: request.body.reason,
      });
      return decided;
    },
  );
};
