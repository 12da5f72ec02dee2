/**
 * Applications for data over HTTP ([HB-S] 11–13, 19–21). A consumer department's dept-admin applies and
 * may withdraw; the bureau checks; the provider's dept-admin authorizes or refuses. Every state change
 * is audited. A department sees only the applications it filed or received; the bureau and auditors
 * see all.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { RESOURCE_CODE_PATTERN, USCC_PATTERN } from '../../catalog/schema.js';
import {
  APPLICATION_ID_PATTERN,
  Application,
  ApplicationRequest,
  ApplicationState,
  AuthorizationTerms,
  CheckDecision,
  OptionalReasonBody,
  ReasonBody,
} from '../../policies/applications/schema.js';
import { Grant } from '../../policies/grant.js';
import type { GatewayContext } from '../app/context.js';
import { problemResponses } from '../app/schemas.js';
import type { Workflow } from '../app/workflow.js';
import { actorOf } from '../auth/people.js';
import { personOf } from '../plugins/people-auth.js';

const IdParams = Type.Object({ id: Type.String({ pattern: APPLICATION_ID_PATTERN }) });
const ListQuery = Type.Object(
  {
    state: Type.Optional(ApplicationState),
    resource: Type.Optional(Type.String({ pattern: RESOURCE_CODE_PATTERN })),
    dept: Type.Optional(
      Type.String({ pattern: USCC_PATTERN, description: 'Filed or received by this department' }),
    ),
    overdue: Type.Optional(
      Type.Boolean({ description: 'Only open applications past the deadline of their stage' }),
    ),
    page: Type.Integer({ minimum: 1, maximum: 100_000, default: 1 }),
    pageSize: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  },
  { additionalProperties: false },
);
const ApplicationPage = Type.Object({
  applications: Type.Array(Application),
  total: Type.Integer(),
  page: Type.Integer(),
  pageSize: Type.Integer(),
});
const readers = ['bureau', 'dept-admin', 'auditor'] as const;

export const applicationRoutes: FastifyPluginAsyncTypebox<{
  context: GatewayContext;
  workflow: Workflow;
}> = async (app, { workflow }) => {
  const { applications } = workflow;

  app.post(
    '/v1/applications',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: ['applications'],
        description:
          'Apply for one resource for one of your systems. Unconditional resources without control parameters are ' +
          'granted by the platform at once (state granted); the rest go to the bureau’s check (state checking).',
        body: ApplicationRequest,
        response: { 201: Application, ...problemResponses },
      },
    },
    async (request, reply) => {
      const submitted = await applications.submit(actorOf(personOf(request)), request.body);
      await request.auditAdmin('application.submit', {
        application: submitted.id,
        resource: submitted.resourceCode,
        system: submitted.systemId,
        path: submitted.path,
        state: submitted.state,
        ...(submitted.grantId ? { grant: submitted.grantId } : {}),
        ...federationDetail(submitted),
      });
      return reply.code(201).send(submitted);
    },
  );

  app.get(
    '/v1/applications',
    {
      config: { access: readers },
      schema: {
        tags: ['applications'],
        description:
          'Search applications, newest first. A dept-admin sees those its department filed or received.',
        querystring: ListQuery,
        response: { 200: ApplicationPage, ...problemResponses },
      },
    },
    async (request) => {
      const { resource, ...rest } = request.query;
      return applications.list(actorOf(personOf(request)), {
        ...rest,
        ...(resource ? { resourceCode: resource } : {}),
      });
    },
  );

  app.get(
    '/v1/applications/:id',
    {
      config: { access: readers },
      schema: {
        tags: ['applications'],
        description: 'One application with its stages, deadlines and full history.',
        params: IdParams,
        response: { 200: Application, ...problemResponses },
      },
    },
    async (request) => applications.get(actorOf(personOf(request)), request.params.id),
  );

  app.post(
    '/v1/applications/:id/check',
    {
      config: { access: ['bureau'] },
      schema: {
        tags: ['applications'],
        description:
          'The normative check (规范性检查, 3 working days): accept and forward to the provider, or reject with a reason.',
        params: IdParams,
        body: CheckDecision,
        response: { 200: Application, ...problemResponses },
      },
    },
    async (request) => {
      const checked = await applications.check(actorOf(personOf(request)), request.params.id, request.body);
      await request.auditAdmin(`application.${request.body.outcome}`, {
        application: checked.id,
        state: checked.state,
        ...(request.body.reason ? { reason: request.body.reason } : {}),
        ...federationDetail(checked),
      });
      return checked;
    },
  );

  app.post(
    '/v1/applications/:id/authorize',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: ['applications'],
        description:
          'The provider authorizes (10 working days, per region): terms may narrow the items, modes and validity ' +
          'applied for and add masking, quotas or a row filter. The grant is created at once.',
        params: IdParams,
        body: AuthorizationTerms,
        response: { 200: Type.Object({ application: Application, grant: Grant }), ...problemResponses },
      },
    },
    async (request) => {
      const result = await applications.authorize(
        actorOf(personOf(request)),
        request.params.id,
        request.body,
      );
      await request.auditAdmin('application.authorize', {
        application: result.application.id,
        grant: result.grant.id,
        items: result.grant.items,
        ...(request.body.reason ? { reason: request.body.reason } : {}),
        ...federationDetail(result.application),
      });
      return result;
    },
  );

  app.post(
    '/v1/applications/:id/refuse',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: ['applications'],
        description: 'The provider refuses, with the reason the consumer will be told.',
        params: IdParams,
        body: ReasonBody,
        response: { 200: Application, ...problemResponses },
      },
    },
    async (request) => {
      const refused = await applications.refuse(
        actorOf(personOf(request)),
        request.params.id,
        request.body.reason,
      );
      await request.auditAdmin('application.refuse', {
        application: refused.id,
        reason: request.body.reason,
        ...federationDetail(refused),
      });
      return refused;
    },
  );

  app.post(
    '/v1/applications/:id/withdraw',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: ['applications'],
        description: 'The consumer withdraws its pending application.',
        params: IdParams,
        body: OptionalReasonBody,
        response: { 200: Application, ...problemResponses },
      },
    },
    async (request) => {
      const withdrawn = await applications.withdraw(
        actorOf(personOf(request)),
        request.params.id,
        request.body.reason,
      );
      await request.auditAdmin('application.withdraw', {
        application: withdrawn.id,
        ...(request.body.reason ? { reason: request.body.reason } : {}),
        ...federationDetail(withdrawn),
      });
      return withdrawn;
    },
  );
};

/** An application across a federation agreement is audited under the correlation id both platforms use. */
function federationDetail(app: Application): Record<string, unknown> {
  const federation = app.federation;
  if (!federation) return {};
  return {
    federation: {
      correlationId: federation.correlationId,
      peer: federation.peerPlatformId,
      ...(federation.peerApplicationId ? { peerApplicationId: federation.peerApplicationId } : {}),
    },
  };
}
