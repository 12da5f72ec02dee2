/**
 * Response signatures through the Signer interface: the key is held in another process (a stand-in for a
 * hardware module), the response is signed by asking it, and the signature verifies under intl (RSA) and
 * gm (SM2) alike.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  type RequestMessage,
  signRequestBySigner,
  signResponse,
  verifyRequestSignature,
  verifyResponseSignature,
} from '../../../certs/httpsig/index.js';
import { generateSm2KeyPair } from '../../../certs/sm2.js';
import { ProcessSigner } from '../../helpers/process-signer.js';
import { dataRequest, gatewayOptions, NOW_MS, NOW_S, signed } from './fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'govshare-response-signer-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const BODY = '{"data":[{"name":"张三"}]}';

function request(): RequestMessage {
  const { method, url, headers } = signed(dataRequest());
  return { method, url, headers };
}

const keys = {
  intl: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }),
  gm: (await generateSm2KeyPair()).privateKeyPem,
};

for (const [profile, alg] of [
  ['intl', 'rsa-pss-sha512'],
  ['gm', 'sm2-sm3'],
] as const) {
  t.test(`${profile}: a response signed by a Signer in another process verifies (${alg})`, async (t) => {
    const keyFile = join(work, `${profile}.pem`);
    writeFileSync(keyFile, keys[profile], { mode: 0o600 });
    const signer = await ProcessSigner.start(t, keyFile);
    const req = request();
    const added = await signResponse({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: BODY,
      request: req,
      requestLabel: 'sig1',
      keyId: 'platform-01',
      signer,
      created: NOW_S,
    });
    t.same(signer.signed, { [alg]: 1 }, 'the signature was asked of the Signer, once');
    const response = {
      status: 200,
      headers: { 'content-type': 'application/json', ...added },
      body: Buffer.from(BODY),
      request: req,
    };
    const verified = await verifyResponseSignature(response, {
      key: signer.publicKey,
      keyId: 'platform-01',
      now: () => NOW_MS,
    });
    t.equal(verified.alg, alg);
    await t.rejects(
      verifyResponseSignature({ ...response, status: 404 }, { key: signer.publicKey, now: () => NOW_MS }),
      { code: 'SIG_INVALID' },
      'a changed status does not verify',
    );
    const otherAlg = alg === 'sm2-sm3' ? 'rsa-pss-sha512' : 'sm2-sm3';
    await t.rejects(
      signResponse({ ...response, body: BODY, requestLabel: 'sig1', keyId: 'k', signer, alg: otherAlg }),
      { code: 'SIG_ARGUMENT_INVALID', message: /cannot sign/ },
      'an algorithm the key cannot do is refused before the Signer is asked',
    );
    t.equal(signer.calls, 1);
  });
}

t.test('a Signer that cannot sign makes signResponse fail: no signature is made up', async (t) => {
  const keyFile = join(work, 'stopped.pem');
  writeFileSync(keyFile, keys.gm, { mode: 0o600 });
  const signer = await ProcessSigner.start(t, keyFile);
  await signer.stop();
  await t.rejects(
    signResponse({
      status: 200,
      headers: {},
      body: BODY,
      request: request(),
      requestLabel: 'sig1',
      keyId: 'k',
      signer,
    }),
    { message: /signer process: not running/ },
  );
});

t.test("the platform's own requests (webhooks) signed by a Signer verify as RFC 9421 requests", async (t) => {
  for (const [profile, alg] of [
    ['intl', 'rsa-pss-sha512'],
    ['gm', 'sm2-sm3'],
  ] as const) {
    const keyFile = join(work, `request-${profile}.pem`);
    writeFileSync(keyFile, keys[profile], { mode: 0o600 });
    const signer = await ProcessSigner.start(t, keyFile);
    const message = dataRequest('{"event":"grant.approved"}');
    const added = await signRequestBySigner({ ...message, keyId: 'platform-01', signer, created: NOW_S });
    t.same(signer.signed, { [alg]: 1 }, `${profile}: asked of the Signer once`);
    const options = gatewayOptions({
      resolveKey: async () => ({ key: signer.publicKey }),
      allowedAlgorithms: [alg],
    });
    const request = { ...message, headers: { ...message.headers, ...added } };
    t.equal((await verifyRequestSignature(request, options)).alg, alg);
    await t.rejects(
      verifyRequestSignature({ ...request, body: Buffer.from('{"event":"grant.revoked"}') }, options),
      { code: 'DIGEST_MISMATCH' },
    );
  }
});
