/**
 * A gateway on a gm platform: SM2 system certificates, RFC 9421 `sm2-sm3` calls (one signed by OpenSSL
 * over the signature base), the profile refusing RSA signatures, SM2 response signatures verified by the
 * client helper, SM2 audit checkpoints, and a revoked SM2 certificate refused on another instance
 * within 2 s.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { auditKeys } from '../../audit/keys.js';
import { verifyAudit } from '../../audit/verify.js';
import { SignedClient } from '../../certs/client.js';
import { signatureBase, signRequest, verifyResponseSignature } from '../../certs/httpsig/index.js';
import { initPlatform } from '../../certs/platform.js';
import { sm2SignatureFromDer } from '../../certs/sm2.js';
import { generateRsaKeyPair } from '../../certs/x509.js';
import { sampleKeys } from '../../connectors/simulator/datasets.js';
import { buildTestApp } from '../helpers/app.js';
import { buildWorld, enc, grantPopulation, INJECT_ORIGIN, signedHeaders } from '../helpers/world.js';

const [idNumber] = sampleKeys('residents', 1);
const DISTID = 'distid:1234567812345678';

const dataDir = mkdtempSync(join(tmpdir(), 'govshare-gm-'));
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
await initPlatform(dataDir, { crypto: 'gm' });

t.test('sm2-sm3 calls on a gm platform', async (t) => {
  const a = await buildTestApp(t, { env: { GOVSHARE_DATA_DIR: dataDir } });
  const b = await buildTestApp(t, { sameRedisAs: a, env: { GOVSHARE_DATA_DIR: dataDir } });
  t.equal(a.context.platform.profile, 'gm');
  const world = await buildWorld(t, a.context);
  const { amr } = world.systems;
  t.match(amr.keyPem, /BEGIN PRIVATE KEY/);
  await grantPopulation(a, world, { items: ['idNumber', 'gender'] });
  const path = `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`;
  const official = { 'x-user-id': 'wang.keyuan' };

  t.test('our client helper signs sm2-sm3 and the gateway accepts it', async (t) => {
    const headers = signedHeaders(amr, { method: 'GET', path, headers: official });
    t.match(headers['signature-input'], /alg="sm2-sm3"/);
    const res = await a.app.inject({ method: 'GET', url: path, headers });
    t.equal(res.statusCode, 200, res.body);
    t.equal(res.json().data[0].idNumber.slice(-4), idNumber!.slice(-4));
  });

  t.test(
    'a request signed by OpenSSL over the signature base is accepted; a tampered one is refused',
    async (t) => {
      const work = mkdtempSync(join(tmpdir(), 'govshare-gm-openssl-'));
      t.teardown(() => rmSync(work, { recursive: true, force: true }));
      writeFileSync(join(work, 'key.pem'), amr.keyPem);
      const headers = { 'x-purpose': 'market-supervision', ...official };
      const components = ['@method', '@target-uri', 'x-purpose', 'x-user-id'];
      const params = {
        keyid: amr.serial,
        alg: 'sm2-sm3',
        created: Math.floor(Date.now() / 1000),
        nonce: `openssl-${Date.now()}`,
      };
      const url = `${INJECT_ORIGIN}${path}`;
      const base = signatureBase({ method: 'GET', url, headers }, components, params);
      writeFileSync(join(work, 'base.txt'), base);
      const signed = spawnSync(
        '/usr/bin/openssl',
        [
          'pkeyutl',
          '-sign',
          '-inkey',
          'key.pem',
          '-rawin',
          '-digest',
          'sm3',
          '-pkeyopt',
          DISTID,
          '-in',
          'base.txt',
          '-out',
          'sig.der',
        ],
        { cwd: work, encoding: 'utf8' },
      );
      t.equal(signed.status, 0, signed.stderr);
      // OpenSSL writes SM2-Sig DER; RFC 9421 sm2-sm3 carries r‖s, 32 bytes each.
      const rs = sm2SignatureFromDer(readFileSync(join(work, 'sig.der')))!;
      t.equal(rs.length, 64);
      const input = `sig1=(${components.map((c) => `"${c}"`).join(' ')});keyid="${params.keyid}";alg="sm2-sm3";created=${params.created};nonce="${params.nonce}"`;
      const send = (extra: Record<string, string>, signature: Buffer) =>
        a.app.inject({
          method: 'GET',
          url: path,
          headers: {
            ...headers,
            ...extra,
            'signature-input': input,
            signature: `sig1=:${signature.toString('base64')}:`,
          },
        });
      const tampered = await send({ 'x-user-id': 'li.si' }, rs);
      t.equal(tampered.statusCode, 401);
      t.equal(tampered.json().code, 'SIG_INVALID', 'another official than the one signed');
      const flipped = Buffer.from(rs);
      flipped[10] = flipped[10]! ^ 0x01;
      t.equal((await send({}, flipped)).json().code, 'SIG_INVALID', 'a flipped signature byte');
      const ok = await send({}, rs);
      t.equal(ok.statusCode, 200, ok.body);
    },
  );

  t.test('an RSA signature on a gm platform: SIG_ALG_PROFILE_MISMATCH', async (t) => {
    const rsa = await generateRsaKeyPair(2048);
    const res = await a.app.inject({
      method: 'GET',
      url: path,
      headers: signedHeaders(
        { ...amr, keyPem: rsa.privateKeyPem },
        { method: 'GET', path, headers: official },
      ),
    });
    t.equal(res.statusCode, 401);
    t.equal(res.json().code, 'SIG_ALG_PROFILE_MISMATCH');
    t.match(res.json().detail, /sm2-sm3/);
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  });

  t.test('the response is signed sm2-sm3 by the platform key', async (t) => {
    const headers = {
      'x-purpose': 'market-supervision',
      ...official,
      'accept-signature': 'sig1=("@status" "content-digest" "signature";req;key="sig1");alg="sm2-sm3"',
    };
    const url = `${INJECT_ORIGIN}${path}`;
    const sent = {
      ...headers,
      ...signRequest({ method: 'GET', url, headers, keyId: amr.serial, privateKey: amr.keyPem }),
    };
    const res = await a.app.inject({ method: 'GET', url: path, headers: sent });
    t.equal(res.statusCode, 200, res.body);
    t.match(String(res.headers['signature-input']), /alg="sm2-sm3"/);
    const responseHeaders = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)]));
    const verified = await verifyResponseSignature(
      {
        status: 200,
        headers: responseHeaders,
        body: res.rawPayload,
        request: { method: 'GET', url, headers: sent },
      },
      { key: a.context.platform.signingCertX509.publicKey },
    );
    t.equal(verified.alg, 'sm2-sm3');
    const altered = Buffer.from(res.rawPayload);
    altered[altered.length - 2] = 0x20;
    await t.rejects(
      verifyResponseSignature(
        {
          status: 200,
          headers: responseHeaders,
          body: altered,
          request: { method: 'GET', url, headers: sent },
        },
        { key: a.context.platform.signingCertX509.publicKey },
      ),
      { code: 'DIGEST_MISMATCH' },
    );
  });

  t.test('over HTTP, the client helper signs with the SM2 key and verifies the SM2 response', async (t) => {
    await a.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (a.app.server.address() as AddressInfo).port;
    const client = new SignedClient({
      keyPem: amr.keyPem,
      certPem: amr.certPem,
      caPem: a.context.platform.caCertPem,
    });
    const result = await client.call({
      method: 'GET',
      url: `http://127.0.0.1:${port}${path}`,
      purpose: 'market-supervision',
      userId: 'wang.keyuan',
    });
    t.equal(result.status, 200, result.body.toString());
    t.same(result.responseSignature, {
      verified: true,
      keyId: a.context.platform.signingCertX509.serialNumber.toLowerCase(),
    });
  });

  t.test('audit checkpoints are SM2-signed and the trail verifies', async (t) => {
    await a.context.audit.checkpoint();
    const latest = await a.context.redis.xrevrange(
      auditKeys(a.context.prefix).checkpoints(a.config.GOVSHARE_INSTANCE_ID),
      '+',
      '-',
      'COUNT',
      1,
    );
    const fields = latest[0]![1];
    t.equal(fields[fields.indexOf('alg') + 1], 'sm2-sm3');
    const result = await verifyAudit(a.context.redis, a.context.prefix, {
      publicKey: a.context.platform.signingCertX509.publicKey,
      instance: a.config.GOVSHARE_INSTANCE_ID,
    });
    t.ok(result.ok, JSON.stringify(result.instances));
    t.ok(result.instances[0]!.checkpoints >= 1);
  });

  t.test('a revoked SM2 certificate is refused on the other instance within 2 s', async (t) => {
    const call = () =>
      b.app.inject({
        method: 'GET',
        url: path,
        headers: signedHeaders(amr, { method: 'GET', path, headers: official }),
      });
    t.equal((await call()).statusCode, 200, 'instance B has the key cached');
    const revokedAt = Date.now();
    await a.context.certs.revokeCertificate(amr.serial, 'keyCompromise', new Date());
    let refused: { code?: string } = {};
    while (Date.now() - revokedAt < 2000) {
      const res = await call();
      if (res.statusCode === 401) {
        refused = res.json();
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    t.equal(refused.code, 'CERT_REVOKED', `refused after ${Date.now() - revokedAt} ms`);
    t.ok(Date.now() - revokedAt < 2000);
  });
});
