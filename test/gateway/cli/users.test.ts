import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadPlatform } from '../../../certs/platform.js';
import { AccountStore } from '../../../gateway/auth/accounts.js';
import { OidcLinks } from '../../../gateway/auth/oidc-links.js';
import { usePlatformDir } from '../../helpers/app.js';
import { auditRecordsOf } from '../../helpers/audit.js';
import { cli } from '../../helpers/cli.js';
import { useRedis } from '../../helpers/redis.js';

t.test('govshare user add / list / unlock, with the three-officer rule', async (t) => {
  const { server, redis, prefix } = await useRedis(t);
  const env = {
    GOVSHARE_REDIS_URL: server.url,
    GOVSHARE_REDIS_PREFIX: prefix,
    GOVSHARE_DATA_DIR: await usePlatformDir(),
    GOVSHARE_LOGIN_MAX_FAILURES: '2',
  };
  const dir = mkdtempSync(join(tmpdir(), 'govshare-users-'));
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, 'correct horse battery staple\n', { mode: 0o600 });

  const bureau = await cli(
    ['user', 'add', '--name', 'zhao.lei', '--display-name', '赵磊', '--role', 'bureau'],
    env,
  );
  t.equal(bureau.code, 0, bureau.err.join('\n'));
  t.equal(bureau.out[0], 'created account zhao.lei (bureau)');
  t.match(bureau.out[1], /^initial password: [A-Za-z0-9_-]{20}$/);
  t.match(bureau.out[2], /^TOTP secret: [A-Z2-7]+$/);
  t.match(bureau.out[3], /^authenticator URI: otpauth:\/\/totp\/govshare:zhao\.lei\?/);

  const conflict = await cli(['user', 'add', '--name', 'zhao.lei', '--role', 'auditor'], env);
  t.equal(conflict.code, 1);
  t.match(conflict.err[0], /OFFICER_DUTY_CONFLICT: "zhao.lei" holds system administration/);

  const dept = await cli(
    [
      'user',
      'add',
      '--name',
      'li.na',
      '--role',
      'dept-admin',
      '--dept',
      '11420100010001138Y',
      '--password-file',
      passwordFile,
    ],
    env,
  );
  t.equal(dept.code, 0, dept.err.join('\n'));
  t.same(
    dept.out,
    ['created account li.na (dept-admin of 11420100010001138Y)'],
    'a given password is not printed',
  );
  const store = new AccountStore(redis, prefix, { maxFailures: 2 });
  t.same((await store.signIn('li.na', 'correct horse battery staple', undefined)).roles, ['dept-admin']);

  const badRole = await cli(['user', 'add', '--name', 'x.y', '--role', 'root'], env);
  t.equal(badRole.code, 2);
  const shortPassword = join(dir, 'short');
  writeFileSync(shortPassword, 'short');
  const weak = await cli(
    ['user', 'add', '--name', 'x.y', '--role', 'auditor', '--password-file', shortPassword],
    env,
  );
  t.equal(weak.code, 1);
  t.match(weak.err[0], /ACCOUNT_INVALID: account \/password/);

  await t.rejects(store.signIn('li.na', 'nope', undefined), { code: 'SIGNIN_FAILED' });
  await t.rejects(store.signIn('li.na', 'nope', undefined), { code: 'ACCOUNT_LOCKED' });
  const list = await cli(['user', 'list'], env);
  t.match(list.out.join('\n'), /li\.na {2}dept-admin 11420100010001138Y {2}li\.na {2}locked \d+s/);
  t.match(list.out.join('\n'), /zhao\.lei {2}bureau {2}赵磊 {2}totp/);
  const unlock = await cli(['user', 'unlock', '--name', 'li.na'], env);
  t.same(unlock.out, ['unlocked li.na']);
  t.ok(await store.signIn('li.na', 'correct horse battery staple', undefined));

  const trail = await Promise.all(
    (await redis.smembers(`${prefix}audit:instances`)).map((i) => auditRecordsOf(redis, prefix, i)),
  );
  t.same(
    trail.flat().map((r) => r.action),
    ['user.add', 'user.add', 'user.unlock'],
    'the refused additions changed nothing and left no record of a change',
  );
});

t.test('govshare user link-oidc links an identity of the identity service to an account', async (t) => {
  const { server, redis, prefix } = await useRedis(t);
  const dataDir = await usePlatformDir();
  const base = { GOVSHARE_REDIS_URL: server.url, GOVSHARE_REDIS_PREFIX: prefix, GOVSHARE_DATA_DIR: dataDir };
  const env = {
    ...base,
    GOVSHARE_OIDC_ISSUER: 'https://idp.example.gov.cn/realms/hubei',
    GOVSHARE_OIDC_CLIENT_ID: 'govshare-console',
    GOVSHARE_OIDC_REDIRECT_URL: 'https://gw.example.gov.cn/v1/session/oidc/callback',
  };
  t.equal((await cli(['user', 'add', '--name', 'li.na', '--role', 'bureau'], env)).code, 0);
  t.equal((await cli(['user', 'add', '--name', 'wang.fang', '--role', 'auditor'], env)).code, 0);

  const linked = await cli(['user', 'link-oidc', '--name', 'li.na', '--subject', '420101199001011234'], env);
  t.equal(linked.code, 0, linked.err.join('\n'));
  t.same(linked.out, ['linked li.na to its identity at https://idp.example.gov.cn/realms/hubei']);
  const links = new OidcLinks(redis, prefix, loadPlatform(dataDir).subjectHmacKey);
  t.equal(await links.accountOf('https://idp.example.gov.cn/realms/hubei', '420101199001011234'), 'li.na');

  const taken = await cli(
    ['user', 'link-oidc', '--name', 'wang.fang', '--subject', '420101199001011234'],
    env,
  );
  t.equal(taken.code, 1);
  t.match(taken.err[0], /OIDC_SUBJECT_LINKED: this identity is linked to the account "li.na"/);
  const unknown = await cli(['user', 'link-oidc', '--name', 'nobody', '--subject', 'x'], env);
  t.match(unknown.err[0], /ACCOUNT_UNKNOWN/);
  const off = await cli(['user', 'link-oidc', '--name', 'li.na', '--subject', 'x'], base);
  t.equal(off.code, 2);
  t.match(off.err.join('\n'), /GOVSHARE_OIDC_ISSUER must be set/);

  const keys = await redis.keys(`${prefix}*`);
  const values = await Promise.all(keys.filter((k) => k.includes('oidc')).map((k) => redis.get(k)));
  t.notMatch(JSON.stringify([keys, values]), '420101199001011234', 'no identity in clear in Redis');
  const records = (
    await Promise.all(
      (await redis.smembers(`${prefix}audit:instances`)).map((i) => auditRecordsOf(redis, prefix, i)),
    )
  ).flat();
  const link = records.find((r) => r.action === 'user.link-oidc');
  t.match(link?.detail, { name: 'li.na', identity: /^[0-9a-f]{64}$/, replaced: false });
  t.notMatch(JSON.stringify(records), '420101199001011234', 'nor in the trail');
});
