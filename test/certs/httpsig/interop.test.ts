/**
 * Interoperability with an independent RFC 9421 implementation, the npm package http-message-signatures
 * (it builds its own signature base and calls node:crypto itself).
 */
import { constants, verify } from 'node:crypto';
import { createSigner, createVerifier, httpbis } from 'http-message-signatures';
import { parseDictionary } from 'structured-headers';
import t from 'tap';
import {
  contentDigest,
  type SignatureParams,
  signatureBase,
  signRequest,
  signResponse,
  verifyRequestSignature,
} from '../../../certs/httpsig/index.js';
import { CALLER_KEYID, callerKey, gatewayOptions, otherKey, otherSigner } from './fixtures.js';

const ALGS = ['rsa-pss-sha512', 'rsa-v1_5-sha256'] as const;
const BODY = '{"idNumber":"330102199001011234"}';
// The other library checks `created` against the real clock, so these tests sign "now".
const nowSeconds = () => Math.floor(Date.now() / 1000);

function plainRequest(): { method: string; url: string; headers: Record<string, string> } {
  return {
    method: 'POST',
    url: 'https://gw.example.gov.cn/v1/data/household-registration?id=42',
    headers: {
      'content-type': 'application/json',
      'x-purpose': 'minimum-living-allowance-review',
      'content-digest': contentDigest(BODY),
    },
  };
}

function theirKeyLookup(alg: string) {
  return async () => ({ id: CALLER_KEYID, algs: [alg], verify: createVerifier(callerKey.publicKey, alg) });
}

for (const alg of ALGS) {
  t.test(`a request signed by http-message-signatures (${alg}) is accepted`, async (t) => {
    const request = plainRequest();
    const theirs = await httpbis.signMessage(
      {
        key: createSigner(callerKey.privateKey, alg, CALLER_KEYID),
        name: 'sig1',
        fields: ['@method', '@target-uri', 'x-purpose', 'content-digest'],
        params: ['keyid', 'alg', 'created', 'expires', 'nonce'],
        paramValues: { nonce: 'interop-nonce-1' },
      },
      request,
    );
    t.ok(theirs.headers.Signature, 'it uses capitalised header names');
    const verified = await verifyRequestSignature(
      { ...theirs, body: Buffer.from(BODY) },
      gatewayOptions({ now: () => Date.now() }),
    );
    t.equal(verified.alg, alg);
    t.equal(verified.nonce, 'interop-nonce-1');
    t.same(verified.components, ['@method', '@target-uri', 'x-purpose', 'content-digest']);
    t.ok(verified.expires, 'its default expires parameter is accepted');
    if (alg === 'rsa-pss-sha512') {
      // It signs with Node's default PSS salt (the maximum, 190 bytes here), not RFC 9421's 64 bytes,
      // which is why the verifier reads the salt length from the signature.
      const base = signatureBase(
        theirs,
        verified.components,
        Object.fromEntries(
          parseDictionary(String(theirs.headers['Signature-Input'])).get('sig1')![1],
        ) as SignatureParams,
      );
      const saltLength = (n: number) =>
        verify(
          'sha512',
          Buffer.from(base),
          { key: callerKey.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: n },
          verified.signature,
        );
      t.notOk(saltLength(64), 'its PSS salt is not 64 bytes');
      t.ok(saltLength(190), 'it is the maximum');
    }
    await t.rejects(
      verifyRequestSignature(
        { ...theirs, headers: { ...theirs.headers, 'x-purpose': 'marketing' }, body: Buffer.from(BODY) },
        gatewayOptions({ now: () => Date.now() }),
      ),
      { code: 'SIG_INVALID' },
    );
  });

  t.test(`a request signed by signRequest (${alg}) is accepted by http-message-signatures`, async (t) => {
    const request = plainRequest();
    const added = signRequest({
      ...request,
      body: BODY,
      keyId: CALLER_KEYID,
      privateKey: callerKey.privateKey,
      alg,
      created: nowSeconds() - 1,
    });
    const config = {
      keyLookup: theirKeyLookup(alg),
      requiredFields: ['@method', '@target-uri', 'x-purpose', 'content-digest'],
      requiredParams: ['keyid', 'alg', 'created', 'nonce'],
    };
    t.equal(
      await httpbis.verifyMessage(config, { ...request, headers: { ...request.headers, ...added } }),
      true,
    );
    t.equal(
      await httpbis.verifyMessage(config, {
        ...request,
        url: `${request.url}&id=43`,
        headers: { ...request.headers, ...added },
      }),
      false,
      'and refused by it once the URL is changed',
    );
  });
}

t.test(
  'a response signed by signResponse is accepted by http-message-signatures, ;req binding included',
  async (t) => {
    const request = plainRequest();
    const signedRequest = {
      ...request,
      headers: {
        ...request.headers,
        ...signRequest({ ...request, body: BODY, keyId: CALLER_KEYID, privateKey: callerKey.privateKey }),
      },
    };
    const responseBody = '{"name":"张三"}';
    const responseHeaders = { 'content-type': 'application/json' };
    const added = await signResponse({
      status: 200,
      headers: responseHeaders,
      body: responseBody,
      request: signedRequest,
      requestLabel: 'sig1',
      keyId: 'platform',
      signer: otherSigner,
      created: nowSeconds() - 1,
    });
    const config = {
      keyLookup: async () => ({
        id: 'platform',
        algs: ['rsa-pss-sha512'],
        verify: createVerifier(otherKey.publicKey, 'rsa-pss-sha512'),
      }),
    };
    const response = { status: 200, headers: { ...responseHeaders, ...added } };
    t.equal(await httpbis.verifyMessage(config, response, signedRequest), true);
    const otherRequest = {
      ...request,
      headers: {
        ...request.headers,
        ...signRequest({ ...request, body: BODY, keyId: CALLER_KEYID, privateKey: callerKey.privateKey }),
      },
    };
    t.equal(
      await httpbis.verifyMessage(config, response, otherRequest),
      false,
      'not as the answer to another request',
    );
  },
);
