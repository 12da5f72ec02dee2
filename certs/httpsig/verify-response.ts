/**
 * Verifying a signed response on the client (RFC 9421 §2.4, §3.2): the signature must verify with the
 * platform key, cover the status and the Content-Digest, and be bound to the signature of the request
 * that was sent, so that a response cannot be replayed as the answer to another request.
 */
import type { KeyObject } from 'node:crypto';
import type { SignatureAlgorithm } from './algorithms.js';
import { buildSignatureBase } from './base.js';
import type { ComponentId } from './components.js';
import { checkContentDigest } from './digest.js';
import { SigInvalid } from './errors.js';
import { fieldValue, type Headers, type RequestMessage } from './message.js';
import {
  checkCoverage,
  checkTimeWindow,
  coveredComponents,
  readParameters,
  readSignature,
} from './signature-fields.js';
import { DEFAULT_MAX_SKEW_SECONDS, verifySignature } from './verify-request.js';

export interface SignedResponse {
  status: number;
  headers: Headers;
  body?: Buffer | string;
  /** The request as it was sent, with its Signature and Signature-Input headers. */
  request: RequestMessage;
}

export interface VerifyResponseOptions {
  /** The platform's public key. */
  key: KeyObject;
  /** When given, the signature's keyid must be this one. */
  keyId?: string;
  /** The response signature to verify. @defaultValue the first one */
  label?: string;
  /** The label of the request signature the response must be bound to. @defaultValue the request's first */
  requestLabel?: string;
  /** @defaultValue Date.now */
  now?: () => number;
  /** @defaultValue 300 */
  maxSkewSeconds?: number;
  /** @defaultValue ['@status', 'content-digest', '"signature";req;key="<requestLabel>"'] */
  requiredComponents?: ComponentId[];
}

export interface VerifiedResponseSignature {
  label: string;
  requestLabel: string;
  alg: SignatureAlgorithm;
  keyid?: string;
  created: number;
  expires?: number;
  components: ComponentId[];
  signatureInput: string;
  signature: Buffer;
}

export async function verifyResponseSignature(
  response: SignedResponse,
  options: VerifyResponseOptions,
): Promise<VerifiedResponseSignature> {
  const member = readSignature(response.headers, options.label);
  const params = readParameters(member, { keyid: options.keyId !== undefined, nonce: false });
  const requestLabel = options.requestLabel ?? readSignature(response.request.headers).label;
  checkCoverage(
    member,
    options.requiredComponents ?? [
      '@status',
      'content-digest',
      `"signature";req;key=${JSON.stringify(requestLabel)}`,
    ],
  );
  checkTimeWindow(params, (options.now ?? Date.now)(), options.maxSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS);
  if (options.keyId !== undefined && params.keyid !== options.keyId) {
    throw new SigInvalid(`the response is signed with keyid ${params.keyid}, expected ${options.keyId}`);
  }
  const message = { status: response.status, headers: response.headers, request: response.request };
  const built = buildSignatureBase(
    message,
    member.components,
    member.innerList[1],
    member.serializedInnerList,
  );
  await verifySignature(member, params.alg, options.key, built, params.keyid);
  checkContentDigest(fieldValue(response.headers, 'content-digest'), response.body ?? Buffer.alloc(0));
  return {
    label: member.label,
    requestLabel,
    alg: params.alg,
    ...(params.keyid === undefined ? {} : { keyid: params.keyid }),
    created: params.created,
    ...(params.expires === undefined ? {} : { expires: params.expires }),
    components: coveredComponents(member),
    signatureInput: `${member.label}=${built.signatureParams}`,
    signature: member.signature,
  };
}
