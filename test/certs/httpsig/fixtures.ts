/** Shared test material: real RSA-2048 keys (generated once per test file) and a signed-request builder. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  type SignedRequest,
  type SignRequestInput,
  signRequest,
  type VerifyRequestOptions,
} from '../../../certs/httpsig/index.js';
import { FileKeySigner } from '../../../certs/signer.js';

export interface KeyPair {
  publicKey: KeyObject;
  privateKey: KeyObject;
}

export const callerKey: KeyPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const otherKey: KeyPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
/** The platform's key custody over `otherKey`, as the gateway signs responses with it. */
export const otherSigner = FileKeySigner.fromPem(
  otherKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
);
export const CALLER_KEYID = '4f1c2a9be07d3301';
export const NOW_MS = 1_750_000_000_000;
export const NOW_S = NOW_MS / 1000;

export function dataRequest(body?: string): SignedRequest {
  return {
    method: 'POST',
    url: 'https://gw.example.gov.cn/v1/data/household-registration?id=42&fields=name',
    headers: {
      'content-type': 'application/json',
      'x-purpose': 'minimum-living-allowance-review',
      'x-user-id': 'u-3301-0042',
    },
    ...(body === undefined ? {} : { body: Buffer.from(body) }),
  };
}

/** The request with the headers signRequest returns added to it. */
export function signed(request: SignedRequest, overrides: Partial<SignRequestInput> = {}): SignedRequest {
  const added = signRequest({
    ...request,
    keyId: CALLER_KEYID,
    privateKey: callerKey.privateKey,
    created: NOW_S,
    ...overrides,
  });
  return { ...request, headers: { ...request.headers, ...added } };
}

/** Gateway-side options: one known keyid, a fixed clock and a nonce store backed by a Set. */
export function gatewayOptions(overrides: Partial<VerifyRequestOptions> = {}): VerifyRequestOptions & {
  nonceChecks: number;
} {
  const seen = new Set<string>();
  const options = {
    nonceChecks: 0,
    resolveKey: async (keyid: string) => {
      if (keyid !== CALLER_KEYID)
        throw Object.assign(new Error(`no certificate ${keyid}`), { code: 'CERT_UNKNOWN' });
      return { key: callerKey.publicKey };
    },
    checkNonce: async (keyid: string, nonce: string) => {
      options.nonceChecks++;
      const id = `${keyid}:${nonce}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    },
    now: () => NOW_MS,
    ...overrides,
  };
  return options;
}
