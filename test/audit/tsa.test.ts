import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pkijs from 'pkijs';
import t, { type Test } from 'tap';
import { canonicalJson } from '../../audit/canonical.js';
import { parseTrustAnchors, TsaClient, verifyTimestampToken } from '../../audit/tsa.js';
import { makeTsaCertificates, startTestTsa } from '../helpers/tsa-server.js';

const payload = Buffer.from(
  canonicalJson({ hash: 'ab'.repeat(32), instance: 'gw-1', seq: 42, time: '2026-12-06T12:00:00.000Z' }),
);

function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'govshare-tsa-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('a token from the TSA verifies here and with openssl ts -verify', async (t) => {
  const tsa = await startTestTsa(t);
  const client = new TsaClient({ url: tsa.url, trustAnchorsPem: tsa.caPem });
  const before = Date.now();
  const { token, genTime } = await client.timestamp(payload);
  t.ok(Math.abs(Date.parse(genTime) - before) < 60_000, `genTime ${genTime} is now`);
  const der = Buffer.from(token, 'base64');
  const verified = await verifyTimestampToken(der, payload, parseTrustAnchors(tsa.caPem));
  t.equal(verified.genTime.toISOString(), genTime);
  t.match(verified.signer, /CN=tsa test TSA/);
  t.equal(verified.policy, '1.3.6.1.4.1.99999.1');

  const dir = scratch(t);
  writeFileSync(join(dir, 'token.der'), der);
  writeFileSync(join(dir, 'payload.txt'), payload);
  const byData = spawnSync(
    'openssl',
    ['ts', '-verify', '-token_in', '-in', 'token.der', '-data', 'payload.txt', '-CAfile', tsa.caFile],
    { cwd: dir, encoding: 'utf8' },
  );
  t.match(byData.stdout, /Verification: OK/, `openssl -data: ${byData.stderr}`);
  const digest = createHash('sha256').update(payload).digest('hex');
  const byDigest = spawnSync(
    'openssl',
    ['ts', '-verify', '-token_in', '-in', 'token.der', '-digest', digest, '-CAfile', tsa.caFile],
    { cwd: dir, encoding: 'utf8' },
  );
  t.match(byDigest.stdout, /Verification: OK/, `openssl -digest: ${byDigest.stderr}`);
  const otherDigest = spawnSync(
    'openssl',
    ['ts', '-verify', '-token_in', '-in', 'token.der', '-digest', 'cd'.repeat(32), '-CAfile', tsa.caFile],
    { cwd: dir, encoding: 'utf8' },
  );
  t.notMatch(otherDigest.stdout, /Verification: OK/, 'openssl refuses it for another digest');
});

t.test('tokens for other bytes, from an untrusted TSA, or altered are refused', async (t) => {
  const tsa = await startTestTsa(t);
  const anchors = parseTrustAnchors(tsa.caPem);
  const { token } = await new TsaClient({ url: tsa.url, trustAnchorsPem: tsa.caPem }).timestamp(payload);
  const der = Buffer.from(token, 'base64');
  await t.rejects(verifyTimestampToken(der, Buffer.from(`${payload} `), anchors), {
    code: 'AUDIT_TIMESTAMP_INVALID',
    message: /is for another digest/,
  });
  const other = makeTsaCertificates(scratch(t), 'other');
  await t.rejects(verifyTimestampToken(der, payload, parseTrustAnchors(readFileSync(other.caFile, 'utf8'))), {
    code: 'AUDIT_TIMESTAMP_INVALID',
    message: /does not verify: .*(chain|certificate|issuer)/i,
  });
  // The signature is the last bytes of the token: flip one.
  const altered = Buffer.from(der);
  altered[altered.length - 5]! ^= 0x01;
  await t.rejects(verifyTimestampToken(altered, payload, anchors), { code: 'AUDIT_TIMESTAMP_INVALID' });
  await t.rejects(verifyTimestampToken(Buffer.from('not a token'), payload, anchors), {
    code: 'AUDIT_TIMESTAMP_INVALID',
    message: /not a readable RFC 3161 token/,
  });
  await t.rejects(verifyTimestampToken(der, payload, anchors, Buffer.from([1, 2, 3])), {
    message: /nonce/,
  });
});

t.test('the client refuses what a TSA should not answer', async (t) => {
  const tsa = await startTestTsa(t);
  const client = new TsaClient({ url: tsa.url, trustAnchorsPem: tsa.caPem, timeoutMs: 3000 });

  tsa.mode = 'other-digest';
  await t.rejects(client.timestamp(payload), { code: 'AUDIT_TIMESTAMP_INVALID', message: /another digest/ });

  tsa.mode = 'reject';
  await t.rejects(client.timestamp(payload), {
    code: 'AUDIT_TIMESTAMP_REFUSED',
    message: /did not grant a timestamp: status rejection.*failInfo bits 0/,
  });

  tsa.mode = 'http-error';
  await t.rejects(client.timestamp(payload), { code: 'AUDIT_TSA_UNAVAILABLE', message: /HTTP 503/ });

  tsa.mode = 'grant';
  const untrusting = new TsaClient({
    url: tsa.url,
    trustAnchorsPem: readFileSync(makeTsaCertificates(scratch(t), 'other').caFile, 'utf8'),
  });
  await t.rejects(untrusting.timestamp(payload), {
    code: 'AUDIT_TIMESTAMP_INVALID',
    message: /does not verify/,
  });

  await tsa.stop();
  await t.rejects(client.timestamp(payload), {
    code: 'AUDIT_TSA_UNAVAILABLE',
    message: /could not be asked/,
  });
});

t.test('a TSA that does not answer in time is given up on', async (t) => {
  const { createServer } = await import('node:http');
  const server = createServer(() => undefined); // never answers
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  const tsaCa = readFileSync(makeTsaCertificates(scratch(t), 'slow').caFile, 'utf8');
  const client = new TsaClient({ url: `http://127.0.0.1:${port}/`, trustAnchorsPem: tsaCa, timeoutMs: 300 });
  const started = Date.now();
  await t.rejects(client.timestamp(payload), { code: 'AUDIT_TSA_UNAVAILABLE', message: /within 300 ms/ });
  t.ok(Date.now() - started < 3000, 'promptly');
});

t.test('bad settings are refused at construction', async (t) => {
  t.throws(() => new TsaClient({ url: 'not a url', trustAnchorsPem: '' }), { code: 'AUDIT_SETUP_INVALID' });
  t.throws(() => new TsaClient({ url: 'ftp://tsa.example/', trustAnchorsPem: '' }), {
    code: 'AUDIT_SETUP_INVALID',
  });
  t.throws(() => new TsaClient({ url: 'https://tsa.example/', trustAnchorsPem: 'no pem here' }), {
    code: 'AUDIT_SETUP_INVALID',
    message: /no PEM certificate/,
  });
});

t.test('a token signed by a certificate without the timeStamping EKU is refused', async (t) => {
  const tsa = await startTestTsa(t);
  const dir = scratch(t);
  const openssl = (...args: string[]) => {
    const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(result.stderr);
  };
  // A plain certificate of the TSA's own CA, made first: it must be valid at the token's genTime.
  writeFileSync(join(dir, 'plain.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n');
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'plain.key',
    '-out',
    'plain.csr',
    '-subj',
    '/CN=plain',
  );
  const caKey = join(tsa.dir, 'tsa-ca.key');
  openssl(
    'x509',
    '-req',
    '-in',
    'plain.csr',
    '-CA',
    tsa.caFile,
    '-CAkey',
    caKey,
    '-set_serial',
    '0x2002',
    '-days',
    '1',
    '-extfile',
    'plain.ext',
    '-out',
    'plain.pem',
  );
  await new Promise((resolve) => setTimeout(resolve, 1100)); // notBefore and genTime count whole seconds
  const { token } = await new TsaClient({ url: tsa.url, trustAnchorsPem: tsa.caPem }).timestamp(payload);
  // The genuine token's TSTInfo, signed again as CMS by the plain certificate.
  const content = pkijs.ContentInfo.fromBER(Buffer.from(token, 'base64')).content;
  const tstInfo = new pkijs.SignedData({ schema: content }).encapContentInfo.eContent!.getValue();
  writeFileSync(join(dir, 'tstinfo.der'), Buffer.from(tstInfo));
  openssl(
    'cms',
    '-sign',
    '-binary',
    '-nodetach',
    '-in',
    'tstinfo.der',
    '-econtent_type',
    '1.2.840.113549.1.9.16.1.4',
    '-signer',
    'plain.pem',
    '-inkey',
    'plain.key',
    '-md',
    'sha256',
    '-outform',
    'DER',
    '-out',
    'forged.der',
  );
  const forged = readFileSync(join(dir, 'forged.der'));
  await t.rejects(verifyTimestampToken(forged, payload, parseTrustAnchors(tsa.caPem)), {
    code: 'AUDIT_TIMESTAMP_INVALID',
    message: /without the critical timeStamping extended key usage/,
  });
});
