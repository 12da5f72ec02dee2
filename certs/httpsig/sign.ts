/**
 * Signing helpers: requests for department developers (with their private key), responses for the gateway
 * (through the platform's `Signer`, so that a hardware module can hold the key) (RFC 9421 §3.1).
 * Each returns only the headers to add; the message itself is not changed.
 */
import { type KeyObject, randomBytes } from 'node:crypto';
import { type Item, isValidKeyStr, serializeDictionary } from 'structured-headers';
import { type Signer, schemeFor } from '../signer.js';
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

interface SignatureOptions {
  keyId: string;
  /** @defaultValue 'sm2-sm3' for an SM2 key, else 'rsa-pss-sha512' */
  alg?: SignatureAlgorithm;
  /** @defaultValue 'sig1' */
  label?: string;
  /** UNIX seconds. @defaultValue now */
  created?: number;
  expires?: number;
}

interface SigningKey extends SignatureOptions {
  /** An RSA or SM2 private key, as a KeyObject or PEM. */
  privateKey: KeyObject | string;
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

export interface SignResponseInput extends SignatureOptions {
  /** The platform's key custody; the signature is asked of it, the key never leaves it. */
  signer: Signer;
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

interface PreparedSignature {
  alg: SignatureAlgorithm;
  label: string;
  base: string;
  signatureParams: string;
}

/** Checks the options and builds the signature base the signature covers (§2.5). */
function prepareSignature(
  message: HttpMessage,
  components: ComponentId[],
  options: SignatureOptions,
  alg: SignatureAlgorithm,
  extra: SignatureParams,
): PreparedSignature {
  if (!isSignatureAlgorithm(alg)) throw unsupportedAlgorithm(alg);
  const label = options.label ?? 'sig1';
  if (!isValidKeyStr(label)) {
    throw new SigArgumentInvalid(`label ${JSON.stringify(label)} must be lowercase letters, digits, _ - . *`);
  }
  const items: Item[] = components.map(componentItem);
  const params = parametersOf({
    keyid: options.keyId,
    alg,
    created: options.created ?? Math.floor(Date.now() / 1000),
    expires: options.expires,
    ...extra,
  });
  const { base, signatureParams } = buildSignatureBase(message, items, params);
  return { alg, label, base, signatureParams };
}

function signatureHeaders(
  prepared: PreparedSignature,
  signature: Buffer,
): { 'signature-input': string; signature: string } {
  return {
    'signature-input': `${prepared.label}=${prepared.signatureParams}`,
    signature: serializeDictionary(new Map([[prepared.label, [signature, new Map()]]])),
  };
}

function signMessage(
  message: HttpMessage,
  components: ComponentId[],
  key: SigningKey,
  extra: SignatureParams,
): { 'signature-input': string; signature: string } {
  const privateKey = signingKeyMaterial(key.privateKey);
  const prepared = prepareSignature(message, components, key, key.alg ?? defaultAlgorithm(privateKey), extra);
  return signatureHeaders(prepared, signSignatureBase(prepared.alg, privateKey, prepared.base));
}

/** The request as it is signed: Content-Digest added when there is a body, the components chosen. */
function requestToSign(input: Omit<SignRequestInput, 'privateKey'>) {
  const hasBody = input.body !== undefined && input.body.length > 0;
  const digest = hasBody ? contentDigest(input.body!, input.digestAlg) : undefined;
  const headers = digest === undefined ? input.headers : { ...input.headers, 'content-digest': digest };
  const components = input.components ?? defaultSignedComponents(input.headers, hasBody);
  const message: HttpMessage = { method: input.method, url: input.url, headers };
  const extra = { nonce: input.nonce ?? randomBytes(16).toString('base64url') };
  return { digest, message, components, extra };
}

export function signRequest(input: SignRequestInput): Record<string, string> {
  const { digest, message, components, extra } = requestToSign(input);
  const signed = signMessage(message, components, input, extra);
  return digest === undefined ? signed : { 'content-digest': digest, ...signed };
}

export interface SignRequestBySignerInput extends Omit<SignRequestInput, 'privateKey'> {
  /** Key custody (the platform's own requests, e.g. webhooks): the signature is asked of it. */
  signer: Signer;
}

/** signRequest through a Signer: the algorithm is the key's own unless `alg` names another it can do. */
export async function signRequestBySigner(input: SignRequestBySignerInput): Promise<Record<string, string>> {
  const alg = signerAlgorithm(input.signer, input.alg);
  const { digest, message, components, extra } = requestToSign(input);
  const prepared = prepareSignature(message, components, input, alg, extra);
  const signed = signatureHeaders(
    prepared,
    await input.signer.sign(Buffer.from(prepared.base), prepared.alg),
  );
  return digest === undefined ? signed : { 'content-digest': digest, ...signed };
}

/** The algorithm a Signer signs with: its key's own (`rsa-pss-sha512`, `sm2-sm3`) or `alg` if it can. */
function signerAlgorithm(signer: Signer, alg: SignatureAlgorithm | undefined): SignatureAlgorithm {
  const chosen = alg ?? (schemeFor(signer.keyType, 'rsa-pss-sha512') as SignatureAlgorithm);
  if (isSignatureAlgorithm(chosen) && (chosen === 'sm2-sm3') !== (signer.keyType === 'sm2')) {
    throw new SigArgumentInvalid(`a ${signer.keyType.toUpperCase()} key cannot sign ${chosen}`);
  }
  return chosen;
}

/**
 * Sign a response bound to the request's signature with `"signature";req;key="<requestLabel>"` (§2.4),
 * through the platform's Signer: the algorithm is the key's own (`rsa-pss-sha512` for RSA, `sm2-sm3` for
 * SM2) unless `alg` names another the key can do.
 */
export async function signResponse(input: SignResponseInput): Promise<Record<string, string>> {
  let digest: string | undefined;
  if (input.body !== undefined) digest = contentDigest(input.body);
  else if (fieldValue(input.headers, 'content-digest') === undefined) {
    throw new SigArgumentInvalid(
      'signResponse needs the body or a content-digest header to cover the content',
    );
  }
  const alg = signerAlgorithm(input.signer, input.alg);
  const headers = digest === undefined ? input.headers : { ...input.headers, 'content-digest': digest };
  const components = input.components ?? [
    '@status',
    'content-digest',
    `"signature";req;key=${JSON.stringify(input.requestLabel)}`,
  ];
  const prepared = prepareSignature(
    { status: input.status, headers, request: input.request },
    components,
    input,
    alg,
    { nonce: input.nonce, tag: input.tag },
  );
  const signed = signatureHeaders(
    prepared,
    await input.signer.sign(Buffer.from(prepared.base), prepared.alg),
  );
  return digest === undefined ? signed : { 'content-digest': digest, ...signed };
}
