/**
 * Usage feedback over HTTP: the consumer department reports how a grant's data served its purpose;
 * the consumer, the provider and the bureau read it; it is counted in GET /v1/stats.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { USCC_PATTERN } from '../../catalog/schema.js';
import { GRANT_NOT_FOUND as GrantNotFound } from '../../policies/errors.js';
import { FeedbackRequest, UsageFeedback } from '../../policies/feedback.js';
import { canView } from '../../policies/grant-store.js';
import type { GatewayContext } from '../app/context.js';
import { gatewayErrors } from '../app/errors.js';
import { problemResponses } from '../app/schemas.js';
import { actorOf } from '../auth/people.js';
import { personOf } from '../plugins/people-auth.js';

const IdParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) });

export const feedbackRoutes: FastifyPluginAsyncTypebox<{ context: GatewayContext }> = async (
  app,
  { context },
) => {
  const { grants, feedback } = context;

  app.post(
    '/v1/grants/:id/feedback',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: ['grants'],
        description: 'The consumer department reports how the data of the grant served its purpose.',
        params: IdParams,
        body: FeedbackRequest,
        response: { 201: UsageFeedback, ...problemResponses },
      },
    },
    async (request, reply) => {
      const actor = actorOf(personOf(request));
      const grant = await grants.get(request.params.id);
      if (!grant || !canView(actor, grant)) throw new GrantNotFound(`no grant has id "${request.params.id}"`);
      const recorded = await feedback.submit(actor, grant, request.body);
      await request.auditAdmin(
        'grant.feedback',
        { feedbackId: recorded.id, grantId: grant.id, outcome: recorded.outcome },
        { grantId: grant.id, resource: grant.resourceCode },
      );
      return reply.code(201).send(recorded);
    },
  );

  app.get(
    '/v1/feedback',
    {
      config: { access: ['bureau', 'auditor', 'dept-admin'] },
      schema: {
        tags: ['grants'],
        description:
          'Usage feedback, newest first. A dept-admin reads what its department gave (default) or received as provider (`side=provider`).',
        querystring: Type.Object(
          {
            side: Type.Optional(Type.Union([Type.Literal('consumer'), Type.Literal('provider')])),
            dept: Type.Optional(Type.String({ pattern: USCC_PATTERN })),
            grantId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ feedback: Type.Array(UsageFeedback) }), ...problemResponses },
      },
    },
    async (request) => {
      const person = personOf(request);
      const { side = 'consumer', dept, grantId } = request.query;
      if (person.role === 'dept-admin' && dept !== undefined && dept !== person.dept) {
        throw new gatewayErrors.DEPARTMENT_FORBIDDEN(
          'A dept-admin reads only its own department’s feedback.',
        );
      }
      const scope = person.role === 'dept-admin' ? person.dept : dept;
      const query = {
        ...(grantId ? { grantId } : {}),
        ...(scope ? (side === 'provider' ? { providerDept: scope } : { consumerDept: scope }) : {}),
      };
      return { feedback: await feedback.list(query) };
    },
  );
};
