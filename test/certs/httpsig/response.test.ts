import t from 'tap';
import {
  contentDigest,
  parseAcceptSignature,
  type RequestMessage,
  type SignedResponse,
  signRequest,
  signResponse,
  verifyResponseSignature,
} from '../../../certs/httpsig/index.js';
import { CALLER_KEYID, callerKey, dataRequest, NOW_MS, NOW_S, otherKey, otherSigner } from './fixtures.js';

// The platform signs responses; the caller signed the request.
const platformKey = otherKey;
const PLATFORM_KEYID = '01';
const RESPONSE_BODY = '{"name":"张三","household":"330102"}';

function signedRequest(nonce: string): RequestMessage {
  const request = dataRequest();
  const added = signRequest({
    ...request,
    keyId: CALLER_KEYID,
    privateKey: callerKey.privateKey,
    created: NOW_S,
    nonce,
  });
  return { method: request.method, url: request.url, headers: { ...request.headers, ...added } };
}

async function signedResponse(
  request: RequestMessage,
  overrides: Partial<Parameters<typeof signResponse>[0]> = {},
): Promise<SignedResponse> {
  const headers = { 'content-type': 'application/json' };
  const added = await signResponse({
    status: 200,
    headers,
    body: RESPONSE_BODY,
    request,
    requestLabel: 'sig1',
    keyId: PLATFORM_KEYID,
    signer: otherSigner,
    created: NOW_S,
    ...overrides,
  });
  return { status: 200, headers: { ...headers, ...added }, body: Buffer.from(RESPONSE_BODY), request };
}

const clientOptions = { key: platformKey.publicKey, keyId: PLATFORM_KEYID, now: () => NOW_MS };

t.test('parseAcceptSignature (RFC 9421 §5.1 example)', async (t) => {
  t.same(
    parseAcceptSignature(
      'sig1=("@method" "@target-uri" "@authority" "content-digest" "cache-control");keyid="test-key-rsa-pss";created;tag="app-123"',
    ),
    [
      {
        label: 'sig1',
        components: ['@method', '@target-uri', '@authority', 'content-digest', 'cache-control'],
        params: { keyid: 'test-key-rsa-pss', created: true, tag: 'app-123' },
      },
    ],
  );
  t.same(parseAcceptSignature(['a=("@status" "signature";req;key="sig1")', 'b=()']), [
    { label: 'a', components: ['@status', '"signature";req;key="sig1"'], params: {} },
    { label: 'b', components: [], params: {} },
  ]);
  t.same(parseAcceptSignature(undefined), []);
  for (const bad of ['sig1=("@status"', 'sig1="@status"', 'sig1=(1 2)', 'sig1=();x=:YWJj:']) {
    t.throws(() => parseAcceptSignature(bad), { code: 'ACCEPT_SIGNATURE_INVALID', statusCode: 400 }, bad);
  }
});

t.test('signResponse → verifyResponseSignature', async (t) => {
  const request = signedRequest('n-1');
  const response = await signedResponse(request);
  t.equal(response.headers['content-digest'], contentDigest(RESPONSE_BODY));
  t.match(
    String(response.headers['signature-input']),
    /^sig1=\("@status" "content-digest" "signature";req;key="sig1"\);keyid="01";alg="rsa-pss-sha512";created=1750000000$/,
  );
  const verified = await verifyResponseSignature(response, clientOptions);
  t.same(verified.components, ['@status', 'content-digest', '"signature";req;key="sig1"']);
  t.equal(verified.requestLabel, 'sig1');
  t.equal(verified.keyid, PLATFORM_KEYID);

  const v15 = await signedResponse(request, {
    alg: 'rsa-v1_5-sha256',
    label: 'resp',
    tag: 'govshare',
    nonce: 'r-1',
  });
  t.equal((await verifyResponseSignature(v15, { ...clientOptions, label: 'resp' })).alg, 'rsa-v1_5-sha256');
});

t.test('a response with a digest header and no body given to signResponse', async (t) => {
  const request = signedRequest('n-2');
  const headers = {
    'content-type': 'application/json',
    'content-digest': contentDigest(RESPONSE_BODY, 'sha-512'),
  };
  const added = await signResponse({
    status: 200,
    headers,
    request,
    requestLabel: 'sig1',
    keyId: PLATFORM_KEYID,
    signer: otherSigner,
    created: NOW_S,
  });
  t.notOk(added['content-digest'], 'the existing digest is kept');
  const response = { status: 200, headers: { ...headers, ...added }, body: RESPONSE_BODY, request };
  t.ok(await verifyResponseSignature(response, clientOptions));
  await t.rejects(
    () =>
      signResponse({
        status: 200,
        headers: {},
        request,
        requestLabel: 'sig1',
        keyId: PLATFORM_KEYID,
        signer: otherSigner,
      }),
    { code: 'SIG_ARGUMENT_INVALID' },
  );
  await t.rejects(
    () =>
      signResponse({
        status: 200,
        headers: {},
        body: '',
        request: dataRequest(),
        requestLabel: 'sig1',
        keyId: PLATFORM_KEYID,
        signer: otherSigner,
      }),
    { code: 'SIG_MALFORMED', message: /no signature header/ },
    'an unsigned request cannot be bound to',
  );
});

t.test('tampered or rebound responses are refused', async (t) => {
  const request = signedRequest('n-3');
  const otherRequest = signedRequest('n-4');
  const signedGood = await signedResponse(request);
  const unbound = await signedResponse(request, { components: ['@status', 'content-digest'] });
  const good = () => signedGood;
  const cases: [
    string,
    () => SignedResponse,
    Partial<Parameters<typeof verifyResponseSignature>[1]>,
    string,
    RegExp,
  ][] = [
    ['status changed', () => ({ ...good(), status: 404 }), {}, 'SIG_INVALID', /does not verify/],
    [
      'body changed',
      () => ({ ...good(), body: Buffer.from('{"name":"李四"}') }),
      {},
      'DIGEST_MISMATCH',
      /does not match/,
    ],
    [
      'answer to another request',
      () => ({ ...good(), request: otherRequest }),
      {},
      'SIG_INVALID',
      /does not verify/,
    ],
    [
      'request signature swapped in the request',
      () => ({
        ...good(),
        request: { ...request, headers: { ...request.headers, signature: otherRequest.headers.signature } },
      }),
      {},
      'SIG_INVALID',
      /does not verify/,
    ],
    [
      'not bound to the request',
      () => unbound,
      {},
      'SIG_COMPONENT_MISSING',
      /must cover "signature";req;key="sig1"/,
    ],
    ['another key', good, { key: callerKey.publicKey }, 'SIG_INVALID', /does not verify/],
    ['another keyid', good, { keyId: '02' }, 'SIG_INVALID', /signed with keyid 01, expected 02/],
    ['stale', good, { now: () => NOW_MS + 3_600_000 }, 'SIG_EXPIRED', /older than/],
    [
      'unsigned',
      () => ({ ...good(), headers: { 'content-type': 'application/json' } }),
      {},
      'SIG_MISSING',
      /no Signature-Input/,
    ],
  ];
  for (const [name, response, options, code, message] of cases) {
    await t.rejects(
      verifyResponseSignature(response(), { ...clientOptions, ...options }),
      { code, message },
      name,
    );
  }
});
