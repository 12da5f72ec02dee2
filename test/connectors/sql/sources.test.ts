import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { sqlConnectorErrorDocs, sqlConnectorErrors } from '../../../connectors/sql/errors.js';
import { loadSqlSources, resolveSqlSources } from '../../../connectors/sql/sources.js';

const base = { dialect: 'postgres', host: 'db.hr.local', database: 'share', user: 'reader' };

t.test('a sources file with a password file and defaults', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'govshare-sources-'));
  t.teardown(() => import('node:fs').then((fs) => fs.rmSync(dir, { recursive: true, force: true })));
  writeFileSync(join(dir, 'hr.password'), 'first\n', { mode: 0o600 });
  const file = join(dir, 'sources.json');
  writeFileSync(
    file,
    JSON.stringify({
      sources: {
        'hr-frontdb': { ...base, passwordFile: 'hr.password' },
        mr_db: {
          ...base,
          port: 6432,
          passwordEnv: 'MR_DB_PASSWORD',
          poolSize: 3,
          statementTimeoutMs: 900,
          countTotal: true,
        },
      },
    }),
  );
  const sources = loadSqlSources(file, { MR_DB_PASSWORD: 'from-env' });
  const hr = sources.get('hr-frontdb')!;
  t.match(hr, {
    name: 'hr-frontdb',
    port: 5432,
    poolSize: 10,
    statementTimeoutMs: 30_000,
    connectTimeoutMs: 5_000,
    countTotal: false,
    localTimeOffset: '+08:00',
  });
  t.equal(hr.password(), 'first', 'relative to the sources file; trailing newline dropped');
  writeFileSync(join(dir, 'hr.password'), 'rotated');
  t.equal(hr.password(), 'rotated', 're-read for each new connection');
  t.match(sources.get('mr_db'), { port: 6432, poolSize: 3, statementTimeoutMs: 900, countTotal: true });
  t.equal(sources.get('mr_db')!.password(), 'from-env');
});

t.test('bad sources are refused with a message that names the problem', async (t) => {
  const cases: [string, unknown, RegExp][] = [
    [
      'a password in the file',
      { sources: { a: { ...base, password: 'x', passwordEnv: 'P' } } },
      /\/sources\/a\/password.*never a password/,
    ],
    ['no password', { sources: { a: base } }, /"a": give exactly one of passwordFile and passwordEnv/],
    ['both', { sources: { a: { ...base, passwordEnv: 'P', passwordFile: '/etc/hostname' } } }, /exactly one/],
    ['unset variable', { sources: { a: { ...base, passwordEnv: 'NOT_SET' } } }, /NOT_SET is not set/],
    [
      'missing password file',
      { sources: { a: { ...base, passwordFile: '/nonexistent/pw' } } },
      /cannot be read/,
    ],
    ['bad name', { sources: { 'Bad Name': { ...base, passwordEnv: 'P' } } }, /\/sources/],
    [
      'unknown dialect',
      { sources: { a: { ...base, dialect: 'oracle', passwordEnv: 'P' } } },
      /\/sources\/a\/dialect/,
    ],
    [
      'pool too big',
      { sources: { a: { ...base, passwordEnv: 'P', poolSize: 1000 } } },
      /\/sources\/a\/poolSize/,
    ],
    ['not an object', [], /SQL sources: \//],
  ];
  for (const [name, value, message] of cases) {
    t.throws(
      () => resolveSqlSources(value, { env: { P: 'x' } }),
      { code: 'SQL_SOURCES_INVALID', message },
      name,
    );
  }
  t.throws(() => loadSqlSources('/nonexistent/sources.json'), {
    code: 'SQL_SOURCES_INVALID',
    message: /cannot be read/,
  });
  const dir = mkdtempSync(join(tmpdir(), 'govshare-sources-'));
  writeFileSync(join(dir, 's.json'), '{ not json');
  t.throws(() => loadSqlSources(join(dir, 's.json')), { message: /is not valid JSON/ });
});

t.test('every SQL connector error code is documented', async (t) => {
  t.same(Object.keys(sqlConnectorErrorDocs).sort(), Object.keys(sqlConnectorErrors).sort());
  for (const [code, Ctor] of Object.entries(sqlConnectorErrors)) t.equal(new Ctor('x').code, code);
});
