import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { GatewayContext } from '../app/context.js';

export const healthRoutes: FastifyPluginAsyncTypebox<{
  context: GatewayContext;
  /** Extra readiness warnings, e.g. a working-day calendar missing next year. */
  warnings?: () => (string | undefined)[];
}> = async (app, { context, warnings = () => [] }) => {
  app.get(
    '/health',
    {
      config: { access: 'public' },
      schema: {
        tags: ['health'],
        description: 'The process is up.',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      config: { access: 'public' },
      schema: {
        tags: ['health'],
        description: 'Ready to serve: Redis answers and the platform CA is loaded. 503 otherwise.',
        response: {
          200: Type.Object({
            status: Type.Literal('ready'),
            checks: Type.Record(Type.String(), Type.String()),
            warnings: Type.Array(Type.String()),
          }),
          503: Type.Object({
            status: Type.Literal('unavailable'),
            checks: Type.Record(Type.String(), Type.String()),
            warnings: Type.Array(Type.String()),
          }),
        },
      },
    },
    async (_request, reply) => {
      const report = await context.readiness();
      for (const warning of warnings()) if (warning) report.warnings.push(warning);
      if (!report.ready) reply.code(503).header('retry-after', '2');
      return {
        status: report.ready ? ('ready' as const) : ('unavailable' as const),
        checks: report.checks,
        warnings: report.warnings,
      };
    },
  );
};
