import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import t from 'tap';
import { buildCrl, type RevokedCertificate } from '../../certs/crl.js';
import { REVOCATION_REASONS } from '../../certs/schema.js';
import { makePlatform, openssl, tempDir } from './platform-fixture.js';

const { platform } = await makePlatform(t, { caName: { organization: '某市大数据管理局' } });
const work = tempDir(t, 'crl');
writeFileSync(join(work, 'ca.pem'), platform.caCertPem);
const thisUpdate = new Date('2026-04-01T00:00:00Z');
const nextUpdate = new Date('2026-04-08T00:00:00Z');

/** Writes the CRL and has openssl check its signature and print it. */
function inspect(der: Buffer, name: string) {
  writeFileSync(join(work, name), der);
  return openssl(
    ['crl', '-inform', 'DER', '-in', name, '-CAfile', 'ca.pem', '-noout', '-text', '-nameopt', 'utf8'],
    work,
  );
}

const OPENSSL_REASON: Record<string, string> = {
  keyCompromise: 'Key Compromise',
  caCompromise: 'CA Compromise',
  affiliationChanged: 'Affiliation Changed',
  superseded: 'Superseded',
  cessationOfOperation: 'Cessation Of Operation',
  certificateHold: 'Certificate Hold',
  privilegeWithdrawn: 'Privilege Withdrawn',
};

t.test('every reason, verified and listed by openssl', async (t) => {
  const revoked: RevokedCertificate[] = REVOCATION_REASONS.map((reason, i) => ({
    serial: `${(0x10 + i).toString(16)}${'ab'.repeat(15)}`,
    revokedAt: new Date(Date.UTC(2026, 2, 1 + i, 10, 0, 0)),
    reason,
  }));
  // A serial with its top bit set must still be a positive INTEGER.
  revoked.push({ serial: 'ff01', revokedAt: new Date('2026-03-20T00:00:00Z'), reason: 'superseded' });
  const result = inspect(
    await buildCrl(platform, revoked, { crlNumber: 42, thisUpdate, nextUpdate }),
    'all.der',
  );
  t.equal(result.status, 0, result.stderr);
  t.match(result.stderr, /verify OK/);
  t.match(result.stdout, /Version 2 \(0x1\)/);
  t.match(result.stdout, /Signature Algorithm: sha256WithRSAEncryption/);
  t.match(result.stdout, 'Issuer: C=CN, O=某市大数据管理局, CN=govshare Platform Root CA');
  t.match(result.stdout, 'Last Update: Apr  1 00:00:00 2026 GMT');
  t.match(result.stdout, 'Next Update: Apr  8 00:00:00 2026 GMT');
  t.match(result.stdout, /CRL Number: ?\s+42\n/);
  t.match(result.stdout, /Authority Key Identifier/);
  const entries = result.stdout.split('Serial Number: ').slice(1);
  t.equal(entries.length, revoked.length);
  for (const [i, entry] of revoked.entries()) {
    const printed = entries[i]!;
    t.ok(printed.startsWith(entry.serial.toUpperCase()), `serial ${entry.serial} listed in uppercase`);
    if (entry.reason === 'unspecified') {
      t.notMatch(printed, /CRL Reason Code/, 'no reasonCode extension for unspecified');
    } else {
      t.match(printed, new RegExp(`CRL Reason Code: ?\\s+${OPENSSL_REASON[entry.reason]}\\n`), entry.reason);
    }
  }
});

t.test('an empty CRL verifies and omits revokedCertificates', async (t) => {
  const der = await buildCrl(platform, [], { crlNumber: 1, thisUpdate, nextUpdate });
  const result = inspect(der, 'empty.der');
  t.equal(result.status, 0, result.stderr);
  t.match(result.stderr, /verify OK/);
  t.match(result.stdout, 'No Revoked Certificates.');
  const tbs = (forge.asn1.fromDer(der.toString('binary')).value as forge.asn1.Asn1[])[0]!;
  t.equal(
    (tbs.value as forge.asn1.Asn1[]).length,
    6,
    'version, signature, issuer, thisUpdate, nextUpdate, extensions',
  );
});

t.test('the issuer is the CA subject byte for byte', async (t) => {
  const der = await buildCrl(platform, [], { crlNumber: 2, thisUpdate, nextUpdate });
  const tbs = (forge.asn1.fromDer(der.toString('binary')).value as forge.asn1.Asn1[])[0]!;
  const issuer = forge.asn1.toDer((tbs.value as forge.asn1.Asn1[])[2]!).getBytes();
  const cert = forge.asn1.fromDer(forge.pem.decode(platform.caCertPem)[0]!.body);
  const subject = forge.asn1
    .toDer(((cert.value as forge.asn1.Asn1[])[0]!.value as forge.asn1.Asn1[])[5]!)
    .getBytes();
  t.equal(Buffer.from(issuer, 'binary').toString('hex'), Buffer.from(subject, 'binary').toString('hex'));
});

t.test('dates from 2050 are GeneralizedTime and still verify', async (t) => {
  const der = await buildCrl(
    platform,
    [{ serial: '1234', revokedAt: new Date('2050-01-02T03:04:05Z'), reason: 'keyCompromise' }],
    {
      crlNumber: 3,
      thisUpdate: new Date('2050-01-03T00:00:00Z'),
      nextUpdate: new Date('2050-01-10T00:00:00Z'),
    },
  );
  const result = inspect(der, 'late.der');
  t.match(result.stderr, /verify OK/);
  t.match(result.stdout, 'Last Update: Jan  3 00:00:00 2050 GMT');
  t.match(result.stdout, 'Revocation Date: Jan  2 03:04:05 2050 GMT');
});

t.test('bad input is refused', async (t) => {
  const options = { crlNumber: 4, thisUpdate, nextUpdate };
  const at = new Date();
  await t.rejects(buildCrl(platform, [{ serial: 'XYZ', revokedAt: at, reason: 'superseded' }], options), {
    code: 'CERT_SERIAL_INVALID',
  });
  await t.rejects(
    buildCrl(platform, [{ serial: 'ab', revokedAt: at, reason: 'removeFromCRL' as 'superseded' }], options),
    { code: 'REVOCATION_REASON_INVALID' },
  );
  await t.rejects(buildCrl(platform, [], { ...options, nextUpdate: thisUpdate }), RangeError);
  await t.rejects(buildCrl(platform, [], { ...options, crlNumber: -1 }), RangeError);
});

t.test('openssl notices a CRL that was altered after signing', async (t) => {
  const der = await buildCrl(platform, [{ serial: '1234', revokedAt: thisUpdate, reason: 'keyCompromise' }], {
    crlNumber: 5,
    thisUpdate,
    nextUpdate,
  });
  const altered = Buffer.from(der);
  altered[altered.length - 1] = altered[altered.length - 1]! ^ 0x01;
  const result = inspect(altered, 'altered.der');
  t.notMatch(result.stderr, /verify OK/);
  t.match(result.stderr, /verify fail/);
});
