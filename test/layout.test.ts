/**
 * The floors of the source tree (docs/architecture.md): each top-level folder may import only from the
 * folders below it, so every arrow of the dependency picture points down. Domain folders know nothing
 * of Fastify or BullMQ (`@fastify/error`, for their error constructors, is the one exception). Each
 * folder's README says the same thing in words, and is checked against this table.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Folder → the folders it may import from, bottom floor first. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  platform: [],
  catalog: ['platform'],
  certs: ['platform', 'catalog'],
  connectors: ['platform', 'catalog'],
  audit: ['platform', 'catalog', 'certs', 'connectors'],
  policies: ['platform', 'catalog', 'certs', 'connectors', 'audit'],
  exchange: ['platform', 'catalog', 'certs', 'connectors', 'audit', 'policies'],
  notifications: ['platform', 'catalog', 'certs', 'connectors', 'audit', 'policies'],
  federation: ['platform', 'catalog', 'certs', 'connectors', 'audit', 'policies'],
  gateway: [
    'platform',
    'catalog',
    'certs',
    'connectors',
    'audit',
    'policies',
    'exchange',
    'notifications',
    'federation',
  ],
};
const DOMAINS = Object.keys(MAY_IMPORT).filter((folder) => folder !== 'gateway');
const SERVER_FRAMEWORKS = /^(fastify|fastify-plugin|bullmq|@fastify\/(?!error$).+)$/;

function sourceFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => join(folder, file));
}

const SPECIFIER =
  /(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(SPECIFIER)].map((m) => (m[1] ?? m[2])!);
}

/** The top-level folder a relative specifier of `file` lands in. */
function folderOf(file: string, specifier: string): string {
  const target = normalize(join(file, '..', specifier));
  return relative('.', target).split('/')[0]!;
}

t.test('every import points down a floor', async (t) => {
  const upward: string[] = [];
  let checked = 0;
  for (const [folder, allowed] of Object.entries(MAY_IMPORT)) {
    for (const file of sourceFiles(folder)) {
      for (const specifier of importsOf(file)) {
        if (!specifier.startsWith('.')) continue;
        checked++;
        const target = folderOf(file, specifier);
        if (target !== folder && !allowed.includes(target)) upward.push(`${file} imports ${specifier}`);
      }
    }
  }
  t.ok(checked > 500, `read the relative imports of the source folders (${checked})`);
  t.same(upward, [], 'no folder imports from its own floor or above (see docs/architecture.md)');
});

t.test('domain folders import no server framework but @fastify/error', async (t) => {
  const offending: string[] = [];
  for (const folder of DOMAINS) {
    for (const file of sourceFiles(folder)) {
      for (const specifier of importsOf(file)) {
        if (SERVER_FRAMEWORKS.test(specifier)) offending.push(`${file} imports ${specifier}`);
      }
    }
  }
  t.same(offending, [], 'Fastify and BullMQ wiring lives in gateway/');
});

t.test('the checks above see what they look for', async (t) => {
  t.equal(folderOf('catalog/quality/plan.ts', '../../policies/masking.js'), 'policies');
  t.equal(folderOf('policies/decide.ts', '../catalog/masks.js'), 'catalog');
  t.notOk(MAY_IMPORT.catalog!.includes('policies'), 'catalog sits below policies');
  t.ok(SERVER_FRAMEWORKS.test('@fastify/static') && SERVER_FRAMEWORKS.test('bullmq'));
  t.notOk(SERVER_FRAMEWORKS.test('@fastify/error'));
  const sample =
    "import type { Queue } from 'bullmq';\nexport { x } from './x.js';\nawait import('../y.js');";
  t.same(
    [...sample.matchAll(SPECIFIER)].map((m) => m[1] ?? m[2]),
    ['bullmq', './x.js', '../y.js'],
  );
});

t.test("each folder's README says what it owns and what it may import, as the table does", async (t) => {
  for (const [folder, allowed] of Object.entries(MAY_IMPORT)) {
    const readme = readFileSync(join(ROOT, folder, 'README.md'), 'utf8');
    const line = /^May import: (.+)$/m.exec(readme)?.[1];
    t.ok(line, `${folder}/README.md has a "May import:" line`);
    const listed = (line ?? '')
      .split(',')
      .map((part) => part.trim().replace(/[`/.]|\s.*$/g, ''))
      .filter((part) => part !== '' && part !== 'nothing');
    t.same(listed, allowed, `${folder}/README.md lists the floors below it`);
    t.ok(readme.split('\n').length <= 20, `${folder}/README.md stays short`);
  }
});
