/**
 * Canonical JSON and the chain hash, written so that an auditor can recompute both with any tool.
 *
 * Canonical JSON (what the `rec` field of a stream entry holds, byte for byte):
 * - objects: keys sorted by UTF-16 code units (plain `Array#sort`), properties whose value is
 *   `undefined` left out, no whitespace;
 * - arrays keep their order; strings and numbers are written as `JSON.stringify` writes them;
 * - only null, booleans, finite numbers, strings, arrays and plain objects are allowed.
 * For audit records (ASCII keys, integer or finite numbers) this is exactly RFC 8785 (JCS), so any JCS
 * library reproduces it.
 *
 * Chain hash of a record: `hash = lowercase hex SHA-256 of the UTF-8 bytes of (prev + rec)`, where `prev`
 * is the previous record's hash as 64 lowercase hex characters (64 zeros for the first record) and `rec`
 * is the canonical JSON. With a shell: `printf '%s%s' "$prev" "$rec" | sha256sum`.
 */
import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON has no form for ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`canonical JSON takes plain objects only, not ${proto?.constructor?.name}`);
      }
      const record = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const key of Object.keys(record).sort()) {
        const item = record[key];
        if (item !== undefined) parts.push(`${JSON.stringify(key)}:${canonicalJson(item)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON has no form for a ${typeof value}`);
  }
}

export function chainHash(prev: string, canonicalRecord: string): string {
  return createHash('sha256').update(prev).update(canonicalRecord).digest('hex');
}
