import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { cli } from '../helpers/cli.js';
import { useRedis } from '../helpers/redis.js';

t.test('operator commands: init, departments, systems, certificates, tokens, catalog', async (t) => {
  const { server, prefix } = await useRedis(t);
  const dataDir = mkdtempSync(join(tmpdir(), 'govshare-cli-'));
  const env = { GOVSHARE_REDIS_URL: server.url, GOVSHARE_REDIS_PREFIX: prefix, GOVSHARE_DATA_DIR: dataDir };

  const help = await cli(['--help'], env);
  t.equal(help.code, 0);
  for (const name of [
    'init',
    'serve',
    'dept add',
    'system add',
    'cert issue',
    'cert revoke',
    'cert list',
    'token',
    'call',
    'audit verify',
  ]) {
    t.ok(help.out.join('\n').includes(`  ${name} `), `--help lists ${name}`);
  }

  const first = await cli(['init'], env);
  t.equal(first.code, 0);
  t.match(first.out.join('\n'), /created ca\/ca-key\.pem/);
  const fingerprint = first.out.find((l) => l.startsWith('CA SHA-256'));
  const second = await cli(['init', '--data-dir', dataDir], {});
  t.equal(second.code, 0);
  t.match(second.out[0], /already initialised.*kept the existing CA/);
  t.equal(
    second.out.find((l) => l.startsWith('CA SHA-256')),
    fingerprint,
    'the same CA is kept',
  );
  t.equal(statSync(join(dataDir, 'ca/ca-key.pem')).mode & 0o777, 0o600, 'the CA key is 0600');

  const wrong = await cli(['dept', 'add', '--code', '11420100010000303H', '--name', '武汉市公安局'], env);
  t.equal(wrong.code, 1);
  t.match(
    wrong.err.join('\n'),
    /USCC_INVALID: .*check character 18 is "H" but the first 17 characters give "G"/,
  );
  t.equal(
    (await cli(['dept', 'add', '--code', '11420100010000303G', '--name', '武汉市公安局'], env)).code,
    0,
  );
  t.equal(
    (
      await cli(
        ['system', 'add', '--dept', '11420100010000303G', '--id', 'hukou-service', '--name', '户籍业务系统'],
        env,
      )
    ).code,
    0,
  );

  const out = join(dataDir, 'systems', 'psb');
  const issued = await cli(
    [
      'cert',
      'issue',
      '--dept',
      '11420100010000303G',
      '--system',
      'hukou-service',
      '--out',
      out,
      '--days',
      '30',
    ],
    env,
  );
  t.equal(issued.code, 0, issued.err.join('\n'));
  const serial = issued.out[0]!;
  t.match(serial, /^[0-9a-f]{32}$/, 'prints the serial in lowercase hex');
  t.equal(statSync(join(out, 'key.pem')).mode & 0o777, 0o600, 'key.pem is 0600');
  t.match(
    execFileSync('openssl', ['verify', '-CAfile', join(out, 'ca.pem'), join(out, 'cert.pem')], {
      encoding: 'utf8',
    }),
    /OK/,
  );
  const text = execFileSync('openssl', ['x509', '-in', join(out, 'cert.pem'), '-noout', '-text'], {
    encoding: 'utf8',
  });
  t.match(text, /URI:urn:govshare:11420100010000303G:hukou-service/);
  t.match(text, /TLS Web Client Authentication/);

  const again = await cli(
    ['cert', 'issue', '--dept', '11420100010000303G', '--system', 'hukou-service', '--out', out],
    env,
  );
  t.equal(again.code, 1, 'a directory that holds a key is refused');
  t.match(again.err.join('\n'), /CERT_BUNDLE_EXISTS/);
  const list = await cli(['cert', 'list', '--dept', '11420100010000303G'], env);
  t.match(list.out.join('\n'), new RegExp(`${serial}\\s+active`));
  t.equal(
    list.out.filter((line) => /^[0-9a-f]{32}\s/.test(line)).length,
    1,
    'and no certificate is issued for it (its key would have been lost)',
  );
  t.equal((await cli(['cert', 'revoke', '--serial', serial, '--reason', 'keyCompromise'], env)).code, 0);
  t.match((await cli(['cert', 'list'], env)).out.join('\n'), new RegExp(`${serial}\\s+revoked`));
  t.equal(
    (await cli(['cert', 'revoke', '--serial', serial, '--reason', 'nonsense'], env)).code,
    2,
    'a bad reason is a usage error',
  );

  const token = await cli(
    ['token', '--sub', 'alice', '--role', 'dept-admin', '--dept', '11420100010000303G', '--ttl', '1h'],
    env,
  );
  t.equal(token.code, 0);
  const claims = JSON.parse(Buffer.from(token.out[0]!.split('.')[1]!, 'base64url').toString());
  t.same(
    [claims.sub, claims.role, claims.dept, claims.iss],
    ['alice', 'dept-admin', '11420100010000303G', 'govshare'],
  );
  t.ok(claims.exp - claims.iat === 3600);
  t.equal(
    (await cli(['token', '--sub', 'bob', '--role', 'dept-admin'], env)).code,
    1,
    'a dept-admin token needs --dept',
  );

  const bad = await cli(['dept', 'list'], { ...env, GOVSHARE_PORT: 'eighty' });
  t.equal(bad.code, 78);
  t.match(bad.err[0], /GOVSHARE_PORT must be an integer/);

  const verify = await cli(['audit', 'verify'], env);
  t.equal(verify.code, 0);
  t.match(verify.out.join('\n'), /OK/);
  t.match(
    verify.out.join('\n'),
    /4 records/,
    'dept add, system add, cert issue and cert revoke were audited',
  );
  t.ok(readFileSync(join(out, 'cert.pem'), 'utf8').includes('BEGIN CERTIFICATE'));

  // Paged by hand: each page tells how to fetch the next, and the pages together hold every record.
  const actions: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 10; page++) {
    const search = await cli(
      ['audit', 'search', '--limit', '1', ...(cursor ? ['--cursor', cursor] : [])],
      env,
    );
    t.equal(search.code, 0, search.err.join('\n'));
    actions.push(...search.out.map((line) => JSON.parse(line).action as string));
    cursor = search.err.join('\n').match(/--cursor (\S+)/)?.[1];
    if (!cursor) break;
  }
  t.same(
    actions.sort(),
    ['certificate.issue', 'certificate.revoke', 'department.add', 'system.add'],
    'four pages of one record',
  );
});
