/**
 * Signing helpers: requests for department developers, responses for the gateway (RFC 9421 §3.1).
 * Each returns only the headers to add; the message itself is not changed.
 */
import { type KeyObject, randomBytes } from 'node:crypto';
import { type Item, isValidKeyStr, serializeDictionary } from 'structured-headers';
import {
  defaultAlgorithm,
  isSignatureAlgorithm,
  type SignatureAlgorithm,
  signingKeyMaterial,
  signSignatureBase,
  unsupportedAlgorithm,
} from './algorithms.js';
import { buildSignatureBase, parametersOf, type SignatureParams } from './base.js';
import { type ComponentId, componentItem } from './components.js';
import { contentDigest, type DigestAlgorithm } from './digest.js';
import { SigArgumentInvalid } from './errors.js';
import { fieldLines, fieldValue, type Headers, type HttpMessage, type RequestMessage } from './message.js';

interface SigningKey {
  keyId: string;
  /** An RSA or SM2 private key, as a KeyObject or PEM. */
  privateKey: KeyObject | string;
  /** @defaultValue 'sm2-sm3' for an SM2 key, else 'rsa-pss-sha512' */
  alg?: SignatureAlgorithm;
  /** @defaultValue 'sig1' */
  label?: string;
  /** UNIX seconds. @defaultValue now */
  created?: number;
  expires?: number;
}

export interface SignRequestInput extends RequestMessage, SigningKey {
  body?: Buffer | string;
  /** @defaultValue 16 random bytes, base64url */
  nonce?: string;
  /** @defaultValue defaultSignedComponents */
  components?: ComponentId[];
  /** @defaultValue 'sha-256' */
  digestAlg?: DigestAlgorithm;
}

export interface SignResponseInput extends SigningKey {
  status: number;
  headers: Headers;
  /** When given, Content-Digest is computed from it; otherwise headers must carry one. */
  body?: Buffer | string;
  /** The request answered, with its Signature and Signature-Input headers. */
  request: RequestMessage;
  /** The label of the request signature the response is bound to. */
  requestLabel: string;
  /** @defaultValue ['@status', 'content-digest', '"signature";req;key="<requestLabel>"'] */
  components?: ComponentId[];
  /** Echoed from Accept-Signature when the caller asked for them. */
  nonce?: string;
  tag?: string;
}

/** `@method`, `@target-uri`, `x-purpose`; `x-user-id`/`x-case-id`/`x-subject-id` when sent; `content-digest` with a body. */
export function defaultSignedComponents(headers: Headers, hasBody: boolean): ComponentId[] {
  const components = ['@method', '@target-uri', 'x-purpose'];
  for (const optional of ['x-user-id', 'x-case-id', 'x-subject-id']) {
    if (fieldLines(headers, optional) !== undefined) components.push(optional);
  }
  if (hasBody) components.push('content-digest');
  return components;
}

function signMessage(
  message: HttpMessage,
  components: ComponentId[],
  key: SigningKey,
  extra: SignatureParams,
): { 'signature-input': string; signature: string } {
  const privateKey = signingKeyMaterial(key.privateKey);
  const alg = key.alg ?? defaultAlgorithm(privateKey);
  if (!isSignatureAlgorithm(alg)) throw unsupportedAlgorithm(alg);
  const label = key.label ?? 'sig1';
  if (!isValidKeyStr(label)) {
    throw new SigArgumentInvalid(`label ${JSON.stringify(label)} must be lowercase letters, digits, _ - . *`);
  }
  const items: Item[] = components.map(componentItem);
  const params = parametersOf({
    keyid: key.keyId,
    alg,
    created: key.created ?? Math.floor(Date.now() / 1000),
    expires: key.expires,
    ...extra,
  });
  const { base, signatureParams } = buildSignatureBase(message, items, params);
  const signature = signSignatureBase(alg, privateKey, base);
  return {
    'signature-input': `${label}=${signatureParams}`,
    signature: serializeDictionary(new Map([[label, [signature, new Map()]]])),
  };
}

export function signRequest(input: SignRequestInput): Record<string, string> {
  const hasBody = input.body !== undefined && input.body.length > 0;
  const digest = hasBody ? contentDigest(input.body!, input.digestAlg) : undefined;
  const headers = digest === undefined ? input.headers : { ...input.headers, 'content-digest': digest };
  const components = input.components ?? defaultSignedComponents(input.headers, hasBody);
  const signed = signMessage({ method: input.method, url: input.url, headers }, components, input, {
    nonce: input.nonce ?? randomBytes(16).toString('base64url'),
  });
  return digest === undefined ? signed : { 'content-digest': digest, ...signed };
}

/** Sign a response bound to the request's signature with `"signature";req;key="<requestLabel>"` (§2.4). */
export function signResponse(input: SignResponseInput): Record<string, string> {
  let digest: string | undefined;
  if (input.body !== undefined) digest = contentDigest(input.body);
  else if (fieldValue(input.headers, 'content-digest') === undefined) {
    throw new SigArgumentInvalid(
      'signResponse needs the body or a content-digest header to cover the content',
    );
  }
  const headers = digest === undefined ? input.headers : { ...input.headers, 'content-digest': digest };
  const components = input.components ?? [
    '@status',
    'content-digest',
    `"signature";req;key=${JSON.stringify(input.requestLabel)}`,
  ];
  const signed = signMessage({ status: input.status, headers, request: input.request }, components, input, {
    nonce: input.nonce,
    tag: input.tag,
  });
  return digest === undefined ? signed : { 'content-digest': digest, ...signed };
}
