export { parseAcceptSignature, type RequestedSignature } from './accept-signature.js';
export {
  checkProfileAlgorithm,
  PROFILE_ALGORITHMS,
  PSS_SALT_LENGTH,
  SIGNATURE_ALGORITHMS,
  type SignatureAlgorithm,
  signSignatureBase,
  verifySignatureBase,
} from './algorithms.js';
export { type SignatureParams, signatureBase } from './base.js';
export type { ComponentId } from './components.js';
export { checkContentDigest, contentDigest, DIGEST_ALGORITHMS, type DigestAlgorithm } from './digest.js';
export * from './errors.js';
export type { Headers, HeaderValue, HttpMessage, RequestMessage, ResponseMessage } from './message.js';
export {
  defaultSignedComponents,
  type SignRequestBySignerInput,
  type SignRequestInput,
  type SignResponseInput,
  signRequest,
  signRequestBySigner,
  signResponse,
} from './sign.js';
export {
  DEFAULT_MAX_SKEW_SECONDS,
  defaultRequiredComponents,
  type SignedRequest,
  type VerifiedSignature,
  type VerifyRequestOptions,
  verifyRequestSignature,
} from './verify-request.js';
export {
  type SignedResponse,
  type VerifiedResponseSignature,
  type VerifyResponseOptions,
  verifyResponseSignature,
} from './verify-response.js';
