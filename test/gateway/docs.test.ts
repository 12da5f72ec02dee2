import { readFileSync } from 'node:fs';
import t from 'tap';
import { problemRegistry, problemsMarkdown } from '../../gateway/app/problem-registry.js';
import { buildTestApp } from '../helpers/app.js';

t.test('every error code is documented, and docs/errors.md is in sync with the code', async (t) => {
  for (const problem of problemRegistry.values()) {
    t.ok(problem.doc.length > 10, `${problem.code} has a meaning in its area's docs record`);
    t.ok(problem.status >= 400 && problem.status < 600, `${problem.code} maps to an error status`);
  }
  const committed = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  t.equal(
    committed,
    problemsMarkdown(),
    'regenerate with: node dist/gateway/cli/bin.js errors --markdown > docs/errors.md',
  );
});

t.test('the OpenAPI document is served at /docs and covers the API', async (t) => {
  const { app } = await buildTestApp(t);
  const ui = await app.inject({ method: 'GET', url: '/docs' });
  t.ok(ui.statusCode < 400, '/docs answers');
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
  t.equal(doc.openapi, '3.0.3');
  for (const path of [
    '/v1/data/{code}',
    '/v1/data/{code}/query',
    '/v1/catalog',
    '/v1/grants',
    '/v1/audit',
    '/v1/certificates',
    '/v1/ca/crl',
  ]) {
    t.ok(doc.paths[path], `documents ${path}`);
  }
  t.same(
    doc.paths['/v1/data/{code}'].get.security,
    [{ httpSignature: [] }],
    'data routes declare signed calls',
  );
  t.same(doc.paths['/v1/grants'].post.security, [{ bearer: [] }], 'people routes declare bearer tokens');
});
