/**
 * Webhook endpoints and their deliveries over HTTP. A dept-admin manages its department's endpoints and
 * sees their deliveries (with every failure); the bureau manages its own (owner `bureau`) and may read
 * any owner's. URLs are trusted as registered (see notifications/schema.ts): only http(s), no
 * credentials, no redirects followed, every delivery signed with the platform key.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  Delivery,
  DeliveryStatus,
  InboxEntry,
  WebhookEndpoint,
  WebhookEndpointRequest,
} from '../../notifications/schema.js';
import type { GatewayContext } from '../app/context.js';
import { problemResponses } from '../app/schemas.js';
import type { Workflow } from '../app/workflow.js';
import { actorOf } from '../auth/people.js';
import { personOf } from '../plugins/people-auth.js';

const Owner = Type.String({
  pattern: '^(bureau|[0-9A-HJ-NPQRTUWXY]{18})$',
  description: 'A department code, or bureau',
});
const managers = ['dept-admin', 'bureau'] as const;

export const webhookRoutes: FastifyPluginAsyncTypebox<{
  context: GatewayContext;
  workflow: Workflow;
}> = async (app, { workflow }) => {
  const { notifications } = workflow;

  app.post(
    '/v1/webhooks',
    {
      config: { access: managers },
      schema: {
        tags: ['webhooks'],
        description:
          'Register an endpoint for your department (the bureau: for itself). Deliveries are POSTs of ' +
          '{id, type, at, data}, signed by the platform (RFC 9421, keyid = the platform signing certificate serial) ' +
          'with an idempotency-key header equal to the event id; failed deliveries are retried with backoff.',
        body: WebhookEndpointRequest,
        response: { 201: WebhookEndpoint, ...problemResponses },
      },
    },
    async (request, reply) => {
      const endpoint = await notifications.register(actorOf(personOf(request)), request.body);
      await request.auditAdmin('webhook.add', {
        endpoint: endpoint.id,
        owner: endpoint.owner,
        url: endpoint.url,
      });
      return reply.code(201).send(endpoint);
    },
  );

  app.get(
    '/v1/webhooks',
    {
      config: { access: managers },
      schema: {
        tags: ['webhooks'],
        description: 'Your endpoints; the bureau sees every owner’s, or those of `owner`.',
        querystring: Type.Object({ owner: Type.Optional(Owner) }, { additionalProperties: false }),
        response: { 200: Type.Object({ endpoints: Type.Array(WebhookEndpoint) }), ...problemResponses },
      },
    },
    async (request) => ({
      endpoints: await notifications.list(actorOf(personOf(request)), request.query.owner),
    }),
  );

  app.delete(
    '/v1/webhooks/:id',
    {
      config: { access: managers },
      schema: {
        tags: ['webhooks'],
        description: 'Remove an endpoint; deliveries still queued for it fail.',
        params: Type.Object({ id: Type.String({ pattern: '^wh_[A-Za-z0-9_-]{1,40}$' }) }),
        response: { 200: WebhookEndpoint, ...problemResponses },
      },
    },
    async (request) => {
      const removed = await notifications.remove(actorOf(personOf(request)), request.params.id);
      await request.auditAdmin('webhook.remove', { endpoint: removed.id, owner: removed.owner });
      return removed;
    },
  );

  app.get(
    '/v1/inbox',
    {
      config: { access: managers },
      schema: {
        tags: ['webhooks'],
        description:
          'Every event addressed to your department (the bureau: to the bureau, or to `owner`), newest first, ' +
          'whether or not a webhook endpoint is registered: direct grants, scheduled suspensions and withdrawals, ' +
          'deadline reminders and escalations, calendar warnings.',
        querystring: Type.Object(
          {
            owner: Type.Optional(Owner),
            type: Type.Optional(Type.String({ pattern: '^[a-z][a-z.-]{0,63}$' })),
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ events: Type.Array(InboxEntry) }), ...problemResponses },
      },
    },
    async (request) => {
      const { owner, type, limit } = request.query;
      const events = await notifications.inbox(actorOf(personOf(request)), {
        limit,
        ...(owner ? { owner } : {}),
        ...(type ? { type } : {}),
      });
      return { events };
    },
  );

  app.get(
    '/v1/webhooks/deliveries',
    {
      config: { access: managers },
      schema: {
        tags: ['webhooks'],
        description: 'Deliveries to your endpoints, newest first, with attempts, last status and last error.',
        querystring: Type.Object(
          {
            owner: Type.Optional(Owner),
            status: Type.Optional(DeliveryStatus),
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ deliveries: Type.Array(Delivery) }), ...problemResponses },
      },
    },
    async (request) => {
      const { owner, status, limit } = request.query;
      const deliveries = await notifications.deliveries(actorOf(personOf(request)), {
        limit,
        ...(owner ? { owner } : {}),
        ...(status ? { status } : {}),
      });
      return { deliveries };
    },
  );

  app.post(
    '/v1/webhooks/deliveries/:id/redeliver',
    {
      config: { access: managers },
      schema: {
        tags: ['webhooks'],
        description: 'Queue a delivery again, e.g. after it failed and the receiver was fixed.',
        params: Type.Object({
          id: Type.String({ minLength: 1, maxLength: 120, pattern: '^[A-Za-z0-9._-]+$' }),
        }),
        response: { 202: Delivery, ...problemResponses },
      },
    },
    async (request, reply) => {
      const delivery = await notifications.redeliver(actorOf(personOf(request)), request.params.id);
      await request.auditAdmin('webhook.redeliver', { delivery: delivery.id, owner: delivery.owner });
      return reply.code(202).send(delivery);
    },
  );
};
