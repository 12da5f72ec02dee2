/**
 * Serves the web console (built by Vite into dist/console/) at /console/, with its security headers:
 * a strict Content-Security-Policy (own scripts and styles only, no framing, no form posts elsewhere),
 * no Referer, nosniff (@fastify/helmet). Registered without fastify-plugin, so the headers and the
 * static routes stay inside this scope and the /v1 API is untouched. The console uses only /v1.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { gatewayErrors } from '../app/errors.js';

/** dist/console/, beside the compiled gateway (dist/gateway/plugins/console.js). */
export const CONSOLE_ROOT = fileURLToPath(new URL('../../console/', import.meta.url));

export const CONSOLE_CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  // Element Plus positions popups with style attributes set from script (CSSOM), which CSP allows.
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

export async function consoleRoutes(app: FastifyInstance, options: { root?: string } = {}): Promise<void> {
  const root = options.root ?? CONSOLE_ROOT;
  app.get('/console', async (_request, reply) => reply.redirect('/console/', 301));
  if (!existsSync(join(root, 'index.html'))) {
    app.get('/console/*', async () => {
      throw new gatewayErrors.NOT_FOUND(
        'The console is not built: run `npx vite build --config console/vite.config.ts` (./scripts/test.sh and demo.sh do).',
      );
    });
    return;
  }
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CONSOLE_CSP },
    referrerPolicy: { policy: 'no-referrer' },
    frameguard: { action: 'deny' },
    // Served over plain HTTP on loopback in development; behind TLS the proxy sets HSTS.
    strictTransportSecurity: false,
  });
  await app.register(fastifyStatic, {
    root,
    prefix: '/console/',
    index: 'index.html',
    wildcard: true,
    // Hashed asset names never change content; the page itself is always revalidated.
    setHeaders(reply, path) {
      reply.header(
        'cache-control',
        path.includes(`${join(root, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
}
