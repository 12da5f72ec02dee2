import { createPublicKey, X509Certificate } from 'node:crypto';
import { cpSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import t from 'tap';
import {
  initPlatform,
  isPlatformSigningCertificate,
  loadPlatform,
  PLATFORM_SIGNING_URI,
  platformFiles,
  rotateSigningKey,
  SIGNING_HISTORY_DIR,
  signerKeys,
} from '../../certs/platform.js';
import { signCertificate, signSha256Rsa } from '../../certs/x509.js';
import { openssl, tempDir } from './platform-fixture.js';

const root = tempDir(t, 'platform');
const dataDir = join(root, 'data');
const now = new Date('2026-03-01T08:00:00.500Z');
const first = await initPlatform(dataDir, { now, caName: { organization: '某市大数据管理局' } });
const allFiles = Object.values(platformFiles);

/** A copy of the initialised data dir to break in one way or another. */
function copyOfDataDir(name: string): string {
  const copy = join(root, name);
  cpSync(dataDir, copy, { recursive: true });
  return copy;
}

t.test('the first run creates everything, with private files 0600 in 0700 directories', async (t) => {
  t.same([...first.created].sort(), [...allFiles].sort());
  t.same(first.kept, []);
  for (const file of [
    platformFiles.caKey,
    platformFiles.signingKey,
    platformFiles.tokenKey,
    platformFiles.subjectHmacKey,
  ]) {
    t.equal(statSync(join(dataDir, file)).mode & 0o777, 0o600, `${file} is 0600`);
  }
  for (const dir of ['ca', 'platform'])
    t.equal(statSync(join(dataDir, dir)).mode & 0o777, 0o700, `${dir}/ is 0700`);
  t.match(readFileSync(join(dataDir, platformFiles.subjectHmacKey), 'utf8'), /^[0-9a-f]{64}\n$/);
});

t.test('the CA certificate', async (t) => {
  const ca = new X509Certificate(readFileSync(join(dataDir, platformFiles.caCert)));
  t.equal(first.caSerial, ca.serialNumber.toLowerCase());
  t.equal(first.caFingerprint256, ca.fingerprint256);
  t.ok(ca.ca, 'basicConstraints CA:true');
  t.equal(ca.subject, 'C=CN\nO=某市大数据管理局\nCN=govshare Platform Root CA');
  t.equal(ca.issuer, ca.subject, 'self-signed');
  t.ok(ca.verify(ca.publicKey));
  t.equal(ca.publicKey.asymmetricKeyDetails?.modulusLength, 3072);
  t.equal(new Date(ca.validFrom).toISOString(), '2026-03-01T08:00:00.000Z', 'whole seconds');
  t.equal(new Date(ca.validTo).toISOString(), '2036-03-01T08:00:00.000Z', '10 years');
  const text = openssl([
    'x509',
    '-in',
    join(dataDir, platformFiles.caCert),
    '-noout',
    '-text',
    '-nameopt',
    'utf8',
  ]);
  t.match(text.stdout, /Basic Constraints: critical\s+CA:TRUE/);
  t.match(text.stdout, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
  t.match(text.stdout, /Subject Key Identifier/);
  t.match(text.stdout, /Signature Algorithm: sha256WithRSAEncryption/);
  t.match(text.stdout, /Subject: C=CN, O=某市大数据管理局, CN=govshare Platform Root CA/);
});

t.test('the platform signing certificate chains to the CA and names the platform', async (t) => {
  const verify = openssl(
    [
      'verify',
      '-attime',
      String(Math.floor(now.getTime() / 1000) + 60),
      '-CAfile',
      platformFiles.caCert,
      platformFiles.signingCert,
    ],
    dataDir,
  );
  t.equal(verify.status, 0, verify.stderr);
  t.match(verify.stdout, /signing-cert.pem: OK/);
  const text = openssl(
    ['x509', '-in', platformFiles.signingCert, '-noout', '-text', '-nameopt', 'utf8'],
    dataDir,
  );
  t.match(text.stdout, /Key Usage: critical\s+Digital Signature\n/);
  t.match(text.stdout, `URI:${PLATFORM_SIGNING_URI}`);
  t.match(text.stdout, /Issuer: C=CN, O=某市大数据管理局, CN=govshare Platform Root CA/);
  t.match(text.stdout, /Public-Key: \(2048 bit\)/);
  const cert = new X509Certificate(readFileSync(join(dataDir, platformFiles.signingCert)));
  t.equal(new Date(cert.validTo).toISOString(), '2028-03-01T08:00:00.000Z', '2 years');
});

t.test('loadPlatform reads everything back', async (t) => {
  const platform = loadPlatform(dataDir);
  t.equal(platform.caCertX509.fingerprint256, first.caFingerprint256);
  t.equal(platform.signingKey.type, 'private');
  t.ok(platform.signingCertX509.checkPrivateKey(platform.signingKey));
  t.equal(platform.subjectHmacKey.length, 32);
  t.equal(platform.caKeyObject.type, 'private');
  t.equal(platform.profile, 'intl', 'no recorded profile: intl');
  t.equal(platform.caSigner.keyType, 'rsa');
  t.equal(platform.caKeyObject.asymmetricKeyDetails?.modulusLength, 3072, 'RSA-3072 CA key');
  const tokenPublic = createPublicKey(platform.tokenPrivateKeyPem).export({ type: 'spki', format: 'pem' });
  t.equal(tokenPublic, platform.tokenPublicKeyPem);
  t.not(
    platform.tokenPublicKeyPem,
    createPublicKey(platform.signingKey).export({ type: 'spki', format: 'pem' }),
    'the token key is not the signing key',
  );
});

t.test('a second run keeps everything, the CA above all', async (t) => {
  const before = allFiles.map((f) => readFileSync(join(dataDir, f), 'utf8'));
  const second = await initPlatform(dataDir);
  t.same(second.created, []);
  t.same([...second.kept].sort(), [...allFiles].sort());
  t.equal(second.caFingerprint256, first.caFingerprint256);
  t.equal(second.caSerial, first.caSerial);
  t.same(
    allFiles.map((f) => readFileSync(join(dataDir, f), 'utf8')),
    before,
  );
});

t.test('missing derived files are recreated from the keys that remain', async (t) => {
  const dir = copyOfDataDir('repair');
  rmSync(join(dir, platformFiles.signingCert));
  rmSync(join(dir, platformFiles.tokenPublic));
  const signingKeyBefore = readFileSync(join(dir, platformFiles.signingKey), 'utf8');
  const result = await initPlatform(dir);
  t.same(result.created, [platformFiles.signingCert, platformFiles.tokenPublic]);
  t.equal(result.caFingerprint256, first.caFingerprint256);
  t.equal(readFileSync(join(dir, platformFiles.signingKey), 'utf8'), signingKeyBefore, 'same signing key');
  t.equal(
    readFileSync(join(dir, platformFiles.tokenPublic), 'utf8'),
    readFileSync(join(dataDir, platformFiles.tokenPublic), 'utf8'),
  );
});

t.test('an uninitialised directory tells the operator what to run', async (t) => {
  const empty = tempDir(t, 'empty');
  t.throws(() => loadPlatform(empty), {
    code: 'PLATFORM_NOT_INITIALISED',
    statusCode: 500,
    message: `run \`govshare init --data-dir ${empty}\``,
  });
});

t.test('half a CA is never completed with a new one', async (t) => {
  const dir = copyOfDataDir('half-ca');
  rmSync(join(dir, platformFiles.caCert));
  await t.rejects(initPlatform(dir), {
    code: 'PLATFORM_INCOMPLETE',
    message: /restore ca\/ca-cert.pem from backup/,
  });
  t.throws(() => loadPlatform(dir), { code: 'PLATFORM_INCOMPLETE', message: /lacks ca\/ca-cert.pem/ });
});

t.test('a certificate whose key is lost is not silently replaced', async (t) => {
  const dir = copyOfDataDir('orphan');
  rmSync(join(dir, platformFiles.signingKey));
  await t.rejects(initPlatform(dir), { code: 'PLATFORM_INCOMPLETE', message: /signing-key.pem does not/ });
});

t.test('files that do not belong together are refused', async (t) => {
  const dir = copyOfDataDir('mixed');
  // The signing key's public half where the token's belongs.
  writeFileSync(
    join(dir, platformFiles.tokenPublic),
    createPublicKey(readFileSync(join(dir, platformFiles.signingKey))).export({
      type: 'spki',
      format: 'pem',
    }),
  );
  t.throws(() => loadPlatform(dir), {
    code: 'PLATFORM_INCONSISTENT',
    message: /token-public.pem is not the public half/,
  });
  writeFileSync(join(dir, platformFiles.subjectHmacKey), 'short\n');
  cpSync(join(dataDir, platformFiles.tokenPublic), join(dir, platformFiles.tokenPublic));
  t.throws(() => loadPlatform(dir), { code: 'PLATFORM_INCONSISTENT', message: /subject-hmac.key/ });
});

t.test('node:crypto signing gives the very bytes forge would', async (t) => {
  const platform = loadPlatform(dataDir);
  const tbs = 'any bytes \u00ff\u0000 to be signed';
  const md = forge.md.sha256.create();
  md.update(tbs);
  t.equal(
    signSha256Rsa(tbs, platform.signingKey),
    forge.pki.privateKeyFromPem(readFileSync(join(dataDir, platformFiles.signingKey), 'utf8')).sign(md),
  );
  const make = () => {
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(platform.tokenPublicKeyPem);
    cert.serialNumber = '1a2b';
    cert.validity.notBefore = now;
    cert.validity.notAfter = new Date('2027-03-01T08:00:00Z');
    cert.setSubject([{ shortName: 'CN', value: 'equivalence' }]);
    cert.setIssuer([{ shortName: 'CN', value: 'equivalence' }]);
    return cert;
  };
  const ours = make();
  const forges = make();
  await signCertificate(ours, platform.caSigner);
  const caKey = forge.pki.privateKeyFromPem(readFileSync(join(dataDir, platformFiles.caKey), 'utf8'));
  forges.sign(caKey, forge.md.sha256.create());
  t.equal(forge.pki.certificateToPem(ours), forge.pki.certificateToPem(forges));
});

t.test(
  'rotating the signing key keeps the old certificate in the history; a tampered history stops loading',
  async (t) => {
    const dir = copyOfDataDir('rotate');
    const before = loadPlatform(dir);
    const oldFingerprint = before.signingCertX509.fingerprint256.replaceAll(':', '').toLowerCase();
    t.same([...before.signingCertificates.keys()], [oldFingerprint], 'only the current one at first');

    const rotated = await rotateSigningKey(dir, { now: new Date('2027-01-01T00:00:00Z') });
    t.equal(rotated.previous, oldFingerprint);
    const after = loadPlatform(dir);
    t.equal(rotated.current, after.signingCertX509.fingerprint256.replaceAll(':', '').toLowerCase());
    t.not(rotated.current, rotated.previous, 'a new certificate');
    t.notOk(
      after.signingKey
        .export({ format: 'der', type: 'pkcs8' })
        .equals(before.signingKey.export({ format: 'der', type: 'pkcs8' })),
      'over a new key',
    );
    t.equal(statSync(join(dir, platformFiles.signingKey)).mode & 0o777, 0o600, 'the new key is 0600');
    t.ok(
      isPlatformSigningCertificate(after.signingCertX509, after.caCertX509, new Date('2027-06-01T00:00:00Z')),
    );
    t.same([...after.signingCertificates.keys()].sort(), [rotated.previous, rotated.current].sort());
    t.ok(after.signingCertificates.get(rotated.previous)!.publicKey.equals(before.signingCertX509.publicKey));
    t.same([...signerKeys(after).keys()].sort(), [rotated.previous, rotated.current].sort());

    // A second rotation keeps both earlier certificates.
    const again = await rotateSigningKey(dir);
    t.equal(again.previous, rotated.current);
    t.equal(loadPlatform(dir).signingCertificates.size, 3);

    // A file in the history that is not a platform signing certificate of this CA, or is misnamed.
    const history = join(dir, SIGNING_HISTORY_DIR);
    const copyRotated = (name: string) => {
      const copy = join(root, name);
      cpSync(dir, copy, { recursive: true });
      return copy;
    };
    const systemCert = copyRotated('rotate-bad');
    writeFileSync(
      join(systemCert, SIGNING_HISTORY_DIR, `${'0'.repeat(64)}.pem`),
      readFileSync(join(dir, platformFiles.caCert)),
    );
    t.throws(() => loadPlatform(systemCert), {
      code: 'PLATFORM_INCONSISTENT',
      message: /not a platform signing certificate/,
    });
    const misnamed = copyRotated('rotate-misnamed');
    cpSync(
      join(history, `${rotated.previous}.pem`),
      join(misnamed, SIGNING_HISTORY_DIR, `${'a'.repeat(64)}.pem`),
    );
    t.throws(() => loadPlatform(misnamed), {
      code: 'PLATFORM_INCONSISTENT',
      message: /not named after its SHA-256 fingerprint/,
    });
  },
);
