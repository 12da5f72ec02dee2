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
 *
 * Under the `gm` crypto profile every record names SM3 in its own top-level field `"hashAlg":"sm3"`, and
 * its chain hash is SM3 of the same bytes (`printf '%s%s' "$prev" "$rec" | openssl dgst -sm3`); a record
 * without the field is SHA-256. The algorithm is read from the record itself, never from configuration,
 * so `audit verify` and an offline verifier need nothing but the data (the field is covered by the hash).
 * A chain may move from SHA-256 to SM3 once (a gm trail begun before SM3 chains), never back.
 */
import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

/** The chain (and Merkle tree) hash algorithms: SHA-256 under `intl`, SM3 under `gm`. */
export const CHAIN_HASH_ALGS = ['sha256', 'sm3'] as const;
export type ChainHashAlg = (typeof CHAIN_HASH_ALGS)[number];

/**
 * The hash algorithm a record names: `sm3` when its top-level `hashAlg` is `"sm3"`, `sha256` when it has
 * no `hashAlg`; undefined when the record is not a JSON object or names anything else.
 */
export function recordHashAlg(rec: string): ChainHashAlg | undefined {
  let value: unknown;
  try {
    value = JSON.parse(rec);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const alg = (value as { hashAlg?: unknown }).hashAlg;
  if (alg === undefined) return 'sha256';
  return alg === 'sm3' ? 'sm3' : undefined;
}

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

/**
 * The chain hash of a record after `prev`, with `alg` when the caller knows it (the writer, which put the
 * field there) and otherwise with the algorithm the record names. A record naming no known algorithm has
 * no chain hash: the empty string, which never equals a stored one.
 */
export function chainHash(prev: string, canonicalRecord: string, alg?: ChainHashAlg): string {
  const algorithm = alg ?? recordHashAlg(canonicalRecord);
  if (algorithm === undefined) return '';
  return createHash(algorithm).update(prev).update(canonicalRecord).digest('hex');
}
