import { constants, createPrivateKey, privateDecrypt, publicEncrypt, X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  certifySystemKey,
  issueSystemCertificate,
  parseSystemIdentity,
  SYSTEM_ID_PATTERN,
  writeCertificateBundle,
} from '../../certs/issue.js';
import { generateRsaKeyPair } from '../../certs/x509.js';
import { makePlatform, openssl, tempDir } from './platform-fixture.js';

const now = new Date('2026-05-10T02:03:04.900Z');
const { platform } = await makePlatform(t, { now: new Date('2026-01-01T00:00:00Z') });
const deptCode = '91350100M000100Y43';
const bundle = await issueSystemCertificate(platform, {
  deptCode,
  deptName: '福州市公安局',
  systemId: 'hukou-query',
  now,
});
// A key for the tests that only certify: key generation is the slow part.
const { publicKeyPem } = await generateRsaKeyPair(2048);
const work = tempDir(t, 'issue');
writeFileSync(join(work, 'ca.pem'), bundle.caPem);
writeFileSync(join(work, 'cert.pem'), bundle.certPem);

t.test('openssl verifies the certificate against the CA', async (t) => {
  const result = openssl(
    [
      'verify',
      '-attime',
      String(Math.floor(now.getTime() / 1000) + 60),
      '-CAfile',
      'ca.pem',
      '-purpose',
      'sslclient',
      'cert.pem',
    ],
    work,
  );
  t.equal(result.status, 0, result.stderr);
  t.equal(result.stdout.trim(), 'cert.pem: OK');
});

t.test('subject, SAN, key usages and identifiers as openssl shows them', async (t) => {
  const { stdout } = openssl(['x509', '-in', 'cert.pem', '-noout', '-text', '-nameopt', 'utf8'], work);
  t.match(stdout, 'Subject: C=CN, O=福州市公安局, OU=91350100M000100Y43, CN=hukou-query');
  t.match(stdout, 'URI:urn:govshare:91350100M000100Y43:hukou-query');
  t.match(stdout, /Basic Constraints: critical\s+CA:FALSE/);
  t.match(stdout, /Key Usage: critical\s+Digital Signature, Key Encipherment/);
  t.match(stdout, /Extended Key Usage: ?\s+TLS Web Client Authentication\n/);
  t.match(stdout, /Authority Key Identifier/);
  t.match(stdout, /Subject Key Identifier/);
  t.match(stdout, /Signature Algorithm: sha256WithRSAEncryption/);
  t.match(stdout, /Public-Key: \(2048 bit\)/);
  const aki = /Authority Key Identifier: ?\n\s+(?:keyid:)?([0-9A-F:]+)/.exec(stdout)?.[1];
  const caText = openssl(['x509', '-in', 'ca.pem', '-noout', '-text'], work).stdout;
  const caSki = /Subject Key Identifier: ?\n\s+([0-9A-F:]+)/.exec(caText)?.[1];
  t.ok(aki, 'an authority key id');
  t.equal(aki, caSki, 'the authority key id is the CA subject key id');
});

t.test('the serial is what openssl and node print, lowercased', async (t) => {
  t.match(bundle.serial, /^[1-7][0-9a-f]{31}$/);
  const printed = openssl(['x509', '-in', 'cert.pem', '-noout', '-serial'], work).stdout.trim();
  t.equal(printed, `serial=${bundle.serial.toUpperCase()}`);
  t.equal(new X509Certificate(bundle.certPem).serialNumber.toLowerCase(), bundle.serial);
  t.equal(BigInt(`0x${bundle.serial}`).toString(16), bundle.serial, 'no leading zero to lose');
});

t.test('validity, fingerprint and the CA returned with the bundle', async (t) => {
  t.equal(bundle.notBefore.toISOString(), '2026-05-10T02:03:04.000Z');
  t.equal(bundle.notAfter.toISOString(), '2027-05-10T02:03:04.000Z', '365 days by default');
  const x509 = new X509Certificate(bundle.certPem);
  t.equal(bundle.fingerprint256, x509.fingerprint256);
  t.equal(bundle.caPem, platform.caCertPem);
  t.ok(x509.checkPrivateKey(createPrivateKey(bundle.keyPem)));
});

t.test('the key deciphers what is wrapped to the certificate with RSA-OAEP', async (t) => {
  const secret = Buffer.from('a bulk file key, 32 bytes long..');
  const wrapped = publicEncrypt(
    {
      key: new X509Certificate(bundle.certPem).publicKey,
      padding: constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: 'sha256',
    },
    secret,
  );
  const unwrapped = privateDecrypt(
    { key: bundle.keyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    wrapped,
  );
  t.same(unwrapped, secret);
});

t.test('parseSystemIdentity reads the SAN URI from a PEM or an X509Certificate', async (t) => {
  const expected = { deptCode, systemId: 'hukou-query' };
  t.same(parseSystemIdentity(bundle.certPem), expected);
  t.same(parseSystemIdentity(new X509Certificate(bundle.certPem)), expected);
  t.throws(() => parseSystemIdentity(platform.signingCertPem), { code: 'CERT_IDENTITY_INVALID' });
  t.throws(() => parseSystemIdentity(platform.caCertX509), { code: 'CERT_IDENTITY_INVALID' });
});

t.test('requests that cannot be issued are refused before signing', async (t) => {
  const ok = { deptCode, deptName: '福州市公安局', systemId: 'ok-system', now };
  const refused: [object, string][] = [
    [{ systemId: 'Upper' }, 'SYSTEM_ID_INVALID'],
    [{ systemId: '-lead' }, 'SYSTEM_ID_INVALID'],
    [{ systemId: 'a' }, 'SYSTEM_ID_INVALID'],
    [{ systemId: `a${'b'.repeat(63)}` }, 'SYSTEM_ID_INVALID'],
    [{ systemId: 'under_score' }, 'SYSTEM_ID_INVALID'],
    [{ days: 0 }, 'CERT_VALIDITY_INVALID'],
    [{ days: 826 }, 'CERT_VALIDITY_INVALID'],
    [{ days: 1.5 }, 'CERT_VALIDITY_INVALID'],
    [{ deptCode: '91350100M000100Y4' }, 'USCC_INVALID'],
    [{ deptCode: '91350100m000100Y43' }, 'USCC_INVALID'],
    [{ deptName: '' }, 'DEPARTMENT_NAME_INVALID'],
  ];
  for (const [change, code] of refused) {
    await t.rejects(
      certifySystemKey(platform, publicKeyPem, { ...ok, ...change }),
      { code },
      JSON.stringify(change),
    );
  }
  t.ok(new RegExp(SYSTEM_ID_PATTERN).test('a1'), 'two characters are enough');
  const longest = await certifySystemKey(platform, publicKeyPem, {
    ...ok,
    systemId: `a${'b'.repeat(62)}`,
    days: 825,
  });
  t.equal(longest.notAfter.getTime() - longest.notBefore.getTime(), 825 * 86_400_000);
});

t.test('a certificate never outlives the CA', async (t) => {
  const late = new Date('2035-10-01T00:00:00Z');
  const cert = await certifySystemKey(platform, publicKeyPem, {
    deptCode,
    deptName: 'x',
    systemId: 'late',
    days: 825,
    now: late,
  });
  t.equal(cert.notAfter.toISOString(), new Date(platform.caCertX509.validTo).toISOString());
  t.equal(cert.notAfter.toISOString(), '2036-01-01T00:00:00.000Z');
});

t.test('writeCertificateBundle writes the key 0600 and refuses to overwrite it', async (t) => {
  const dir = join(tempDir(t, 'bundle'), 'hukou-query');
  const paths = await writeCertificateBundle(dir, bundle);
  t.equal(statSync(dir).mode & 0o777, 0o700);
  t.equal(statSync(paths.keyPath).mode & 0o777, 0o600);
  t.equal(readFileSync(paths.certPath, 'utf8'), bundle.certPem);
  t.equal(readFileSync(paths.caPath, 'utf8'), bundle.caPem);
  await t.rejects(writeCertificateBundle(dir, bundle), { code: 'CERT_BUNDLE_EXISTS', statusCode: 409 });
  const replacement = { ...bundle, keyPem: `${bundle.keyPem}\n` };
  await writeCertificateBundle(dir, replacement, { force: true });
  t.equal(readFileSync(paths.keyPath, 'utf8'), replacement.keyPem);
  t.equal(statSync(paths.keyPath).mode & 0o777, 0o600);
});
