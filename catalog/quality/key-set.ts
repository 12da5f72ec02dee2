/**
 * An exact, memory-bounded set of keys for the uniqueness rule: each key is reduced to a 64-bit hash kept
 * in an open-addressing table of two Uint32Arrays. Eight bytes a slot at a load of at most one half: 16
 * bytes a key, so the default bound of 4,194,304 keys takes at most 64 MiB (plus 32 MiB for a moment
 * while the table doubles). Two different keys share a hash with probability about n²/2^65 (10 million
 * keys: 3 in a million), the only way a duplicate could be reported wrongly. Past the bound, new keys are
 * no longer remembered (duplicates of remembered keys are still found) and the set reports itself as
 * partial.
 */

export const DEFAULT_MAX_KEYS = 4_194_304;
const INITIAL_CAPACITY = 1 << 16;

/** MurmurHash3 (x86, 32-bit) of the string's UTF-16 code units, two at a time. */
function murmur3(text: string, seed: number): number {
  let h = seed;
  const length = text.length;
  let i = 0;
  for (; i + 1 < length; i += 2) {
    let k = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < length) {
    let k = text.charCodeAt(i);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  return fmix(h ^ (length * 2));
}

/** MurmurHash3's finalization mix, as an unsigned 32-bit number. */
function fmix(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A 64-bit hash of `text` as two 32-bit halves (MurmurHash3 with two seeds); never (0, 0), which marks an
 * empty slot. Not a cryptographic hash: it only spreads keys (the provider's own data) over the table
 * and the sample; a contrived collision could at worst report one duplicate too many.
 */
export function hash64(text: string): [number, number] {
  const hi = murmur3(text, 0x9747b28c);
  const lo = murmur3(text, 0x5bd1e995);
  return hi === 0 && lo === 0 ? [0, 1] : [hi, lo];
}

export class KeyHashSet {
  readonly maxKeys: number;
  #hi: Uint32Array;
  #lo: Uint32Array;
  #mask: number;
  #size = 0;
  #full = false;

  constructor(maxKeys = DEFAULT_MAX_KEYS) {
    this.maxKeys = maxKeys;
    this.#hi = new Uint32Array(INITIAL_CAPACITY);
    this.#lo = new Uint32Array(INITIAL_CAPACITY);
    this.#mask = INITIAL_CAPACITY - 1;
  }

  get size(): number {
    return this.#size;
  }

  /** True when keys were left out because the bound was reached. */
  get partial(): boolean {
    return this.#full;
  }

  /**
   * Adds the key's `hash64`, both halves computed in one pass over the text and no pair made per key;
   * false when it was already there (a duplicate).
   */
  addText(text: string): boolean {
    let h1 = 0x9747b28c;
    let h2 = 0x5bd1e995;
    const length = text.length;
    let i = 0;
    for (; i + 1 < length; i += 2) {
      let k = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
      k = Math.imul(k, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, 0x1b873593);
      h1 ^= k;
      h1 = (h1 << 13) | (h1 >>> 19);
      h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
      h2 ^= k;
      h2 = (h2 << 13) | (h2 >>> 19);
      h2 = (Math.imul(h2, 5) + 0xe6546b64) | 0;
    }
    if (i < length) {
      let k = text.charCodeAt(i);
      k = Math.imul(k, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, 0x1b873593);
      h1 ^= k;
      h2 ^= k;
    }
    const hi = fmix(h1 ^ (length * 2));
    const lo = fmix(h2 ^ (length * 2));
    return hi === 0 && lo === 0 ? this.add(0, 1) : this.add(hi, lo);
  }

  /** Adds the key's hash; returns false when it was already there (a duplicate). */
  add(hi: number, lo: number): boolean {
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.#mask;
    while (this.#hi[i] !== 0 || this.#lo[i] !== 0) {
      if (this.#hi[i] === hi && this.#lo[i] === lo) return false;
      i = (i + 1) & this.#mask;
    }
    if (this.#size >= this.maxKeys) {
      this.#full = true;
      return true;
    }
    this.#hi[i] = hi;
    this.#lo[i] = lo;
    this.#size++;
    if (this.#size * 2 > this.#hi.length) this.#grow();
    return true;
  }

  #grow(): void {
    const oldHi = this.#hi;
    const oldLo = this.#lo;
    const capacity = oldHi.length * 2;
    this.#hi = new Uint32Array(capacity);
    this.#lo = new Uint32Array(capacity);
    this.#mask = capacity - 1;
    for (let j = 0; j < oldHi.length; j++) {
      const hi = oldHi[j]!;
      const lo = oldLo[j]!;
      if (hi === 0 && lo === 0) continue;
      let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.#mask;
      while (this.#hi[i] !== 0 || this.#lo[i] !== 0) i = (i + 1) & this.#mask;
      this.#hi[i] = hi;
      this.#lo[i] = lo;
    }
  }
}
