import { constants, verify } from 'node:crypto';
import { parseDictionary } from 'structured-headers';
import t from 'tap';
import {
  contentDigest,
  type SignedRequest,
  signatureBase,
  signRequest,
  verifyRequestSignature,
} from '../../../certs/httpsig/index.js';
import {
  CALLER_KEYID,
  callerKey,
  dataRequest,
  gatewayOptions,
  NOW_MS,
  NOW_S,
  otherKey,
  signed,
} from './fixtures.js';

for (const alg of ['rsa-pss-sha512', 'rsa-v1_5-sha256'] as const) {
  for (const body of [undefined, '{"idNumber":"330102199001011234"}']) {
    t.test(`sign → verify with ${alg}, ${body === undefined ? 'no body' : 'a body'}`, async (t) => {
      const request = signed(dataRequest(body), { alg });
      const options = gatewayOptions();
      const verified = await verifyRequestSignature(request, options);
      const expected = ['@method', '@target-uri', 'x-purpose', 'x-user-id'];
      if (body !== undefined) expected.push('content-digest');
      t.same(verified.components, expected);
      t.equal(verified.keyid, CALLER_KEYID);
      t.equal(verified.alg, alg);
      t.equal(verified.label, 'sig1');
      t.equal(verified.created, NOW_S);
      t.match(verified.nonce, /^[A-Za-z0-9_-]{22}$/, '16 random bytes, base64url');
      t.equal(verified.signatureInput, request.headers['signature-input']);
      t.same(
        verified.signature,
        Buffer.from(parseDictionary(String(request.headers.signature)).get('sig1')![0] as ArrayBuffer),
      );
      t.equal(options.nonceChecks, 1);
      t.equal(request.headers['content-digest'], body === undefined ? undefined : contentDigest(body));
    });
  }
}

t.test('rsa-pss-sha512 signatures use a 64-byte salt (RFC 9421 §3.3.1)', async (t) => {
  const request = signed(dataRequest());
  const signature = Buffer.from(
    parseDictionary(String(request.headers.signature)).get('sig1')![0] as ArrayBuffer,
  );
  const input = String(request.headers['signature-input']);
  const params = Object.fromEntries(
    [...(parseDictionary(input).get('sig1')![1] as Map<string, string | number>)].map(([k, v]) => [k, v]),
  );
  const base = signatureBase(request, ['@method', '@target-uri', 'x-purpose', 'x-user-id'], params);
  const strict = (saltLength: number) =>
    verify(
      'sha512',
      Buffer.from(base),
      { key: callerKey.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength },
      signature,
    );
  t.ok(strict(64));
  t.notOk(strict(32));
});

t.test('signRequest options: PEM key, components, label, expires, x-case-id', async (t) => {
  const request = dataRequest('{}');
  request.headers['x-case-id'] = 'case-2025-0193';
  const pem = callerKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const added = signRequest({
    ...request,
    keyId: CALLER_KEYID,
    privateKey: pem,
    label: 'gov',
    created: NOW_S,
    expires: NOW_S + 60,
    nonce: 'n-1',
  });
  t.same(Object.keys(added), ['content-digest', 'signature-input', 'signature']);
  t.equal(
    added['signature-input'],
    'gov=("@method" "@target-uri" "x-purpose" "x-user-id" "x-case-id" "content-digest");keyid="4f1c2a9be07d3301";alg="rsa-pss-sha512";created=1750000000;expires=1750000060;nonce="n-1"',
  );
  const verified = await verifyRequestSignature(
    { ...request, headers: { ...request.headers, ...added } },
    gatewayOptions(),
  );
  t.equal(verified.expires, NOW_S + 60);
  t.equal(verified.nonce, 'n-1');
  t.throws(() => signRequest({ ...request, keyId: 'k', privateKey: callerKey.publicKey }), {
    code: 'SIG_ARGUMENT_INVALID',
  });
  t.throws(() => signRequest({ ...request, keyId: 'k', privateKey: 'not a pem' }), {
    code: 'SIG_ARGUMENT_INVALID',
  });
  t.throws(() => signRequest({ ...request, keyId: 'k', privateKey: callerKey.privateKey, label: 'Sig 1' }), {
    code: 'SIG_ARGUMENT_INVALID',
  });
  t.throws(
    () =>
      signRequest({
        ...request,
        keyId: 'k',
        privateKey: callerKey.privateKey,
        alg: 'ed25519' as 'rsa-pss-sha512',
      }),
    { code: 'SIG_ALG_UNSUPPORTED' },
  );
  t.throws(
    () => signRequest({ ...dataRequest(), headers: {}, keyId: 'k', privateKey: callerKey.privateKey }),
    {
      code: 'SIG_MALFORMED',
      message: /no x-purpose header/,
    },
  );
});

t.test('several signatures: the first one, or the one named by label', async (t) => {
  const request = signed(dataRequest());
  const second = signRequest({
    ...dataRequest(),
    keyId: 'ab01',
    privateKey: otherKey.privateKey,
    label: 'sig2',
    created: NOW_S,
  });
  const both: SignedRequest = {
    ...request,
    headers: {
      ...request.headers,
      'signature-input': [String(request.headers['signature-input']), second['signature-input']!],
      signature: `${request.headers.signature}, ${second.signature}`,
    },
  };
  t.equal((await verifyRequestSignature(both, gatewayOptions())).keyid, CALLER_KEYID);
  const verified = await verifyRequestSignature(
    both,
    gatewayOptions({ label: 'sig2', resolveKey: async () => ({ key: otherKey.publicKey }) }),
  );
  t.equal(verified.keyid, 'ab01');
  t.equal(verified.label, 'sig2');
});

/** A signed request whose Signature-Input member is rewritten (the signature then no longer matters). */
function withInput(request: SignedRequest, edit: (input: string) => string): SignedRequest {
  return {
    ...request,
    headers: { ...request.headers, 'signature-input': edit(String(request.headers['signature-input'])) },
  };
}

function without(request: SignedRequest, ...names: string[]): SignedRequest {
  const headers = { ...request.headers };
  for (const name of names) delete headers[name];
  return { ...request, headers };
}

const BODY = '{"idNumber":"330102199001011234"}';
const good = () => signed(dataRequest(BODY));

interface FailureCase {
  name: string;
  request: () => SignedRequest;
  options?: Parameters<typeof gatewayOptions>[0];
  code: string;
  message: RegExp;
}

const failures: FailureCase[] = [
  {
    name: 'no signature headers',
    request: () => dataRequest(),
    code: 'SIG_MISSING',
    message: /no Signature-Input and Signature/,
  },
  {
    name: 'Signature-Input only',
    request: () => without(good(), 'signature'),
    code: 'SIG_MISSING',
    message: /no Signature/,
  },
  {
    name: 'Signature only',
    request: () => without(good(), 'signature-input'),
    code: 'SIG_MISSING',
    message: /no Signature-Input/,
  },
  {
    name: 'labels do not match',
    request: () => ({ ...good(), headers: { ...good().headers, signature: 'sig2=:YWJj:' } }),
    code: 'SIG_MISSING',
    message: /Signature has no member sig1/,
  },
  {
    name: 'label not sent',
    request: good,
    options: { label: 'gov' },
    code: 'SIG_MISSING',
    message: /no signature labelled gov/,
  },
  {
    name: 'Signature-Input not a structured field',
    request: () => withInput(good(), (i) => i.replace('(', '((')),
    code: 'SIG_MALFORMED',
    message: /Signature-Input is not a valid structured dictionary/,
  },
  {
    name: 'signature not base64',
    request: () => ({ ...good(), headers: { ...good().headers, signature: 'sig1=:not base64!:' } }),
    code: 'SIG_MALFORMED',
    message: /Signature is not a valid structured dictionary.*base64/,
  },
  {
    name: 'signature not a byte sequence',
    request: () => ({ ...good(), headers: { ...good().headers, signature: 'sig1="abc"' } }),
    code: 'SIG_MALFORMED',
    message: /must be a byte sequence/,
  },
  {
    name: 'Signature-Input member not an inner list',
    request: () => withInput(good(), () => 'sig1="@method"'),
    code: 'SIG_MALFORMED',
    message: /must be an inner list/,
  },
  ...['keyid', 'alg', 'nonce'].map((param) => ({
    name: `no ${param}`,
    request: () => withInput(good(), (i) => i.replace(new RegExp(`;${param}="[^"]*"`), '')),
    code: 'SIG_MALFORMED',
    message: new RegExp(`needs ${param}=`),
  })),
  {
    name: 'no created',
    request: () => withInput(good(), (i) => i.replace(/;created=\d+/, '')),
    code: 'SIG_MALFORMED',
    message: /needs created=<UNIX time/,
  },
  {
    name: 'created as a string',
    request: () => withInput(good(), (i) => i.replace(/created=(\d+)/, 'created="$1"')),
    code: 'SIG_MALFORMED',
    message: /needs created=/,
  },
  {
    name: 'unsupported alg',
    request: () => withInput(good(), (i) => i.replace('rsa-pss-sha512', 'ed25519')),
    code: 'SIG_ALG_UNSUPPORTED',
    message: /alg "ed25519" is not supported: sign with one of rsa-pss-sha512, rsa-v1_5-sha256/,
  },
  {
    name: 'x-purpose not covered',
    request: () =>
      signed(dataRequest(BODY), { components: ['@method', '@target-uri', 'x-user-id', 'content-digest'] }),
    code: 'SIG_COMPONENT_MISSING',
    message: /the signature must cover "x-purpose" \(it covers/,
  },
  {
    name: 'content-digest not covered with a body',
    request: () => ({ ...signed(dataRequest()), body: Buffer.from(BODY) }),
    code: 'SIG_COMPONENT_MISSING',
    message: /must cover "content-digest"/,
  },
  {
    name: 'several components not covered',
    request: () => signed(dataRequest(BODY), { components: ['@method'] }),
    code: 'SIG_COMPONENT_MISSING',
    message: /must cover "@target-uri", "x-purpose", "x-user-id", "content-digest" \(it covers "@method"\)/,
  },
  {
    name: 'covered header not sent',
    request: () => {
      const request = dataRequest();
      request.headers['x-case-id'] = 'case-1';
      return without(signed(request), 'x-case-id');
    },
    code: 'SIG_MALFORMED',
    message: /covers "x-case-id" but the message has no x-case-id header/,
  },
  {
    name: 'created too old',
    request: () => signed(dataRequest(), { created: NOW_S - 301 }),
    code: 'SIG_EXPIRED',
    message: /created=1749999699 is 301 s older than the gateway time 1750000000 \(allowed ±300 s\)/,
  },
  {
    name: 'created in the future',
    request: () => signed(dataRequest(), { created: NOW_S + 400 }),
    code: 'SIG_EXPIRED',
    message: /created=1750000400 is 400 s in the future of the gateway time 1750000000/,
  },
  {
    name: 'expires passed',
    request: () => signed(dataRequest(), { created: NOW_S - 10, expires: NOW_S - 1 }),
    code: 'SIG_EXPIRED',
    message: /expired at expires=1749999999; the gateway time is 1750000000/,
  },
  {
    name: 'unknown keyid (resolveKey error passes through)',
    request: () => signed(dataRequest(), { keyId: 'ffff' }),
    code: 'CERT_UNKNOWN',
    message: /no certificate ffff/,
  },
  {
    name: 'wrong key',
    request: () => signed(dataRequest(), { privateKey: otherKey.privateKey }),
    code: 'SIG_INVALID',
    message:
      /does not verify with rsa-pss-sha512 and the key of keyid 4f1c2a9be07d3301: .*exactly these components, in this order: "@method" "@target-uri" "x-purpose" "x-user-id"; .*"@signature-params": \("@method"/,
  },
  {
    name: 'tampered header',
    request: () => ({ ...good(), headers: { ...good().headers, 'x-purpose': 'marketing' } }),
    code: 'SIG_INVALID',
    message: /does not verify/,
  },
  {
    name: 'tampered URL',
    request: () => ({ ...good(), url: good().url.replace('id=42', 'id=43') }),
    code: 'SIG_INVALID',
    message: /does not verify/,
  },
  {
    name: 'tampered method',
    request: () => ({ ...good(), method: 'PUT' }),
    code: 'SIG_INVALID',
    message: /does not verify/,
  },
  {
    name: 'alg parameter swapped',
    request: () => withInput(good(), (i) => i.replace('rsa-pss-sha512', 'rsa-v1_5-sha256')),
    code: 'SIG_INVALID',
    message: /does not verify with rsa-v1_5-sha256/,
  },
  {
    name: 'tampered body',
    request: () => ({ ...good(), body: Buffer.from(BODY.replace('1234', '9999')) }),
    code: 'DIGEST_MISMATCH',
    message: /does not match the body received/,
  },
  {
    name: 'tampered body with a recomputed digest',
    request: () => {
      const body = BODY.replace('1234', '9999');
      return {
        ...good(),
        body: Buffer.from(body),
        headers: { ...good().headers, 'content-digest': contentDigest(body) },
      };
    },
    code: 'SIG_INVALID',
    message: /does not verify/,
  },
];

for (const failure of failures) {
  t.test(`refused: ${failure.name}`, async (t) => {
    const options = gatewayOptions(failure.options);
    await t.rejects(verifyRequestSignature(failure.request(), options), {
      code: failure.code,
      message: failure.message,
    });
    t.equal(options.nonceChecks, 0, 'no nonce is recorded for a refused request');
  });
}

t.test('every refusal from this library is a 401', async (t) => {
  for (const failure of failures.filter((f) => f.code !== 'CERT_UNKNOWN')) {
    const error = await verifyRequestSignature(failure.request(), gatewayOptions(failure.options)).catch(
      (e) => e,
    );
    t.equal(error.statusCode, 401, failure.name);
  }
});

t.test('a replayed nonce is refused (SIG_REPLAY)', async (t) => {
  const request = signed(dataRequest(BODY));
  const options = gatewayOptions();
  await verifyRequestSignature(request, options);
  await t.rejects(verifyRequestSignature(request, options), {
    code: 'SIG_REPLAY',
    statusCode: 401,
    message: /was already used by keyid 4f1c2a9be07d3301: sign every request with a fresh random nonce/,
  });
  await verifyRequestSignature(signed(dataRequest(BODY)), options);
  t.equal(options.nonceChecks, 3);
});

t.test('checks run in order: the clock before the key, the key before the nonce', async (t) => {
  let resolved = 0;
  const options = gatewayOptions({
    resolveKey: async () => {
      resolved++;
      return { key: callerKey.publicKey };
    },
  });
  const stale = signed(dataRequest(), { created: NOW_S - 1000, privateKey: otherKey.privateKey });
  await t.rejects(verifyRequestSignature(stale, options), { code: 'SIG_EXPIRED' });
  t.equal(resolved, 0, 'no key lookup for a stale signature');
  await t.rejects(
    verifyRequestSignature(signed(dataRequest(), { privateKey: otherKey.privateKey }), options),
    {
      code: 'SIG_INVALID',
    },
  );
  t.equal(resolved, 1);
  t.equal(options.nonceChecks, 0);
});

t.test('custom policy: maxSkewSeconds, requiredComponents, now', async (t) => {
  const request = signed(dataRequest(), { created: NOW_S - 100 });
  await t.rejects(verifyRequestSignature(request, gatewayOptions({ maxSkewSeconds: 60 })), {
    code: 'SIG_EXPIRED',
  });
  await t.rejects(
    verifyRequestSignature(request, gatewayOptions({ requiredComponents: () => ['@method', '@authority'] })),
    { code: 'SIG_COMPONENT_MISSING', message: /must cover "@authority"/ },
  );
  const calls: unknown[][] = [];
  const verified = await verifyRequestSignature(
    request,
    gatewayOptions({
      now: () => NOW_MS - 100_000,
      checkNonce: async (...args) => {
        calls.push(args);
        return true;
      },
    }),
  );
  t.equal(verified.created, NOW_S - 100);
  t.same(calls, [[CALLER_KEYID, verified.nonce, NOW_S - 100]], 'checkNonce gets keyid, nonce and created');
});
