/**
 * The gm profile's CA: an SM2 root, SM2 system certificates and SM2 CRLs, each checked by OpenSSL 3 as
 * the independent verifier (with the default distinguishing ID 1234567812345678).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildCrl } from '../../certs/crl.js';
import { CRYPTO_PROFILE_FILE, readCryptoProfile } from '../../certs/crypto-profile.js';
import {
  certifySystemKey,
  issueSystemCertificate,
  parseSystemIdentity,
  writeCertificateBundle,
} from '../../certs/issue.js';
import { certificateSignedBy, initPlatform, loadPlatform, platformFiles } from '../../certs/platform.js';
import { isSm2Signed, verifyIssuedBy, verifySm2Crl } from '../../certs/sm2-x509-verify.js';
import { generateRsaKeyPair } from '../../certs/x509.js';
import { makePlatform, openssl, tempDir } from './platform-fixture.js';

const DISTID = 'distid:1234567812345678';
const { dataDir, platform } = await makePlatform(t, {
  crypto: 'gm',
  caName: { organization: '某市大数据管理局' },
});
const work = tempDir(t, 'gm');
writeFileSync(join(work, 'ca.pem'), platform.caCertPem);
const deptCode = '11420100010001138Y';
const bundle = await issueSystemCertificate(platform, {
  deptCode,
  deptName: '武汉市市场监督管理局',
  systemId: 'registration',
});
const paths = await writeCertificateBundle(join(work, 'amr'), bundle);

t.test('the profile is recorded and read back', async (t) => {
  t.equal(platform.profile, 'gm');
  t.equal(readCryptoProfile(dataDir), 'gm');
  t.same(JSON.parse(readFileSync(join(dataDir, CRYPTO_PROFILE_FILE), 'utf8')), { crypto: 'gm' });
  t.equal(platform.caSigner.keyType, 'sm2');
  t.equal(platform.platformSigner.keyType, 'sm2');
  t.equal(platform.caCert, undefined, 'node-forge has no SM2: no forge certificate');
});

t.test('openssl verifies the SM2 root and the SM2 system certificate with the default ID', async (t) => {
  const root = openssl(['verify', '-vfyopt', DISTID, '-CAfile', 'ca.pem', 'ca.pem'], work);
  t.equal(root.status, 0, root.stderr);
  const leaf = openssl(['verify', '-vfyopt', DISTID, '-CAfile', 'ca.pem', paths.certPath], work);
  t.equal(leaf.status, 0, leaf.stderr);
  t.match(leaf.stdout, ': OK');
  const text = openssl(['x509', '-in', paths.certPath, '-noout', '-text', '-nameopt', 'utf8'], work);
  t.match(text.stdout, /Signature Algorithm: SM2-with-SM3/);
  t.match(text.stdout, /ASN1 OID: SM2/);
  t.match(text.stdout, 'URI:urn:govshare:11420100010001138Y:registration');
  t.match(text.stdout, 'Subject: C=CN, O=武汉市市场监督管理局, OU=11420100010001138Y, CN=registration');
  t.match(text.stdout, /CA:FALSE/);
  t.match(text.stdout, /TLS Web Client Authentication/);
  const oid = openssl(['asn1parse', '-in', paths.certPath], work);
  t.match(oid.stdout, /:SM2-with-SM3/);
  // The key written beside it is the certificate's own: openssl signs, and the certificate's key verifies.
  writeFileSync(join(work, 'msg'), 'govshare');
  const signed = openssl(
    [
      'pkeyutl',
      '-sign',
      '-inkey',
      paths.keyPath,
      '-rawin',
      '-digest',
      'sm3',
      '-pkeyopt',
      DISTID,
      '-in',
      'msg',
      '-out',
      'msg.sig',
    ],
    work,
  );
  t.equal(signed.status, 0, signed.stderr);
  const verified = openssl(
    [
      'pkeyutl',
      '-verify',
      '-certin',
      '-inkey',
      paths.certPath,
      '-rawin',
      '-digest',
      'sm3',
      '-pkeyopt',
      DISTID,
      '-in',
      'msg',
      '-sigfile',
      'msg.sig',
    ],
    work,
  );
  t.equal(verified.status, 0, verified.stderr);
});

t.test('an altered SM2 certificate fails in openssl and in our verifier', async (t) => {
  const der = Buffer.from(new X509Certificate(bundle.certPem).raw);
  t.ok(verifyIssuedBy(der, platform.caCertPem));
  const altered = Buffer.from(der);
  // Flip a byte inside the validity (TBS), not the structure.
  const at = der.indexOf(Buffer.from('registration'));
  altered[at] = altered[at]! ^ 0x01;
  t.notOk(verifyIssuedBy(altered, platform.caCertPem));
  writeFileSync(join(work, 'altered.der'), altered);
  const result = openssl(
    ['verify', '-vfyopt', DISTID, '-CAfile', 'ca.pem', '-inform', 'DER', 'altered.der'],
    work,
  );
  t.not(result.status, 0);
  // A certificate of another SM2 CA does not pass for ours.
  const other = await makePlatform(t, { crypto: 'gm' });
  const foreign = await issueSystemCertificate(other.platform, {
    deptCode,
    deptName: 'x',
    systemId: 'registration',
  });
  t.notOk(certificateSignedBy(new X509Certificate(foreign.certPem), platform.caCertX509));
  t.ok(certificateSignedBy(new X509Certificate(bundle.certPem), platform.caCertX509));
});

t.test('identity, serial and the platform signing certificate', async (t) => {
  t.same(parseSystemIdentity(bundle.certPem), { deptCode, systemId: 'registration' });
  t.match(bundle.serial, /^[1-7][0-9a-f]{31}$/);
  t.equal(new X509Certificate(bundle.certPem).serialNumber.toLowerCase(), bundle.serial);
  t.ok(isSm2Signed(platform.signingCertPem));
  const signing = openssl(
    ['verify', '-vfyopt', DISTID, '-CAfile', 'ca.pem', join(dataDir, platformFiles.signingCert)],
    work,
  );
  t.equal(signing.status, 0, signing.stderr);
});

t.test(
  'an SM2 CRL: PEM X509 CRL, parsed by openssl, its signature verified by openssl pkeyutl',
  async (t) => {
    const thisUpdate = new Date('2026-04-01T00:00:00Z');
    const der = await buildCrl(
      platform,
      [
        { serial: bundle.serial, revokedAt: new Date('2026-03-31T10:00:00Z'), reason: 'keyCompromise' },
        { serial: 'ff01', revokedAt: new Date('2026-03-30T10:00:00Z'), reason: 'unspecified' },
      ],
      { crlNumber: 7, thisUpdate, nextUpdate: new Date('2026-04-08T00:00:00Z') },
    );
    t.ok(verifySm2Crl(der, platform.caCertPem));
    writeFileSync(join(work, 'crl.der'), der);
    const pem = openssl(['crl', '-inform', 'DER', '-in', 'crl.der', '-out', 'crl.pem'], work);
    t.equal(pem.status, 0, pem.stderr);
    t.match(readFileSync(join(work, 'crl.pem'), 'utf8'), /^-----BEGIN X509 CRL-----\n/);
    const text = openssl(['crl', '-in', 'crl.pem', '-noout', '-text', '-nameopt', 'utf8'], work);
    t.match(text.stdout, /Signature Algorithm: SM2-with-SM3/);
    t.match(text.stdout, 'Issuer: C=CN, O=某市大数据管理局, CN=govshare Platform Root CA');
    t.match(text.stdout, /CRL Number: ?\s+7\n/);
    t.match(text.stdout, /Authority Key Identifier/);
    t.match(text.stdout, bundle.serial.toUpperCase());
    t.match(text.stdout, /Key Compromise/);
    // OpenSSL 3.0 applies no distinguishing ID to a CRL (`openssl crl -CAfile` fails on every SM2 CRL), so
    // the signature is checked as what it is: SM2 over the TBSCertList with the default ID.
    const parsed = openssl(['asn1parse', '-inform', 'DER', '-in', 'crl.der'], work).stdout.split('\n');
    const sigLine = parsed.find((line) => /d=1 .*BIT STRING/.test(line))!;
    const sigOffset = /^\s*(\d+):/.exec(sigLine)![1]!;
    t.equal(
      openssl(
        ['asn1parse', '-inform', 'DER', '-in', 'crl.der', '-strparse', '4', '-noout', '-out', 'tbs.der'],
        work,
      ).status,
      0,
    );
    t.equal(
      openssl(
        [
          'asn1parse',
          '-inform',
          'DER',
          '-in',
          'crl.der',
          '-strparse',
          sigOffset,
          '-noout',
          '-out',
          'sig.der',
        ],
        work,
      ).status,
      0,
    );
    t.equal(openssl(['x509', '-in', 'ca.pem', '-pubkey', '-noout', '-out', 'ca-pub.pem'], work).status, 0);
    const verify = (tbs: string) =>
      openssl(
        [
          'pkeyutl',
          '-verify',
          '-pubin',
          '-inkey',
          'ca-pub.pem',
          '-rawin',
          '-digest',
          'sm3',
          '-pkeyopt',
          DISTID,
          '-in',
          tbs,
          '-sigfile',
          'sig.der',
        ],
        work,
      );
    const ok = verify('tbs.der');
    t.equal(ok.status, 0, ok.stderr);
    t.match(ok.stdout, /Signature Verified Successfully/);
    const tbs = readFileSync(join(work, 'tbs.der'));
    tbs[tbs.length - 1] = tbs[tbs.length - 1]! ^ 0x01;
    writeFileSync(join(work, 'tbs-altered.der'), tbs);
    t.not(verify('tbs-altered.der').status, 0, 'an altered CRL does not verify');
  },
);

t.test('a gm platform certifies SM2 keys only, an intl one RSA keys only', async (t) => {
  const rsa = await generateRsaKeyPair(2048);
  await t.rejects(
    certifySystemKey(platform, rsa.publicKeyPem, { deptCode, deptName: 'x', systemId: 'rsa-key' }),
    {
      code: 'CERT_KEY_TYPE_INVALID',
      statusCode: 422,
    },
  );
});

t.test('a profile is chosen once', async (t) => {
  await t.rejects(initPlatform(dataDir, { crypto: 'intl' }), { code: 'CRYPTO_PROFILE_CONFLICT' });
  const again = await initPlatform(dataDir, { crypto: 'gm' });
  t.same(again.created, [], 'nothing replaced');
  t.equal(again.profile, 'gm');
  const kept = await initPlatform(dataDir);
  t.equal(kept.profile, 'gm', 'init without --crypto keeps the recorded profile');
  const intlDir = join(tempDir(t, 'intl'), 'data');
  const intl = await initPlatform(intlDir);
  t.equal(intl.profile, 'intl');
  t.notOk(
    existsSync(join(intlDir, CRYPTO_PROFILE_FILE)),
    'an intl platform writes no profile file (as before)',
  );
  await t.rejects(initPlatform(intlDir, { crypto: 'gm' }), { code: 'CRYPTO_PROFILE_CONFLICT' });
  writeFileSync(join(intlDir, CRYPTO_PROFILE_FILE), '{"crypto":"sm9"}');
  t.throws(() => loadPlatform(intlDir), { code: 'CRYPTO_PROFILE_INVALID' });
  writeFileSync(join(intlDir, CRYPTO_PROFILE_FILE), '{"crypto":"gm"}');
  t.throws(() => loadPlatform(intlDir), { code: 'PLATFORM_INCONSISTENT' }, 'RSA keys under a gm label');
});
