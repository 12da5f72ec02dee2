/**
 * Grants created directly (the bureau for unconditional resources, a provider's dept-admin for its own
 * resources) and their status changes. The application workflow creates grants through the same store.
 * A department sees only grants where it is the consumer or the provider.
 */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { parseEffectiveFrom } from '../../catalog/lifecycle.js';
import { RESOURCE_CODE_PATTERN, USCC_PATTERN } from '../../catalog/schema.js';
import { cstDate } from '../../platform/plain-date.js';
import { makeEvent } from '../../policies/applications/events.js';
import { GRANT_INVALID as GrantInvalid, GRANT_NOT_FOUND as GrantNotFound } from '../../policies/errors.js';
import { Grant, GrantRequest, GrantStatus } from '../../policies/grant.js';
import { canView } from '../../policies/grant-store.js';
import type { GatewayContext } from '../app/context.js';
import { gatewayErrors } from '../app/errors.js';
import { problemResponses } from '../app/schemas.js';
import type { Workflow } from '../app/workflow.js';
import { actorOf } from '../auth/people.js';
import { personOf } from '../plugins/people-auth.js';

const IdParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) });

/** [HB-S] 21: a direct grant is reported to the provider department (and told to the consumer). */
function directGrantEvent(grant: Grant) {
  return makeEvent('grant.direct', new Date(grant.grantedAt), [grant.providerCode, grant.deptCode], {
    grantId: grant.id,
    resourceCode: grant.resourceCode,
    consumerDept: grant.deptCode,
    systemId: grant.systemId,
    providerDept: grant.providerCode,
    items: grant.items,
    purposes: grant.purposes,
    validTo: grant.validTo,
    grantedBy: grant.grantedBy,
    ...(grant.basis ? { basis: grant.basis } : {}),
  });
}

export const grantRoutes: FastifyPluginAsyncTypebox<{ context: GatewayContext; workflow: Workflow }> = async (
  app,
  { context, workflow },
) => {
  const { grants, catalog } = context;

  app.post(
    '/v1/grants',
    {
      config: { access: ['bureau', 'dept-admin'] },
      schema: {
        tags: ['grants'],
        description:
          'Grant a consumer system access to a resource directly: the bureau for unconditional resources (stating the legal basis or reason in `basis`), ' +
          'the provider dept-admin for its own unconditional resources. Conditional resources and items are granted only out of an authorized application ' +
          '(GRANT_APPLICATION_REQUIRED); `none` resources can never be granted. The provider and the consumer are notified (inbox and webhooks).',
        body: GrantRequest,
        response: { 201: Grant, ...problemResponses },
      },
    },
    async (request, reply) => {
      const person = personOf(request);
      const published = await catalog.publishedEntry(request.body.resourceCode);
      if (!published)
        throw new gatewayErrors.RESOURCE_NOT_FOUND(`no published catalog entry ${request.body.resourceCode}`);
      // As an application's authorization: nothing is granted on a resource suspended or withdrawn.
      if (published.status !== 'active') {
        throw new GrantInvalid(
          `resource ${request.body.resourceCode} is ${published.status}: nothing can be granted on it until its provider resumes it`,
        );
      }
      const system = await context.certs.getSystem(request.body.deptCode, request.body.systemId);
      if (!system) {
        throw new gatewayErrors.VALIDATION_FAILED(
          `department ${request.body.deptCode} has no registered system "${request.body.systemId}"`,
        );
      }
      // Fail closed: the grant's audit record and its report to the provider ([HB-S] 21) are committed
      // before the grant is stored; if either cannot be written, nothing is granted.
      const grant = await grants.create(actorOf(person), published.entry, request.body, {
        beforeCommit: async (grant) => {
          await request.auditBefore(
            'grant.create',
            {
              grantId: grant.id,
              consumer: `${grant.deptCode}/${grant.systemId}`,
              resource: grant.resourceCode,
              ...(grant.basis ? { basis: grant.basis } : {}),
            },
            { grantId: grant.id, resource: grant.resourceCode },
          );
          await workflow.announce([directGrantEvent(grant)]);
        },
      });
      return reply.code(201).send(grant);
    },
  );

  app.get(
    '/v1/grants',
    {
      config: { access: ['bureau', 'auditor', 'dept-admin'] },
      schema: {
        tags: ['grants'],
        description:
          'List grants, newest first. A dept-admin lists those of its department as consumer (default) or as provider (`side=provider`).',
        querystring: Type.Object(
          {
            side: Type.Optional(Type.Union([Type.Literal('consumer'), Type.Literal('provider')])),
            consumerDept: Type.Optional(Type.String({ pattern: USCC_PATTERN })),
            providerDept: Type.Optional(Type.String({ pattern: USCC_PATTERN })),
            resourceCode: Type.Optional(Type.String({ pattern: RESOURCE_CODE_PATTERN })),
            status: Type.Optional(GrantStatus),
            page: Type.Integer({ minimum: 1, maximum: 100_000, default: 1 }),
            pageSize: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            grants: Type.Array(Grant),
            total: Type.Integer(),
            page: Type.Integer(),
            pageSize: Type.Integer(),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const person = personOf(request);
      const { side, ...query } = request.query;
      if (person.role === 'dept-admin') {
        const own = person.dept!;
        if (
          (query.consumerDept && query.consumerDept !== own && side !== 'provider') ||
          (query.providerDept && query.providerDept !== own && side === 'provider')
        ) {
          throw new gatewayErrors.DEPARTMENT_FORBIDDEN(
            'A dept-admin lists only grants of its own department.',
          );
        }
        if (side === 'provider') return grants.list({ ...query, providerDept: own });
        return grants.list({ ...query, consumerDept: own });
      }
      return grants.list(query);
    },
  );

  app.get(
    '/v1/grants/usage',
    {
      config: { access: ['bureau', 'dept-admin'] },
      schema: {
        tags: ['grants'],
        description:
          "Who uses a resource: its grants, newest first, each with the calls counted against its quota this CST day and this minute (a grant without limits counts none: no `usage`). A dept-admin reads only its own department's resources.",
        querystring: Type.Object(
          {
            resourceCode: Type.String({ pattern: RESOURCE_CODE_PATTERN }),
            status: Type.Optional(GrantStatus),
            page: Type.Integer({ minimum: 1, maximum: 100_000, default: 1 }),
            pageSize: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            resourceCode: Type.String(),
            day: Type.String({ format: 'date', description: 'The CST day the counts are of' }),
            grants: Type.Array(
              Type.Object({
                grant: Grant,
                usage: Type.Optional(
                  Type.Object({
                    today: Type.Integer({ minimum: 0 }),
                    thisMinute: Type.Integer({ minimum: 0 }),
                  }),
                ),
              }),
            ),
            total: Type.Integer(),
            page: Type.Integer(),
            pageSize: Type.Integer(),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const person = personOf(request);
      const { resourceCode, ...query } = request.query;
      const view = await catalog.get(actorOf(person), resourceCode);
      if (person.role === 'dept-admin' && view.resource.providerCode !== person.dept) {
        throw new gatewayErrors.DEPARTMENT_FORBIDDEN(
          "A dept-admin reads the quota use of its own department's resources only.",
        );
      }
      const page = await grants.list({ ...query, resourceCode });
      const now = context.now().getTime();
      const counted = await Promise.all(
        page.grants.map(async (grant) => {
          if (grant.quota.perDay === undefined && grant.quota.perMinute === undefined) return { grant };
          const used = await context.admission.usage(grant, grant.id, now);
          return { grant, usage: { today: used.day, thisMinute: used.minute } };
        }),
      );
      return { ...page, resourceCode, day: cstDate(now), grants: counted };
    },
  );

  app.get(
    '/v1/grants/:id',
    {
      config: { access: ['bureau', 'auditor', 'dept-admin'] },
      schema: { tags: ['grants'], params: IdParams, response: { 200: Grant, ...problemResponses } },
    },
    async (request) => {
      const grant = await grants.get(request.params.id);
      // Another department's grant is answered like a missing one: its existence is not revealed.
      if (!grant || !canView(actorOf(personOf(request)), grant))
        throw new GrantNotFound(`no grant has id "${request.params.id}"`);
      return grant;
    },
  );

  app.post(
    '/v1/grants/:id/onward-consents',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: ['grants'],
        description:
          "The provider's written consent to pass the grant's data on to another department or unit ([HB-S] 14; [HC-R] 37). Without one a grant is for the consumer's own use only; data responses and bulk manifests say so.",
        params: IdParams,
        body: Type.Object(
          {
            recipientDept: Type.String({ pattern: USCC_PATTERN }),
            recipientName: Type.String({ minLength: 1, maxLength: 200 }),
            purpose: Type.String({ minLength: 1, maxLength: 500 }),
            document: Type.String({
              minLength: 1,
              maxLength: 200,
              description: 'Reference of the written consent',
            }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Grant, ...problemResponses },
      },
    },
    async (request) => {
      const actor = actorOf(personOf(request));
      const existing = await grants.get(request.params.id);
      if (!existing || !canView(actor, existing))
        throw new GrantNotFound(`no grant has id "${request.params.id}"`);
      const grant = await grants.addOnwardConsent(actor, request.params.id, request.body);
      await request.auditAdmin(
        'grant.onward-consent',
        {
          grantId: grant.id,
          recipient: request.body.recipientDept,
          purpose: request.body.purpose,
          document: request.body.document,
        },
        { grantId: grant.id, resource: grant.resourceCode },
      );
      return grant;
    },
  );
  const ChangeBody = Type.Object(
    {
      reason: Type.String({ minLength: 1, maxLength: 2000 }),
      effectiveFrom: Type.Optional(
        Type.String({
          minLength: 10,
          maxLength: 40,
          description:
            'YYYY-MM-DD (start of that day, China Standard Time) or an ISO date-time with zone; at least the notice period ahead (GOVSHARE_NOTICE_WORKDAYS working days)',
        }),
      ),
      emergency: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 2000,
          description:
            'Why it cannot wait for the notice period: applied at once, recorded and reported to the bureau',
        }),
      ),
    },
    { additionalProperties: false },
  );
  const Scheduled = Type.Object({
    grantId: Type.String(),
    status: Type.String(),
    scheduledFor: Type.String({ format: 'date-time' }),
    earliest: Type.String({ format: 'date', description: 'The earliest day the notice period allowed' }),
  });

  for (const [action, status] of [
    ['suspend', 'suspended'],
    ['revoke', 'revoked'],
  ] as const) {
    app.post(
      `/v1/grants/:id/${action}`,
      {
        config: { access: ['bureau', 'dept-admin'] },
        schema: {
          tags: ['grants'],
          description:
            `${action === 'suspend' ? 'Suspend' : 'Revoke'} a grant with a reason, from a date at least the notice period ahead ` +
            '(202: announced to the consumer and the provider now, applied by a delayed job at its time); ' +
            'at once only with an emergency reason, which is recorded and reported to the bureau (200).',
          params: IdParams,
          body: ChangeBody,
          response: { 200: Grant, 202: Scheduled, ...problemResponses },
        },
      },
      async (request, reply) => {
        const actor = actorOf(personOf(request));
        const existing = await grants.get(request.params.id);
        if (!existing || !canView(actor, existing))
          throw new GrantNotFound(`no grant has id "${request.params.id}"`);
        const { reason, emergency } = request.body;
        const effectiveFrom =
          request.body.effectiveFrom === undefined
            ? undefined
            : parseChangeTime(request.body.effectiveFrom, context.now());
        const at = { grantId: existing.id, resource: existing.resourceCode };
        const outcome = await workflow.grantChanges.change(
          actor,
          request.params.id,
          {
            status,
            reason,
            ...(effectiveFrom ? { effectiveFrom } : {}),
            ...(emergency ? { emergency } : {}),
          },
          {
            // Fail closed: a change made at once (an emergency) is recorded before it is made.
            beforeApply: () =>
              request.auditBefore(
                `grant.${action}`,
                { grantId: existing.id, reason, ...(emergency ? { emergency } : {}) },
                at,
              ),
          },
        );
        if (outcome.applied) return outcome.grant;
        await request.auditAdmin(
          `grant.${action}.schedule`,
          {
            grantId: existing.id,
            reason,
            effectiveFrom: outcome.scheduledFor,
            ...(emergency ? { emergency } : {}),
          },
          at,
        );
        return reply.code(202).send({
          grantId: existing.id,
          status,
          scheduledFor: outcome.scheduledFor,
          earliest: outcome.earliest,
        });
      },
    );
  }

  app.post(
    '/v1/grants/:id/resume',
    {
      config: { access: ['bureau', 'dept-admin'] },
      schema: {
        tags: ['grants'],
        description:
          'Resume a suspended grant with a reason. Takes effect on every gateway instance at once.',
        params: IdParams,
        body: Type.Object(
          { reason: Type.String({ minLength: 1, maxLength: 2000 }) },
          { additionalProperties: false },
        ),
        response: { 200: Grant, ...problemResponses },
      },
    },
    async (request) => {
      const actor = actorOf(personOf(request));
      const existing = await grants.get(request.params.id);
      if (!existing || !canView(actor, existing))
        throw new GrantNotFound(`no grant has id "${request.params.id}"`);
      const grant = await grants.setStatus(actor, request.params.id, 'active', request.body.reason);
      await request.auditAdmin(
        'grant.resume',
        { grantId: grant.id, reason: request.body.reason },
        { grantId: grant.id, resource: grant.resourceCode },
      );
      return grant;
    },
  );
};

/** A change time: YYYY-MM-DD is 00:00 China Standard Time of that day; otherwise an instant with a zone. */
function parseChangeTime(value: string, now: Date): Date {
  try {
    return parseEffectiveFrom(value, now, { field: 'effectiveFrom' });
  } catch (err) {
    throw new GrantInvalid((err as Error).message);
  }
}
