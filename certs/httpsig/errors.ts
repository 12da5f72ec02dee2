/**
 * Errors of HTTP Message Signatures (RFC 9421) and Content-Digest (RFC 9530). Every verification
 * failure is a 401 whose message tells the caller's developer what to change in the signing code;
 * messages never contain key material or covered values (they may carry personal data).
 */
import { createError } from '@fastify/error';

// Request (and response) signature verification.
export const SigMissing = createError('SIG_MISSING', '%s', 401);
export const SigMalformed = createError('SIG_MALFORMED', '%s', 401);
export const SigAlgUnsupported = createError('SIG_ALG_UNSUPPORTED', '%s', 401);
export const SigAlgProfileMismatch = createError('SIG_ALG_PROFILE_MISMATCH', '%s', 401);
export const SigComponentMissing = createError('SIG_COMPONENT_MISSING', '%s', 401);
export const SigExpired = createError('SIG_EXPIRED', '%s', 401);
export const SigInvalid = createError('SIG_INVALID', '%s', 401);
export const SigReplay = createError('SIG_REPLAY', '%s', 401);

// Content-Digest of the body.
export const DigestMissing = createError('DIGEST_MISSING', '%s', 401);
export const DigestMalformed = createError('DIGEST_MALFORMED', '%s', 401);
export const DigestUnsupported = createError('DIGEST_UNSUPPORTED', '%s', 401);
export const DigestMismatch = createError('DIGEST_MISMATCH', '%s', 401);

// The caller asked for a response signature in a way the gateway cannot parse.
export const AcceptSignatureInvalid = createError('ACCEPT_SIGNATURE_INVALID', '%s', 400);

// The signing helpers were called with inputs they cannot sign (a programming error on the signer's side).
export const SigArgumentInvalid = createError('SIG_ARGUMENT_INVALID', '%s', 500);

export const httpsigErrors = {
  SigMissing,
  SigMalformed,
  SigAlgUnsupported,
  SigAlgProfileMismatch,
  SigComponentMissing,
  SigExpired,
  SigInvalid,
  SigReplay,
  DigestMissing,
  DigestMalformed,
  DigestUnsupported,
  DigestMismatch,
  AcceptSignatureInvalid,
  SigArgumentInvalid,
};

export const httpsigErrorDocs: Record<string, string> = {
  SIG_MISSING:
    'The request carries no Signature-Input and Signature headers, or their labels do not match (every label in one must be in the other).',
  SIG_MALFORMED:
    'Signature-Input or Signature is not a valid RFC 8941 dictionary, the signature is not base64 between colons, a required parameter (keyid, alg, created, nonce) is missing or of the wrong type, or a covered component cannot be taken from the message (e.g. a covered header that was not sent).',
  SIG_ALG_UNSUPPORTED:
    'The alg parameter names an algorithm the gateway does not accept; the message lists the accepted ones.',
  SIG_ALG_PROFILE_MISMATCH:
    "The alg is one the gateway knows but this platform's crypto profile does not accept (e.g. an RSA signature on a `gm` platform, which accepts `sm2-sm3` only); the message names the accepted ones.",
  SIG_COMPONENT_MISSING:
    'The signature does not cover every component the gateway requires (e.g. "@method", "@target-uri", "x-purpose", and "content-digest" when there is a body); the message names each missing one.',
  SIG_EXPIRED:
    'The created time is outside the allowed clock skew of the gateway time, or expires has passed; the message shows both clocks.',
  SIG_INVALID:
    'The signature does not verify with the key of the certificate named by keyid: the signature base was built differently or with another key; the message lists the covered components.',
  SIG_REPLAY: 'The nonce of this signature was already used: sign every request with a fresh random nonce.',
  DIGEST_MISSING: 'The message has a body but no Content-Digest header.',
  DIGEST_MALFORMED: 'Content-Digest is not an RFC 8941 dictionary of algorithm=:base64: members.',
  DIGEST_UNSUPPORTED: 'Content-Digest names no algorithm the gateway supports (sha-256, sha-512).',
  DIGEST_MISMATCH: 'The Content-Digest does not match the body that was received.',
  ACCEPT_SIGNATURE_INVALID:
    'Accept-Signature is not an RFC 8941 dictionary of label=(components);params members.',
  SIG_ARGUMENT_INVALID:
    'A signing helper was called with inputs it cannot sign (no body and no Content-Digest, a key that is neither RSA nor SM2 or does not fit the alg, a bad label).',
};
