/**
 * GET /metrics in Prometheus text format. Not public: with GOVSHARE_METRICS_TOKEN set it needs
 * `Authorization: Bearer <token>`; without it, only loopback clients may scrape.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { gatewayErrors } from '../app/errors.js';
import type { GatewayMetrics } from '../app/metrics.js';

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function metricsPlugin(app: FastifyInstance, options: { metrics: GatewayMetrics; token: string }) {
  const { metrics, token } = options;

  app.addHook('onResponse', async function countRequest(request, reply) {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({
      route,
      method: request.method,
      status: String(reply.statusCode),
      code: request.problemCode ?? '',
    });
    metrics.duration.observe({ route }, reply.elapsedTime / 1000);
  });

  app.get(
    '/metrics',
    {
      config: { access: 'public' },
      schema: { tags: ['health'], description: 'Prometheus metrics (token or loopback only).', hide: true },
    },
    async (request, reply) => {
      const auth = request.headers.authorization ?? '';
      const allowed = token ? sameToken(auth, `Bearer ${token}`) : LOOPBACK.test(request.ip);
      if (!allowed) {
        throw new gatewayErrors.ROLE_FORBIDDEN(
          token
            ? 'GET /metrics needs `Authorization: Bearer <GOVSHARE_METRICS_TOKEN>`.'
            : 'GET /metrics answers loopback clients only; set GOVSHARE_METRICS_TOKEN to scrape remotely.',
        );
      }
      reply.type(metrics.registry.contentType);
      return metrics.render();
    },
  );
}

export default fp(metricsPlugin, { name: 'govshare-metrics', fastify: '5.x' });
