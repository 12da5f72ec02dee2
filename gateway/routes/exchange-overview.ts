/**
 * People's view of bulk exchange jobs (the console's 交换任务 page): a department's administrator sees
 * the jobs of its own department's systems; the bureau and the auditors those of any department they
 * name. The one change people make is retrying a failed job (its consumer department's administrator or
 * the bureau); submitting, reading files and the jobs' own routes stay with the signed systems.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { USCC_PATTERN } from '../../catalog/schema.js';
import type { ExchangeDeps } from '../../exchange/deps.js';
import { ExchangeJobView, JOB_ID_PATTERN } from '../../exchange/schema.js';
import { jobView, listJobsForCaller, retryExchangeJob } from '../../exchange/service.js';
import type { GatewayContext } from '../app/context.js';
import { gatewayErrors } from '../app/errors.js';
import { problemResponses } from '../app/schemas.js';
import { personOf, requireOwnDepartment } from '../plugins/people-auth.js';

export const exchangeOverviewRoutes: FastifyPluginAsyncTypebox<{
  context: GatewayContext;
  deps: ExchangeDeps;
}> = async (app, { context, deps }) => {
  app.get(
    '/v1/exchange/department-jobs',
    {
      config: { access: ['bureau', 'auditor', 'dept-admin'] },
      schema: {
        tags: ['exchange'],
        description:
          "A department's bulk exchange jobs across its systems, newest first, with progress (rows, percent) and, once completed, the signed manifest. A dept-admin sees its own department only.",
        querystring: Type.Object(
          {
            dept: Type.Optional(
              Type.String({ pattern: USCC_PATTERN, description: "The dept-admin's own when omitted" }),
            ),
            limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ jobs: Type.Array(ExchangeJobView) }), ...problemResponses },
      },
    },
    async (request) => {
      const person = personOf(request);
      const dept = request.query.dept ?? person.dept;
      if (!dept)
        throw new gatewayErrors.VALIDATION_FAILED('name the department: ?dept=<unified social credit code>');
      requireOwnDepartment(person, dept);
      const systems = await context.certs.listSystems(dept);
      const lists = await Promise.all(
        systems.map((s) =>
          listJobsForCaller(deps, { deptCode: dept, systemId: s.systemId }, request.query.limit),
        ),
      );
      const jobs = lists
        .flat()
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
        .slice(0, request.query.limit);
      return { jobs: jobs.map(jobView) };
    },
  );

  app.post(
    '/v1/exchange/department-jobs/:id/retry',
    {
      config: { access: ['bureau', 'dept-admin'] },
      schema: {
        tags: ['exchange'],
        description:
          "Retry a failed job: a new job with the same request (retryOf names the failed one), decided again now against the grant, the catalog and the consumer system's certificate. The job's consumer department's administrator or the bureau; once per failed job.",
        params: Type.Object({ id: Type.String({ pattern: JOB_ID_PATTERN }) }),
        response: { 202: ExchangeJobView, ...problemResponses },
      },
    },
    async (request, reply) => {
      const person = personOf(request);
      const retry = await retryExchangeJob(
        deps,
        request.params.id,
        { dept: person.role === 'bureau' ? undefined : (person.dept ?? '') },
        String(request.id),
      );
      await request.auditAdmin('exchange.retry', { jobId: request.params.id, retry: retry.id });
      return reply.code(202).send(jobView(retry));
    },
  );
};
