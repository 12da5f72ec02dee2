/**
 * The resource catalog over HTTP: providers' dept-admins draft and submit their own entries, the bureau
 * reviews, everyone authenticated searches. Every change is audited. Resource codes contain a slash
 * (`101001/000001`): send it percent-encoded in paths (`101001%2F000001`).
 */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { exportCatalog, importCatalog } from '../../catalog/io.js';
import { rowJsonSchema } from '../../catalog/item-schema.js';
import { ItemSourceArbitration } from '../../catalog/item-sources.js';
import { CatalogVersion, CatalogView } from '../../catalog/records.js';
import { RESOURCE_CODE_PATTERN, ResourceEntry } from '../../catalog/schema.js';
import { SearchQuery, SearchResult } from '../../catalog/search.js';
import type { CatalogWriteResult } from '../../catalog/service.js';
import type { GatewayContext } from '../app/context.js';
import { problemResponses } from '../app/schemas.js';
import { actorOf, ROLES } from '../auth/people.js';
import { personOf } from '../plugins/people-auth.js';

const CodeParams = Type.Object({
  code: Type.String({ pattern: RESOURCE_CODE_PATTERN, description: 'Resource code, percent-encoded' }),
});
const Reason = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })) },
  { additionalProperties: false },
);
const StatusBody = Type.Object(
  {
    reason: Type.String({ minLength: 1, maxLength: 2000 }),
    effectiveFrom: Type.String({
      minLength: 10,
      maxLength: 40,
      description:
        'YYYY-MM-DD (China Standard Time) or an ISO date-time; future dates schedule the change. A suspension or withdrawal takes effect at least the notice period ahead (GOVSHARE_NOTICE_WORKDAYS working days)',
    }),
    emergency: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2000,
        description:
          'Why the change cannot wait for the notice period: allowed sooner, recorded and reported to the bureau',
      }),
    ),
  },
  { additionalProperties: false },
);
const SubmitBody = Type.Object(
  {
    arbitrate: Type.Optional(
      Type.Boolean({
        description: 'Send a contested item source (一数一源) to the bureau instead of refusing',
      }),
    ),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
  },
  { additionalProperties: false },
);
const WriteResult = Type.Object({
  code: Type.String(),
  action: Type.String(),
  version: Type.Optional(CatalogVersion),
  effectiveStatus: Type.Optional(Type.String()),
});

export interface CatalogRouteHooks {
  /**
   * Before a suspension or withdrawal is filed: refuses one that gives its consumers less than the
   * notice period without an emergency reason (NOTICE_TOO_SHORT); says whether it is an emergency, and
   * how to report that emergency to the bureau (`change.emergency`), which the route does before filing.
   */
  checkNotice?: (
    code: string,
    action: 'suspend' | 'withdraw',
    effectiveFrom: string,
    emergency: string | undefined,
    actor: ReturnType<typeof actorOf>,
  ) => Promise<{ emergency: boolean; report?: () => Promise<void> }>;
  /** Called after a suspension, resumption or withdrawal is filed (grants on the resource follow it). */
  onResourceStatusChanged?: (
    code: string,
    action: 'suspend' | 'resume' | 'withdraw',
    reason: string | undefined,
    actor: ReturnType<typeof actorOf>,
  ) => Promise<void>;
  /** Called after a new version was published by approval (closes catalog change events it satisfies). */
  onVersionPublished?: (code: string) => Promise<void>;
}

export const catalogRoutes: FastifyPluginAsyncTypebox<{
  context: GatewayContext;
  hooks?: CatalogRouteHooks;
}> = async (app, { context, hooks = {} }) => {
  const { catalog } = context;
  const everyone = ROLES;

  async function answer(
    request: { auditAdmin(action: string, detail?: Record<string, unknown>): Promise<void> },
    result: CatalogWriteResult,
  ) {
    const { change } = result;
    if (change.action === 'approve') await hooks.onVersionPublished?.(change.code);
    await request.auditAdmin(`catalog.${change.action}`, {
      code: change.code,
      ...(change.version === undefined ? {} : { version: change.version }),
      ...(change.reason ? { reason: change.reason } : {}),
    });
    return {
      code: change.code,
      action: change.action,
      ...(result.version ? { version: result.version } : {}),
      effectiveStatus: catalog.effectiveStatus(result.resource),
    };
  }

  app.get(
    '/v1/catalog',
    {
      config: { access: everyone },
      schema: {
        tags: ['catalog'],
        description:
          'Search the catalog by text (Chinese included), provider, share type, classification, update cycle; paginated and sorted.',
        querystring: SearchQuery,
        response: { 200: SearchResult, ...problemResponses },
      },
    },
    async (request) => catalog.search(actorOf(personOf(request)), request.query),
  );

  app.post(
    '/v1/catalog',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: ['catalog'],
        description: "Draft a new entry of the caller's own department.",
        body: ResourceEntry,
        response: { 201: WriteResult, ...problemResponses },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await answer(request, await catalog.createDraft(actorOf(personOf(request)), request.body))),
  );

  app.get(
    '/v1/catalog/export',
    {
      config: { access: ['bureau'] },
      schema: {
        tags: ['catalog'],
        description:
          'The whole catalog as one JSON document (import it elsewhere with POST /v1/catalog/import).',
      },
    },
    async (request) => exportCatalog(catalog, actorOf(personOf(request))),
  );

  app.post(
    '/v1/catalog/import',
    {
      config: { access: ['bureau'] },
      schema: {
        tags: ['catalog'],
        description:
          'Import an export document or an array of entries; each is checked and published as the bureau.',
        body: Type.Unknown(),
        response: {
          200: Type.Object({
            created: Type.Integer(),
            updated: Type.Integer(),
            unchanged: Type.Integer(),
            skipped: Type.Integer(),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const summary = await importCatalog(catalog, actorOf(personOf(request)), request.body);
      await request.auditAdmin('catalog.import', { ...summary });
      return summary;
    },
  );

  app.get(
    '/v1/catalog/:code',
    {
      config: { access: everyone },
      schema: {
        tags: ['catalog'],
        description:
          'An entry: the version in force, the latest version (drafts only for the owner and the bureau) and its status.',
        params: CodeParams,
        response: { 200: CatalogView, ...problemResponses },
      },
    },
    async (request) => catalog.get(actorOf(personOf(request)), request.params.code),
  );

  app.get(
    '/v1/catalog/:code/schema',
    {
      config: { access: everyone },
      schema: {
        tags: ['catalog'],
        description:
          'JSON Schema of one data row of the entry in force (what the gateway validates rows against).',
        params: CodeParams,
      },
    },
    async (request) => {
      const view = await catalog.get(actorOf(personOf(request)), request.params.code);
      return rowJsonSchema((view.current ?? view.latest)!.entry);
    },
  );

  app.get(
    '/v1/catalog/:code/versions',
    {
      config: { access: everyone },
      schema: {
        tags: ['catalog'],
        params: CodeParams,
        response: { 200: Type.Object({ versions: Type.Array(CatalogVersion) }), ...problemResponses },
      },
    },
    async (request) => ({
      versions: await catalog.listVersions(actorOf(personOf(request)), request.params.code),
    }),
  );

  app.get(
    '/v1/catalog/:code/versions/:version',
    {
      config: { access: everyone },
      schema: {
        tags: ['catalog'],
        params: Type.Composite([
          CodeParams,
          Type.Object({ version: Type.Integer({ minimum: 1, maximum: 100_000 }) }),
        ]),
        response: { 200: CatalogVersion, ...problemResponses },
      },
    },
    async (request) =>
      catalog.getVersion(actorOf(personOf(request)), request.params.code, request.params.version),
  );

  app.put(
    '/v1/catalog/:code/draft',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: ['catalog'],
        description: 'Edit a draft (or a rejected version).',
        params: CodeParams,
        body: ResourceEntry,
        response: { 200: WriteResult, ...problemResponses },
      },
    },
    async (request) =>
      answer(
        request,
        await catalog.updateDraft(actorOf(personOf(request)), request.params.code, request.body),
      ),
  );

  app.post(
    '/v1/catalog/:code/versions',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: ['catalog'],
        description:
          'Propose a change to a published entry: a new draft version while the current one stays in force.',
        params: CodeParams,
        body: ResourceEntry,
        response: { 201: WriteResult, ...problemResponses },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await answer(
            request,
            await catalog.proposeChange(actorOf(personOf(request)), request.params.code, request.body),
          ),
        ),
  );

  app.post(
    '/v1/catalog/:code/submit',
    {
      config: { access: ['dept-admin'] },
      // The body is optional: a plain submission sends none.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags: ['catalog'],
        description:
          'Submit the latest draft for review. An item it claims to be the source of (一数一源) while another resource is refuses it (CATALOG_ITEM_SOURCE_TAKEN), unless `arbitrate` sends the contest to the bureau.',
        params: CodeParams,
        body: SubmitBody,
        response: {
          200: Type.Composite([
            WriteResult,
            Type.Object({ arbitrations: Type.Optional(Type.Array(ItemSourceArbitration)) }),
          ]),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const result = await catalog.submit(
        actorOf(personOf(request)),
        request.params.code,
        request.body ?? {},
      );
      const answered = await answer(request, result);
      if (!result.arbitrations) return answered;
      for (const arbitration of result.arbitrations) {
        await request.auditAdmin('catalog.item-source.arbitration.open', {
          id: arbitration.id,
          semanticId: arbitration.semanticId,
          claimant: arbitration.claimant,
          holder: arbitration.holder,
        });
      }
      return { ...answered, arbitrations: result.arbitrations };
    },
  );

  app.post(
    '/v1/catalog/:code/approve',
    {
      config: { access: ['bureau'] },
      schema: {
        tags: ['catalog'],
        description: 'Approve the submitted version: it becomes the version in force.',
        params: CodeParams,
        body: Type.Optional(Reason),
        response: { 200: WriteResult, ...problemResponses },
      },
    },
    async (request) =>
      answer(
        request,
        await catalog.approve(actorOf(personOf(request)), request.params.code, request.body?.reason),
      ),
  );

  app.post(
    '/v1/catalog/:code/reject',
    {
      config: { access: ['bureau'] },
      schema: {
        tags: ['catalog'],
        description: 'Reject the submitted version with a reason.',
        params: CodeParams,
        body: Type.Object(
          { reason: Type.String({ minLength: 1, maxLength: 2000 }) },
          { additionalProperties: false },
        ),
        response: { 200: WriteResult, ...problemResponses },
      },
    },
    async (request) =>
      answer(
        request,
        await catalog.reject(actorOf(personOf(request)), request.params.code, request.body.reason),
      ),
  );

  for (const action of ['suspend', 'resume', 'withdraw'] as const) {
    app.post(
      `/v1/catalog/:code/${action}`,
      {
        config: { access: ['dept-admin', 'bureau'] },
        schema: {
          tags: ['catalog'],
          description:
            action === 'resume'
              ? 'Resume a suspended entry.'
              : `${action === 'suspend' ? 'Suspend' : 'Withdraw'} the entry from a date, with a reason (filed in advance, [HC-R] 29). Grants on it follow.`,
          params: CodeParams,
          body: action === 'resume' ? Type.Optional(Type.Partial(StatusBody)) : StatusBody,
          response: { 200: WriteResult, ...problemResponses },
        },
      },
      async (request) => {
        const actor = actorOf(personOf(request));
        const { emergency, ...body } = (request.body ?? {}) as {
          reason?: string;
          effectiveFrom?: string;
          emergency?: string;
        };
        const notice =
          action === 'resume'
            ? undefined
            : await hooks.checkNotice?.(
                request.params.code,
                action,
                body.effectiveFrom ?? '',
                emergency,
                actor,
              );
        if (notice?.emergency) {
          // Fail closed: the emergency's audit record and its report to the bureau come before the change,
          // so an emergency change is never made unrecorded or unreported.
          await request.auditBefore('catalog.emergency', {
            code: request.params.code,
            action,
            reason: body.reason,
            emergency,
          });
          await notice.report?.();
        }
        const result = await catalog[action](actor, request.params.code, body);
        const answered = await answer(request, result);
        await hooks.onResourceStatusChanged?.(request.params.code, action, body.reason, actor);
        return answered;
      },
    );
  }
};
