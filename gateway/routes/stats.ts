/**
 * The published statistics ([HB-S] 26) for a period: applications received and decided, the share
 * decided within the statutory limits, handling time in working days, overdue stages, data calls
 * (allowed, denied by reason) and provider availability. JSON, or CSV with `?format=csv`. The bureau
 * sees every department and the overall figures; a dept-admin its own department only.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { USCC_PATTERN } from '../../catalog/schema.js';
import { DATE_PATTERN } from '../../policies/calendar/schema.js';
import { statisticsCsv } from '../../policies/stats/csv.js';
import { Statistics } from '../../policies/stats/schema.js';
import type { GatewayContext } from '../app/context.js';
import { problemResponses } from '../app/schemas.js';
import type { Workflow } from '../app/workflow.js';
import { actorOf } from '../auth/people.js';
import { personOf } from '../plugins/people-auth.js';

export const statsRoutes: FastifyPluginAsyncTypebox<{ context: GatewayContext; workflow: Workflow }> = async (
  app,
  { workflow },
) => {
  app.get(
    '/v1/stats',
    {
      config: { access: ['bureau', 'dept-admin'] },
      schema: {
        tags: ['stats'],
        description:
          'Statistics for the period from–to (calendar dates in China Standard Time, both included).',
        querystring: Type.Object(
          {
            from: Type.String({ pattern: DATE_PATTERN }),
            to: Type.String({ pattern: DATE_PATTERN }),
            dept: Type.Optional(Type.String({ pattern: USCC_PATTERN })),
            format: Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: {
            description: 'The statistics, as JSON or CSV',
            content: {
              'application/json': { schema: Statistics },
              'text/csv': {
                schema: Type.String({ description: 'One row per department, then the overall row' }),
              },
            },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { from, to, dept, format } = request.query;
      const stats = await workflow.stats.forActor(actorOf(personOf(request)), {
        from,
        to,
        ...(dept ? { dept } : {}),
      });
      if (format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="govshare-stats-${from}-${to}.csv"`)
          .send(statisticsCsv(stats));
      }
      return stats;
    },
  );
};
