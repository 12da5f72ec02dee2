/**
 * Subjects (citizens, companies) in the audit trail are keyed hashes, never clear values: the trail can
 * answer "who looked up this person" for someone who knows the ID number and the platform subject
 * secret, and reveals nothing to someone holding a copy of the trail alone.
 */
import { createHmac } from 'node:crypto';
import { AuditSetupInvalid } from './errors.js';

/** A resident ID number (GB 11643) with a lowercase check character. */
const ID_NUMBER_LOWER_X = /^[0-9]{17}x$/;

/**
 * Normalizes before hashing so one person has one hash: NFKC (full-width digits and letters become
 * ASCII), surrounding whitespace trimmed, the check character `x` of an 18-digit ID number uppercased.
 */
export function normalizeSubject(value: string): string {
  const trimmed = value.normalize('NFKC').trim();
  return ID_NUMBER_LOWER_X.test(trimmed) ? trimmed.toUpperCase() : trimmed;
}

/** HMAC-SHA-256 (lowercase hex) of the normalized value under the platform subject secret. */
export function subjectHash(secret: Buffer, value: string): string {
  if (secret.length < 16) throw new AuditSetupInvalid('the subject secret must be at least 16 bytes');
  return createHmac('sha256', secret).update(normalizeSubject(value), 'utf8').digest('hex');
}
