/**
 * Data-use agreements ([XY] 25, 33; [HC-R] 37): read the terms of use and the confidentiality
 * undertaking a resource carries, accept the version in force for one's department (recorded with the
 * person and the time, audited), and list who accepted what (the provider and the bureau).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { RESOURCE_CODE_PATTERN, UseTerms } from '../../catalog/schema.js';
import { TermsAcceptance } from '../../policies/use-terms.js';
import type { GatewayContext } from '../app/context.js';
import { gatewayErrors } from '../app/errors.js';
import { problemResponses } from '../app/schemas.js';
import { actorOf, ROLES } from '../auth/people.js';
import { personOf } from '../plugins/people-auth.js';

const CodeParams = Type.Object({
  code: Type.String({ pattern: RESOURCE_CODE_PATTERN, description: 'Resource code, percent-encoded' }),
});

export const useTermsRoutes: FastifyPluginAsyncTypebox<{ context: GatewayContext }> = async (
  app,
  { context },
) => {
  const { catalog, useTerms } = context;

  async function published(code: string) {
    const found = await catalog.publishedEntry(code);
    if (!found) throw new gatewayErrors.RESOURCE_NOT_FOUND(`no published catalog entry ${code}`);
    return found.entry;
  }

  app.get(
    '/v1/catalog/:code/terms',
    {
      config: { access: ROLES },
      schema: {
        tags: ['catalog'],
        description:
          "The data-use terms in force (null when the resource has none) and, for a dept-admin, its department's latest acceptance.",
        params: CodeParams,
        response: {
          200: Type.Object({
            code: Type.String(),
            useTerms: Type.Union([UseTerms, Type.Null()]),
            required: Type.Boolean({ description: 'The platform requires terms on every resource' }),
            accepted: Type.Optional(TermsAcceptance),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const entry = await published(request.params.code);
      const dept = personOf(request).dept;
      const accepted = dept ? await useTerms.latest(dept, entry.code) : undefined;
      return {
        code: entry.code,
        useTerms: entry.useTerms ?? null,
        required: context.config.GOVSHARE_REQUIRE_USE_TERMS,
        ...(accepted ? { accepted } : {}),
      };
    },
  );

  app.post(
    '/v1/catalog/:code/terms/acceptances',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: ['catalog'],
        description:
          "Accept the version in force of the resource's data-use terms for the caller's department, before its first call or bulk job.",
        params: CodeParams,
        body: Type.Object(
          { version: Type.String({ minLength: 1, maxLength: 32 }) },
          { additionalProperties: false },
        ),
        response: { 201: TermsAcceptance, ...problemResponses },
      },
    },
    async (request, reply) => {
      const entry = await published(request.params.code);
      const acceptance = await useTerms.accept(actorOf(personOf(request)), entry, request.body.version);
      await request.auditAdmin(
        'terms.accept',
        { resource: entry.code, version: acceptance.version, dept: acceptance.deptCode },
        { resource: entry.code },
      );
      return reply.code(201).send(acceptance);
    },
  );

  app.get(
    '/v1/catalog/:code/terms/acceptances',
    {
      config: { access: ['bureau', 'auditor', 'dept-admin'] },
      schema: {
        tags: ['catalog'],
        description:
          'Every acceptance of the resource’s terms, oldest first: all of them for the bureau, auditors and the provider; a consumer’s own otherwise.',
        params: CodeParams,
        response: { 200: Type.Object({ acceptances: Type.Array(TermsAcceptance) }), ...problemResponses },
      },
    },
    async (request) => {
      const entry = await published(request.params.code);
      const person = personOf(request);
      const all = await useTerms.history(entry.code);
      if (person.role !== 'dept-admin' || person.dept === entry.provider.code) return { acceptances: all };
      return { acceptances: all.filter((a) => a.deptCode === person.dept) };
    },
  );
};
