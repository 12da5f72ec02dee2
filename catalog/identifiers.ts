/**
 * Check characters of the identifiers the platform keys data by (DOMAIN.md "Identifiers and their checks").
 * Each check returns a result that says what is wrong, so a registration or quality report can tell a
 * person which character to fix.
 */
import { cstDayNumber } from '../platform/plain-date.js';

export type IdentifierCheck = { ok: true } | { ok: false; position?: number; reason: string };

const USCC_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** The check character (position 18) that GB 32100-2015 gives for the first 17 characters. */
export function usccCheckCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += USCC_ALPHABET.indexOf(first17[i]!) * USCC_WEIGHTS[i]!;
  return USCC_ALPHABET[(31 - (sum % 31)) % 31]!;
}

const ORGANISATION_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2];

/**
 * The check character (9th) that GB 11714-1997 gives for an 8-character organisation code body: digits
 * count as themselves and letters A=10 … Z=35; weights 3 7 9 10 5 8 4 2; check = 11 − (sum mod 11),
 * written 'X' for 10 and '0' for 11.
 */
export function organisationCheckCharacter(body: string): string {
  let sum = 0;
  for (let k = 0; k < 8; k++) sum += Number.parseInt(body[k]!, 36) * ORGANISATION_WEIGHTS[k]!;
  const check = 11 - (sum % 11);
  return check === 10 ? 'X' : check === 11 ? '0' : String(check);
}

/**
 * Unified social credit code, GB 32100-2015: 18 characters, check character last. Characters 9-17 are
 * the organisation code (GB 11714-1997), whose 9th character (position 17) checks its first eight.
 * Both failures name a check-character position (18 or 17): the only ones an operator may override.
 */
export function checkUscc(code: string): IdentifierCheck {
  if (code.length !== 18) return { ok: false, reason: `must be 18 characters long, not ${code.length}` };
  for (let i = 0; i < 18; i++) {
    if (!USCC_ALPHABET.includes(code[i]!)) {
      return {
        ok: false,
        position: i + 1,
        reason: `character ${i + 1} ("${code[i]}") is not allowed; use digits and capital letters except I, O, Z, S, V`,
      };
    }
  }
  const nonDigit = code.slice(2, 8).search(/[^0-9]/);
  if (nonDigit >= 0) {
    return {
      ok: false,
      position: nonDigit + 3,
      reason: `character ${nonDigit + 3} ("${code[nonDigit + 2]}") must be a digit: characters 3-8 are an administrative division code`,
    };
  }
  const expected = usccCheckCharacter(code.slice(0, 17));
  if (code[17] !== expected) {
    return {
      ok: false,
      position: 18,
      reason: `check character 18 is "${code[17]}" but the first 17 characters give "${expected}"`,
    };
  }
  const organisation = organisationCheckCharacter(code.slice(8, 16));
  if (code[16] !== organisation) {
    return {
      ok: false,
      position: 17,
      reason: `character 17 is "${code[16]}" but the organisation code (characters 9-16, GB 11714) gives "${organisation}"`,
    };
  }
  return { ok: true };
}

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

const PASSED: IdentifierCheck = Object.freeze({ ok: true });
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** True exactly when `checkIdNumber` finds nothing wrong (same checks, in one pass; see there). */
function idNumberPasses(id: string, today: Date): boolean {
  if (id.length !== 18) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const digit = id.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return false;
    sum += digit * ID_WEIGHTS[i]!;
  }
  const last = id.charCodeAt(17);
  if (!((last >= 48 && last <= 57) || last === 88)) return false;
  if (last !== ID_CHECK.charCodeAt(sum % 11)) return false;
  const at = (i: number) => id.charCodeAt(i) - 48;
  if (!PROVINCE_CODES.has(at(0) * 10 + at(1))) return false;
  if (at(2) === 0 && at(3) === 0 && !(at(4) === 0 && at(5) === 0)) return false;
  const year = at(6) * 1000 + at(7) * 100 + at(8) * 10 + at(9);
  const month = at(10) * 10 + at(11);
  const day = at(12) * 10 + at(13);
  if (year < 1850 || month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month]!)) return false;
  return Date.UTC(year, month - 1, day) / 86_400_000 <= cstDayNumber(today);
}

export function idNumberCheckCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * ID_WEIGHTS[i]!;
  return ID_CHECK[sum % 11]!;
}

/**
 * Resident ID number, GB 11643-1999. The division code is checked by structure only: numbers issued
 * under retired division codes stay valid. `today` bounds the birth date (no one is born tomorrow).
 */
export function checkIdNumber(id: string, today: Date = new Date()): IdentifierCheck {
  // A quality scan checks every row: a number that passes every check below is known in one pass over
  // its characters, without a string, regular expression or Date made; anything else takes the long way,
  // which says what is wrong.
  if (idNumberPasses(id, today)) return PASSED;
  if (id.length !== 18) return { ok: false, reason: `must be 18 characters long, not ${id.length}` };
  const bad = /^[0-9]{17}[0-9X]$/.test(id)
    ? -1
    : id.split('').findIndex((c, i) => !/[0-9]/.test(c) && !(i === 17 && c === 'X'));
  if (bad >= 0) {
    return {
      ok: false,
      position: bad + 1,
      reason: `character ${bad + 1} ("${id[bad]}") is not allowed: 17 digits, then a digit or a capital X`,
    };
  }
  const division = checkDivisionCode(id.slice(0, 6));
  if (!division.ok) return { ok: false, position: 1, reason: `division code: ${division.reason}` };
  const year = Number(id.slice(6, 10));
  const month = Number(id.slice(10, 12));
  const day = Number(id.slice(12, 14));
  const birth = new Date(Date.UTC(year, month - 1, day));
  if (
    year < 1850 ||
    birth.getUTCFullYear() !== year ||
    birth.getUTCMonth() !== month - 1 ||
    birth.getUTCDate() !== day ||
    // Birth dates are calendar dates in China Standard Time: born today is valid from 00:00 CST.
    birth.getTime() / 86_400_000 > cstDayNumber(today)
  ) {
    return {
      ok: false,
      position: 7,
      reason: `characters 7-14 ("${id.slice(6, 14)}") are not a real birth date`,
    };
  }
  const expected = idNumberCheckCharacter(id.slice(0, 17));
  if (id[17] !== expected) {
    return {
      ok: false,
      position: 18,
      reason: `check character 18 is "${id[17]}" but the first 17 digits give "${expected}"`,
    };
  }
  return { ok: true };
}

// Province-level codes of GB/T 2260 (stable since 1997; 71 Taiwan, 81 Hong Kong, 82 Macao).
const PROVINCE_CODES = new Set([
  11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61,
  62, 63, 64, 65, 71, 81, 82,
]);

/** Six ASCII digits. */
function sixDigits(code: string): boolean {
  if (code.length !== 6) return false;
  for (let i = 0; i < 6; i++) {
    const c = code.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Administrative division code, GB/T 2260, by structure: a province-level code, then two pairs. */
export function checkDivisionCode(code: string): IdentifierCheck {
  // The common case without a regular expression, slice or result object (a quality scan checks every row).
  if (sixDigits(code)) {
    const at = (i: number) => code.charCodeAt(i) - 48;
    if (
      PROVINCE_CODES.has(at(0) * 10 + at(1)) &&
      !(at(2) === 0 && at(3) === 0 && (at(4) !== 0 || at(5) !== 0))
    )
      return PASSED;
  }
  if (!/^[0-9]{6}$/.test(code)) return { ok: false, reason: 'must be 6 digits' };
  const province = Number(code.slice(0, 2));
  if (!PROVINCE_CODES.has(province)) {
    return { ok: false, position: 1, reason: `"${code.slice(0, 2)}" is not a province-level code` };
  }
  if (code.slice(2, 4) === '00' && code.slice(4, 6) !== '00') {
    return { ok: false, position: 5, reason: 'a county code needs a prefecture code' };
  }
  return { ok: true };
}

/** `^1[3-9][0-9]{9}$`, read from the characters. */
function isMobile(phone: string): boolean {
  if (phone.length !== 11 || phone.charCodeAt(0) !== 49) return false;
  const second = phone.charCodeAt(1);
  if (second < 51 || second > 57) return false;
  for (let i = 2; i < 11; i++) {
    const c = phone.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Mainland mobile numbers (11 digits, 1[3-9]…) and fixed lines with an area code. */
export function checkPhone(phone: string): IdentifierCheck {
  if (isMobile(phone)) return PASSED;
  if (/^0[1-9][0-9]{1,2}-?[1-9][0-9]{6,7}$/.test(phone)) return { ok: true };
  return {
    ok: false,
    reason: 'not a mainland mobile number (11 digits starting 13-19) or a fixed line with area code',
  };
}
