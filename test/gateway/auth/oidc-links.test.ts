import { randomBytes } from 'node:crypto';
import { generate } from 'otplib';
import t from 'tap';
import { AccountStore } from '../../../gateway/auth/accounts.js';
import { OidcLinks } from '../../../gateway/auth/oidc-links.js';
import { useRedis } from '../../helpers/redis.js';

const ISSUER = 'https://idp.example.gov.cn/realms/hubei';

t.test('links: one identity for one account, replaced on relink, kept as a keyed hash', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const secret = randomBytes(32);
  const links = new OidcLinks(redis, prefix, secret);
  t.same(await links.link('li.na', ISSUER, '420101199001011234'), { replaced: false });
  t.same(
    await links.link('li.na', ISSUER, '420101199001011234'),
    { replaced: false },
    'linking again is a no-op',
  );
  t.equal(await links.accountOf(ISSUER, '420101199001011234'), 'li.na');
  t.equal(await links.accountOf('https://other.example/', '420101199001011234'), undefined, 'per issuer');
  await t.rejects(links.link('wang.fang', ISSUER, '420101199001011234'), { code: 'OIDC_SUBJECT_LINKED' });
  await t.rejects(links.link('wang.fang', ISSUER, 'has space'), { code: 'ACCOUNT_INVALID' });
  await t.rejects(links.link('wang.fang', ISSUER, 'x'.repeat(256)), { code: 'ACCOUNT_INVALID' });

  t.same(await links.link('li.na', ISSUER, 'new-sub'), { replaced: true });
  t.equal(
    await links.accountOf(ISSUER, '420101199001011234'),
    undefined,
    'the old identity no longer signs in',
  );
  t.equal(await links.accountOf(ISSUER, 'new-sub'), 'li.na');
  t.same(
    await links.link('wang.fang', ISSUER, '420101199001011234'),
    { replaced: false },
    'and is free again',
  );

  t.equal(
    links.identityHash(ISSUER, 'new-sub'),
    new OidcLinks(redis, prefix, secret).identityHash(ISSUER, 'new-sub'),
  );
  t.not(
    links.identityHash(ISSUER, 'new-sub'),
    new OidcLinks(redis, prefix, randomBytes(32)).identityHash(ISSUER, 'new-sub'),
  );
  const stored = JSON.stringify(
    await Promise.all((await redis.keys(`${prefix}*`)).map(async (k) => [k, await redis.get(k)])),
  );
  t.notMatch(stored, '420101199001011234', 'no identity in clear');
  t.notMatch(stored, 'new-sub');
});

t.test(
  'signInLinked: the lock holds, the code is asked unless the identity service asserted MFA',
  async (t) => {
    const { redis, prefix } = await useRedis(t);
    const store = new AccountStore(redis, prefix, { maxFailures: 2 });
    const { totpSecret } = await store.add({
      name: 'zhao.lei',
      displayName: '赵磊',
      role: 'bureau',
      password: 'correct horse battery staple',
    });
    await t.rejects(store.signInLinked('zhao.lei', undefined, false), { code: 'TOTP_REQUIRED' });
    t.same(
      (await store.signInLinked('zhao.lei', undefined, true)).roles,
      ['bureau'],
      'MFA asserted: no code',
    );
    await t.rejects(store.signInLinked('zhao.lei', '000000', false), { code: 'SIGNIN_FAILED' });
    t.same(
      (await store.signInLinked('zhao.lei', await generate({ secret: totpSecret! }), false)).name,
      'zhao.lei',
    );
    await t.rejects(store.signInLinked('nobody.here', undefined, true), { code: 'ACCOUNT_UNKNOWN' });

    await t.rejects(store.signIn('zhao.lei', 'wrong', undefined), { code: 'SIGNIN_FAILED' });
    await t.rejects(store.signIn('zhao.lei', 'wrong', undefined), { code: 'ACCOUNT_LOCKED' });
    await t.rejects(
      store.signInLinked('zhao.lei', undefined, true),
      { code: 'ACCOUNT_LOCKED' },
      'locked for OIDC too',
    );
  },
);
