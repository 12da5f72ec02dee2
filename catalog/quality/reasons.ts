/**
 * Reasons of failed identifier checks, as shown in quality reports. catalog/identifiers.ts explains a
 * failure by quoting characters of the value ("characters 7-14 ("19491231") are not a real birth date");
 * put next to a masked example, that would give back what the mask hides. For the personal identifiers
 * the reason keeps only the position and the kind of fault.
 */
import type { IdentifierCheck } from '../identifiers.js';
import type { IdentifierKind } from './plan.js';

export function safeReason(kind: IdentifierKind, result: Exclude<IdentifierCheck, { ok: true }>): string {
  if (kind === 'divisionCode' || kind === 'phone') return result.reason;
  const { position, reason } = result;
  if (position === undefined) return reason.replace(/, not \d+$/, '');
  if (position === 18 && reason.startsWith('check character')) {
    return `check character 18 does not match the first 17 ${kind === 'idNumber' ? 'digits' : 'characters'}`;
  }
  if (kind === 'uscc' && position === 17 && reason.includes('organisation code')) {
    return 'character 17 does not match the organisation code (characters 9-16, GB 11714)';
  }
  if (kind === 'idNumber') {
    if (reason.startsWith('division code')) return 'characters 1-6 are not a valid division code';
    if (position === 7) return 'characters 7-14 are not a real birth date';
    return `character ${position} is not allowed: 17 digits, then a digit or a capital X`;
  }
  if (position >= 3 && position <= 8 && reason.includes('must be a digit')) {
    return `character ${position} must be a digit: characters 3-8 are an administrative division code`;
  }
  return `character ${position} is not allowed; use digits and capital letters except I, O, Z, S, V`;
}
