/**
 * What identifies a joint verification's finding without holding personal data: the values as keyed
 * fingerprints, and the finding (resource pair + item + record key hash) as one hash.
 */
import { createHash, createHmac } from 'node:crypto';

/** Values compare as the quality run compares them: strings trimmed, anything else as JSON. */
const normalise = (value: unknown) => (typeof value === 'string' ? value.trim() : JSON.stringify(value));

/** HMAC-SHA-256 of a value under the subject secret, apart from subject hashes by its label. */
export function valueFingerprint(secret: Buffer, value: unknown): string {
  return createHmac('sha256', secret)
    .update(`govshare:value\u0000${normalise(value)}`, 'utf8')
    .digest('hex');
}

/** One finding: the resource pair (either order), the item and the record key hash. */
export function findingOf(resources: readonly string[], semanticId: string, recordKeyHash: string): string {
  const pair = [...resources].sort();
  return createHash('sha256')
    .update(JSON.stringify([pair, semanticId, recordKeyHash]))
    .digest('hex');
}
