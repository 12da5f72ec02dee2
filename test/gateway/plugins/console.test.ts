import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import t from 'tap';
import { consoleRoutes } from '../../../gateway/plugins/console.js';
import { buildTestApp } from '../../helpers/app.js';

t.test('the console is served at /console/ with its security headers; the API is not touched', async (t) => {
  const { app, auth } = await buildTestApp(t);

  const bare = await app.inject({ method: 'GET', url: '/console' });
  t.equal(bare.statusCode, 301);
  t.equal(bare.headers.location, '/console/');

  const page = await app.inject({ method: 'GET', url: '/console/' });
  t.equal(page.statusCode, 200, 'the console is built (vite build) before the tests');
  t.match(page.headers['content-type'], /text\/html/);
  const csp = String(page.headers['content-security-policy']);
  for (const directive of [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ])
    t.ok(csp.includes(directive), directive);
  t.notMatch(csp, /unsafe-inline|unsafe-eval/, 'no inline script or style, no eval');
  t.equal(page.headers['x-frame-options'], 'DENY');
  t.equal(page.headers['referrer-policy'], 'no-referrer');
  t.equal(page.headers['x-content-type-options'], 'nosniff');
  t.equal(page.headers['cache-control'], 'no-cache');

  const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(page.body)?.[1];
  t.ok(script, 'the page loads its script from /console/assets/');
  const asset = await app.inject({ method: 'GET', url: script! });
  t.equal(asset.statusCode, 200);
  t.match(asset.headers['cache-control'], /immutable/);
  t.match(asset.headers['content-type'], /javascript/);

  for (const url of [
    '/console/../package.json',
    '/console/%2e%2e/package.json',
    '/console/..%2fpackage.json',
  ]) {
    const res = await app.inject({ method: 'GET', url });
    t.not(res.statusCode, 200, `no path traversal: ${url}`);
    t.notMatch(res.body, /"name": "govshare"/);
  }
  const missing = await app.inject({ method: 'GET', url: '/console/assets/nope.js' });
  t.equal(missing.statusCode, 404);

  const api = await app.inject({
    method: 'GET',
    url: '/v1/applications',
    headers: auth({ sub: 'b', role: 'bureau' }),
  });
  t.equal(api.statusCode, 200);
  t.notOk(api.headers['content-security-policy'], 'the headers stay in the console scope');
});

t.test('an unbuilt console answers 404 saying how to build it', async (t) => {
  const app = Fastify();
  t.teardown(() => app.close());
  await app.register(consoleRoutes, { root: mkdtempSync(join(tmpdir(), 'govshare-console-')) });
  const res = await app.inject({ method: 'GET', url: '/console/' });
  t.equal(res.statusCode, 404);
  t.match(res.body, /vite build/);
});
