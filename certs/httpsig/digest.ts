/**
 * Content-Digest (RFC 9530 §2): a dictionary of `algorithm=:base64 digest:` members over the message
 * content. Only the two active algorithms of the IANA registry are accepted; the deprecated ones
 * (md5, sha, crc32c, ...) count as unsupported.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { type Dictionary, parseDictionary, serializeDictionary } from 'structured-headers';
import { DigestMalformed, DigestMismatch, DigestMissing, DigestUnsupported } from './errors.js';
import type { HeaderValue } from './message.js';

export const DIGEST_ALGORITHMS = ['sha-256', 'sha-512'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

const HASHES: Record<DigestAlgorithm, string> = { 'sha-256': 'sha256', 'sha-512': 'sha512' };

function digest(body: Buffer | string, alg: DigestAlgorithm): Buffer {
  return createHash(HASHES[alg]).update(body).digest();
}

/** The Content-Digest header value for a body, e.g. `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`. */
export function contentDigest(body: Buffer | string, alg: DigestAlgorithm = 'sha-256'): string {
  return serializeDictionary(new Map([[alg, [digest(body, alg), new Map()]]]));
}

/**
 * Check a Content-Digest header against the body received. Every supported member must match (a
 * sender that adds sha-512 beside sha-256 must get both right); unsupported members are ignored.
 * Returns the algorithms that were checked.
 */
export function checkContentDigest(headerValue: HeaderValue, body: Buffer | string): DigestAlgorithm[] {
  if (headerValue === undefined || (Array.isArray(headerValue) && headerValue.length === 0)) {
    throw new DigestMissing(
      'the message has a body but no Content-Digest header: send Content-Digest: sha-256=:<base64 of the SHA-256 of the body>:',
    );
  }
  let members: Dictionary;
  try {
    members = parseDictionary(Array.isArray(headerValue) ? headerValue.join(', ') : headerValue);
  } catch (error) {
    throw new DigestMalformed(
      `Content-Digest is not a structured dictionary (${(error as Error).message}): write it as sha-256=:<base64>:`,
    );
  }
  const checked: DigestAlgorithm[] = [];
  for (const alg of DIGEST_ALGORITHMS) {
    const member = members.get(alg);
    if (member === undefined) continue;
    const [value] = member;
    if (!(value instanceof ArrayBuffer)) {
      throw new DigestMalformed(
        `Content-Digest ${alg} must be a byte sequence: ${alg}=:<base64>: (colons included)`,
      );
    }
    const expected = digest(body, alg);
    const sent = Buffer.from(value);
    if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
      throw new DigestMismatch(
        `Content-Digest ${alg} does not match the body received: compute it over the exact bytes sent, after any compression`,
      );
    }
    checked.push(alg);
  }
  if (checked.length === 0) {
    const sent = [...members.keys()].join(', ') || 'none';
    throw new DigestUnsupported(
      `Content-Digest has no supported algorithm (sent: ${sent}): use ${DIGEST_ALGORITHMS.join(' or ')}`,
    );
  }
  return checked;
}
