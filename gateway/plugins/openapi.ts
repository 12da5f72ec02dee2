/** OpenAPI 3 generated from the route schemas, served at /docs (UI) and /docs/json. */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

async function openapi(app: FastifyInstance, options: { version: string }) {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'govshare',
        version: options.version,
        description:
          'Government data-sharing exchange gateway. People call admin routes with `Authorization: Bearer <JWT>`; ' +
          'department systems call /v1/data and /v1/exchange with RFC 9421 HTTP Message Signatures. ' +
          'Errors are RFC 9457 problem details with a stable `code`.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          httpSignature: {
            type: 'apiKey',
            in: 'header',
            name: 'Signature',
            description: 'RFC 9421 signature; keyid = certificate serial (lowercase hex). See README.',
          },
        },
      },
    },
    transform: ({ schema, url, route }) => {
      const access = route.config?.access;
      const security =
        access === 'public' || access === undefined
          ? []
          : access === 'system'
            ? [{ httpSignature: [] }]
            : [{ bearer: [] }];
      const description =
        Array.isArray(access) && schema
          ? `${schema.description ?? ''}\n\nRoles: ${access.join(', ')}`.trim()
          : schema?.description;
      return { schema: { ...schema, security, ...(description ? { description } : {}) }, url };
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
}

export default fp(openapi, { name: 'govshare-openapi', fastify: '5.x' });
