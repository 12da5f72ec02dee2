/**
 * Masking (脱敏) rules for sensitive items ([HC-R] 32; [XY] 25). The catalog says which items are sensitive
 * and of what kind, so the default rule of each kind lives beside it; which rule a grant applies is
 * policies/masking.ts. A rule is plain data so that it can be logged with the decision; `compileMask`
 * turns it into the function the response path (and the quality scan) runs.
 *
 * Everything counts characters by Unicode code point, so Chinese names (and the rare characters outside
 * the BMP, e.g. 𠮷) lose whole characters, never half a surrogate pair. A value that has no more
 * characters than a rule keeps is masked completely: a rule never reveals a whole value.
 */
import type { SensitiveKind } from './schema.js';

export type MaskRule =
  /** Keep `keepStart` characters at the start and `keepEnd` at the end, one `char` per hidden character. */
  | { kind: 'keep'; keepStart: number; keepEnd: number; char: string }
  /** Keep the address down to the district/county, then a fixed `char` x 4 (hides the length too). */
  | { kind: 'address'; char: string }
  /** Replace the whole value by a fixed text. */
  | { kind: 'redact'; text: string };

/**
 * Defaults per sensitive kind. uscc keeps the first 8 characters (registration authority, organisation
 * type and division code: they say where and what kind, not who) and the last 2, so that people can still
 * tell records apart as they do with the last digits of a phone number.
 */
export const DEFAULT_MASKS: Readonly<Record<SensitiveKind, MaskRule>> = Object.freeze({
  idNumber: { kind: 'keep', keepStart: 6, keepEnd: 4, char: '*' },
  phone: { kind: 'keep', keepStart: 3, keepEnd: 4, char: '*' },
  name: { kind: 'keep', keepStart: 1, keepEnd: 0, char: '*' },
  uscc: { kind: 'keep', keepStart: 8, keepEnd: 2, char: '*' },
  address: { kind: 'address', char: '*' },
  other: { kind: 'redact', text: '***' },
});

const SURROGATE = /[\uD800-\uDFFF]/;

function maskKeep(value: string, keepStart: number, keepEnd: number, char: string): string {
  if (!SURROGATE.test(value)) {
    const n = value.length;
    if (n <= keepStart + keepEnd) return char.repeat(n);
    return value.slice(0, keepStart) + char.repeat(n - keepStart - keepEnd) + value.slice(n - keepEnd);
  }
  const chars = Array.from(value);
  const n = chars.length;
  if (n <= keepStart + keepEnd) return char.repeat(n);
  return (
    chars.slice(0, keepStart).join('') +
    char.repeat(n - keepStart - keepEnd) +
    chars.slice(n - keepEnd).join('')
  );
}

// Province level (省, 自治区, 特别行政区), then prefecture level (市 incl. the four municipalities, 自治州,
// 地区, 盟), then the district/county (区, 县, 旗, or a county-level 市). Windows are bounded so that a 区
// deep in the street part ("幸福小区") is not taken for a district.
// Sticky (y) and tested with lastIndex, so that a match costs neither a match array nor a slice (each
// address of a bulk export goes through all three).
const PROVINCE = /.{2,7}?(?:省|自治区|特别行政区)/y;
const PREFECTURE = /.{1,9}?(?:自治州|地区|盟|市)/y;
const COUNTY = /.{1,15}?(?:区|县|旗|市)/y;
// A "county" that contains these is a street, town or estate, so the cut would reveal too much.
const NOT_A_COUNTY = /[路街道巷弄号镇乡村]|(?:小区|社区|校区)$/;
const ADDRESS_TAIL = 4;

/** Where `pattern` (sticky) matches from `at`, the end of the match; otherwise -1. */
function matchEnd(pattern: RegExp, text: string, at: number): number {
  pattern.lastIndex = at;
  return pattern.test(text) ? pattern.lastIndex : -1;
}

/** The leading part of an address that names only the province, city and district/county. */
export function addressRegionPrefix(address: string): string {
  let kept = 0;
  const province = matchEnd(PROVINCE, address, kept);
  if (province !== -1) kept = province;
  const prefecture = matchEnd(PREFECTURE, address, kept);
  if (prefecture !== -1) kept = prefecture;
  const county = matchEnd(COUNTY, address, kept);
  if (county !== -1 && !NOT_A_COUNTY.test(address.slice(kept, county))) kept = county;
  return address.slice(0, kept);
}

function maskAddress(value: string, char: string): string {
  const tail = char.repeat(ADDRESS_TAIL);
  // No recognisable region: nothing is kept, since the first characters would be the street and number.
  return addressRegionPrefix(value) + tail;
}

export function maskValue(value: string, rule: MaskRule): string {
  switch (rule.kind) {
    case 'keep':
      return maskKeep(value, rule.keepStart, rule.keepEnd, rule.char);
    case 'address':
      return maskAddress(value, rule.char);
    case 'redact':
      return rule.text;
  }
}

const compiled = new WeakMap<MaskRule, (value: string) => string>();

/** The rule as a function; compiled once per rule object (the defaults are shared objects). */
export function compileMask(rule: MaskRule): (value: string) => string {
  let fn = compiled.get(rule);
  if (fn) return fn;
  if (rule.kind === 'keep') {
    const { keepStart, keepEnd, char } = rule;
    fn = (value) => maskKeep(value, keepStart, keepEnd, char);
  } else if (rule.kind === 'address') {
    const { char } = rule;
    fn = (value) => maskAddress(value, char);
  } else {
    const { text } = rule;
    fn = () => text;
  }
  compiled.set(rule, fn);
  return fn;
}
