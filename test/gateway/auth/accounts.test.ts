import { randomBytes } from 'node:crypto';
import t from 'tap';
import { openTotpSecret, sealTotpSecret, totpSealKey } from '../../../gateway/auth/accounts.js';

t.test('TOTP secrets are sealed with AES-256-GCM bound to the account name', async (t) => {
  const key = totpSealKey(randomBytes(32));
  t.equal(key.length, 32);
  t.not(key.toString('hex'), totpSealKey(randomBytes(32)).toString('hex'));
  const sealed = sealTotpSecret(key, 'zhao.lei', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
  t.match(sealed, /^v1\.[A-Za-z0-9_-]+$/);
  t.notMatch(sealed, 'JBSWY3DP');
  t.not(sealed, sealTotpSecret(key, 'zhao.lei', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'), 'a fresh IV each time');
  t.equal(openTotpSecret(key, 'zhao.lei', sealed), 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
  t.throws(() => openTotpSecret(key, 'sun.li', sealed), 'not under another account name');
  t.throws(() => openTotpSecret(totpSealKey(randomBytes(32)), 'zhao.lei', sealed), 'not with another key');
  const raw = Buffer.from(sealed.slice(3), 'base64url');
  raw[14]! ^= 1;
  t.throws(() => openTotpSecret(key, 'zhao.lei', `v1.${raw.toString('base64url')}`), 'not when altered');
});
