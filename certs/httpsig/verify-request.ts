/**
 * Verifying a signed request on the gateway (RFC 9421 §3.2). The steps run in a fixed order, cheap and
 * key-free checks first; the nonce is recorded last, only once the signature verifies, so that a
 * forger cannot burn the nonces of real callers.
 */
import type { KeyObject } from 'node:crypto';
import { serializeItem } from 'structured-headers';
import { checkProfileAlgorithm, type SignatureAlgorithm, verifySignatureBase } from './algorithms.js';
import { buildSignatureBase } from './base.js';
import type { ComponentId } from './components.js';
import { checkContentDigest } from './digest.js';
import { SigInvalid, SigReplay } from './errors.js';
import { fieldLines, fieldValue, type RequestMessage } from './message.js';
import {
  checkCoverage,
  checkTimeWindow,
  coveredComponents,
  readParameters,
  readSignature,
  type SignatureMember,
} from './signature-fields.js';

export interface SignedRequest extends RequestMessage {
  /** The body exactly as received; its Content-Digest is checked when present. */
  body?: Buffer;
}

export interface VerifyRequestOptions {
  /** The caller's public key for a keyid (a cached KeyObject); its own errors (e.g. CERT_UNKNOWN) pass through. */
  resolveKey(keyid: string): Promise<{ key: KeyObject }>;
  /** Records the nonce; false when it was already seen (a replay). Its errors pass through. */
  checkNonce(keyid: string, nonce: string, createdSeconds: number): Promise<boolean>;
  /** @defaultValue Date.now */
  now?: () => number;
  /** Allowed distance between `created` and the gateway clock. @defaultValue 300 */
  maxSkewSeconds?: number;
  /** The components the signature must cover. @defaultValue defaultRequiredComponents */
  requiredComponents?: (request: SignedRequest) => ComponentId[];
  /** The signature to verify when there are several. @defaultValue the first one */
  label?: string;
  /**
   * The algorithms the platform's crypto profile accepts; any other is SIG_ALG_PROFILE_MISMATCH before a
   * key is looked up. @defaultValue every algorithm of SIGNATURE_ALGORITHMS
   */
  allowedAlgorithms?: readonly SignatureAlgorithm[];
}

export interface VerifiedSignature {
  keyid: string;
  label: string;
  alg: SignatureAlgorithm;
  created: number;
  expires?: number;
  nonce: string;
  /** The covered components in ComponentId notation, in signed order. */
  components: ComponentId[];
  /** The verified Signature-Input member, `sig1=(...);keyid=...`, for the audit trail. */
  signatureInput: string;
  signature: Buffer;
}

export const DEFAULT_MAX_SKEW_SECONDS = 300;

function hasBody(request: SignedRequest): boolean {
  return request.body !== undefined && request.body.length > 0;
}

/**
 * govshare's rule: `@method`, `@target-uri` and `x-purpose` always; `x-user-id` and `x-case-id` when
 * sent (the official acting and the case behind the call), and `x-subject-id` when sent (the person a
 * transparency portal asks for); `content-digest` when there is a body.
 */
export function defaultRequiredComponents(request: SignedRequest): ComponentId[] {
  const required = ['@method', '@target-uri', 'x-purpose'];
  for (const optional of ['x-user-id', 'x-case-id', 'x-subject-id']) {
    if (fieldLines(request.headers, optional) !== undefined) required.push(optional);
  }
  if (hasBody(request)) required.push('content-digest');
  return required;
}

export async function verifyRequestSignature(
  request: SignedRequest,
  options: VerifyRequestOptions,
): Promise<VerifiedSignature> {
  const member = readSignature(request.headers, options.label);
  const params = readParameters(member, { keyid: true, nonce: true });
  if (options.allowedAlgorithms) checkProfileAlgorithm(params.alg, options.allowedAlgorithms);
  checkCoverage(member, (options.requiredComponents ?? defaultRequiredComponents)(request));
  checkTimeWindow(params, (options.now ?? Date.now)(), options.maxSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS);
  const { base, signatureParams } = buildSignatureBase(
    request,
    member.components,
    member.innerList[1],
    member.serializedInnerList,
  );
  const keyid = params.keyid!;
  const { key } = await options.resolveKey(keyid);
  await verifySignature(member, params.alg, key, { base, signatureParams }, keyid);
  const digestHeader = fieldValue(request.headers, 'content-digest');
  if (hasBody(request) || digestHeader !== undefined)
    checkContentDigest(digestHeader, request.body ?? Buffer.alloc(0));
  const nonce = params.nonce!;
  if (!(await options.checkNonce(keyid, nonce, params.created))) {
    throw new SigReplay(
      `nonce ${JSON.stringify(nonce)} was already used by keyid ${keyid}: sign every request with a fresh random nonce`,
    );
  }
  return {
    keyid,
    label: member.label,
    alg: params.alg,
    created: params.created,
    ...(params.expires === undefined ? {} : { expires: params.expires }),
    nonce,
    components: coveredComponents(member),
    signatureInput: `${member.label}=${signatureParams}`,
    signature: member.signature,
  };
}

/** Shared with response verification: a failure lists what the base was built from, never any value. */
export async function verifySignature(
  member: SignatureMember,
  alg: SignatureAlgorithm,
  key: KeyObject,
  { base, signatureParams }: { base: string; signatureParams: string },
  keyid: string | undefined,
): Promise<void> {
  if (await verifySignatureBase(alg, key, base, member.signature)) return;
  const identifiers = member.components.map((item) => serializeItem(item)).join(' ') || '(none)';
  throw new SigInvalid(
    `signature does not verify with ${alg}${keyid === undefined ? '' : ` and the key of keyid ${keyid}`}: ` +
      `check that the signature base is built from exactly these components, in this order: ${identifiers}; ` +
      'one line "<identifier>: <value>" each, joined by a single LF, then the last line ' +
      `"@signature-params": ${signatureParams} (no trailing LF); ` +
      'and that you signed with the private key of the certificate named by keyid',
  );
}
