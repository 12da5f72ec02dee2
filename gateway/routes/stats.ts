/**
 * The published statistics ([HB-S] 26) for a period: applications received and decided, the share
 * decided within the statutory limits, handling time in working days, overdue stages, data calls
 * (allowed, denied by reason) and provider availability. JSON, or CSV with `?format=csv`. The bureau
 * sees every department and the overall figures; a dept-admin its own department only.
 *
 * The signed monthly reports (policies/stats/report.ts): the bureau publishes one on demand
 * (`POST /v1/stats/reports`, audited); every department reads them whole, with the signature and the
 * signing certificate, to check them against the platform CA.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { USCC_PATTERN } from '../../catalog/schema.js';
import { DATE_PATTERN } from '../../policies/calendar/schema.js';
import { statisticsCsv } from '../../policies/stats/csv.js';
import { PERIOD_PATTERN, SignedStatsReport, StatsReportSummary } from '../../policies/stats/report.js';
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

  app.post(
    '/v1/stats/reports',
    {
      config: { access: ['bureau'] },
      schema: {
        tags: ['stats'],
        description:
          'Publishes the signed statistics report of a month that has ended and tells every department (once). A period already published is not rebuilt: its report is returned.',
        body: Type.Object(
          { period: Type.String({ pattern: PERIOD_PATTERN, description: 'YYYY-MM (CST)' }) },
          { additionalProperties: false },
        ),
        response: {
          201: SignedStatsReport,
          200: SignedStatsReport,
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      // Fail closed: the publication's record is written before the report is stored or anyone is told.
      const outcome = await workflow.reports.publish(request.body.period, {
        beforeCommit: ({ summary, created, recipients }) =>
          request.auditBefore(
            'stats.report.publish',
            {
              period: summary.period,
              digest: summary.digest,
              created,
              delivered: recipients.length,
            },
            { status: created ? 201 : 200 },
          ),
      });
      return reply.code(outcome.created ? 201 : 200).send(outcome.signed);
    },
  );

  app.get(
    '/v1/stats/reports',
    {
      config: { access: ['bureau', 'dept-admin', 'auditor'] },
      schema: {
        tags: ['stats'],
        description: 'The published statistics reports, newest period first.',
        response: {
          200: Type.Object({ reports: Type.Array(StatsReportSummary) }),
          ...problemResponses,
        },
      },
    },
    async () => ({ reports: await workflow.reports.list() }),
  );

  app.get(
    '/v1/stats/reports/:period',
    {
      config: { access: ['bureau', 'dept-admin', 'auditor'] },
      schema: {
        tags: ['stats'],
        description:
          'One signed report: the report, the signature over its canonical JSON and the signing certificate.',
        params: Type.Object({ period: Type.String({ pattern: PERIOD_PATTERN }) }),
        response: { 200: SignedStatsReport, ...problemResponses },
      },
    },
    async (request) => workflow.reports.require(request.params.period),
  );
};
