/** Data-quality reports per resource: the provider sees its own resources, the bureau all and may run a check. */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { CorrectionTask, QualityReport } from '../../catalog/quality/report.js';
import { RESOURCE_CODE_PATTERN } from '../../catalog/schema.js';
import type { GatewayContext } from '../app/context.js';
import { gatewayErrors } from '../app/errors.js';
import type { Quality } from '../app/quality.js';
import { problemResponses } from '../app/schemas.js';
import { enqueueQualityCheck } from '../jobs/quality.js';
import { personOf, requireOwnDepartment } from '../plugins/people-auth.js';

const CodeParams = Type.Object({ code: Type.String({ pattern: RESOURCE_CODE_PATTERN }) });

export const qualityRoutes: FastifyPluginAsyncTypebox<{ context: GatewayContext; quality: Quality }> = async (
  app,
  { context, quality },
) => {
  async function providerOf(code: string): Promise<string> {
    const published = await context.catalog.publishedEntry(code);
    if (!published) throw new gatewayErrors.RESOURCE_NOT_FOUND(`no published catalog entry ${code}`);
    return published.entry.provider.code;
  }

  app.get(
    '/v1/quality/resources/:code',
    {
      config: { access: ['bureau', 'dept-admin'] },
      schema: {
        tags: ['quality'],
        description:
          'The latest quality report of a resource, its history (newest first) and the open correction task.',
        params: CodeParams,
        querystring: Type.Object(
          { history: Type.Integer({ minimum: 1, maximum: 100, default: 10 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            latest: Type.Optional(QualityReport),
            history: Type.Array(QualityReport),
            task: Type.Optional(CorrectionTask),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      requireOwnDepartment(personOf(request), await providerOf(request.params.code));
      const [latest, history, task] = await Promise.all([
        quality.store.latest(request.params.code),
        quality.store.history(request.params.code, request.query.history),
        quality.store.openTask(request.params.code),
      ]);
      return { ...(latest ? { latest } : {}), history, ...(task ? { task } : {}) };
    },
  );

  app.post(
    '/v1/quality/resources/:code/runs',
    {
      config: { access: ['bureau'] },
      schema: {
        tags: ['quality'],
        description:
          'Run a quality check now (a worker streams the resource through its connector). Optional deterministic sample.',
        params: CodeParams,
        body: Type.Optional(
          Type.Object(
            {
              sample: Type.Optional(
                Type.Object({
                  ratio: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
                  seed: Type.String({ minLength: 1, maxLength: 64 }),
                }),
              ),
            },
            { additionalProperties: false },
          ),
        ),
        response: {
          202: Type.Object({ jobId: Type.String(), deduplicated: Type.Boolean() }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      await providerOf(request.params.code);
      const person = personOf(request);
      const queued = await enqueueQualityCheck(quality.queue, request.params.code, {
        ...(request.body?.sample ? { sample: request.body.sample } : {}),
        requestedBy: person.sub,
      });
      await request.auditAdmin(
        'quality.run',
        { code: request.params.code, jobId: queued.jobId },
        { resource: request.params.code },
      );
      return reply.code(202).send(queued);
    },
  );
};
