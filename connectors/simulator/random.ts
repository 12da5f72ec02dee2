/**
 * Deterministic randomness for synthetic rows: row i of a data set is a pure function of (salt, i), the
 * same on every run and machine. Keys encode their row index through an affine permutation, so that a
 * keyed lookup finds the row without holding rows in memory and consecutive rows do not get neighbouring
 * keys.
 */

/** 32-bit mix of a salt and a row index (murmur3 finaliser). */
export function hash32(salt: number, i: number): number {
  let h = (Math.imul(salt, 0x9e3779b1) ^ i) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  // A second round so that neighbouring indexes give unrelated seeds.
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return (h ^ (h >>> 15)) >>> 0;
}

/** mulberry32: small, fast, good enough for synthetic data (not for anything secret). */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed | 0;
  }

  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) | 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.next() / 4294967296) * n);
  }

  /** Integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() / 4294967296 < p;
  }
}

/** (a·b) mod m without losing precision for m < 2^31. */
function mulMod(a: number, b: number, m: number): number {
  const high = ((a * Math.floor(b / 65536)) % m) * 65536;
  return (high + a * (b % 65536)) % m;
}

function modInverse(a: number, m: number): number {
  let [r0, r1] = [m, a % m];
  let [t0, t1] = [0, 1];
  while (r1 !== 0) {
    const q = Math.floor(r0 / r1);
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  if (r0 !== 1) throw new Error('not invertible');
  return ((t0 % m) + m) % m;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** A bijection of [0, size): index → slot and back. */
export class AffinePermutation {
  readonly size: number;
  readonly #a: number;
  readonly #b: number;
  readonly #aInverse: number;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 2 || size >= 2 ** 31)
      throw new RangeError('permutation size out of range');
    let a = Math.floor(size * 0.6180339887);
    while (gcd(a, size) !== 1) a++;
    this.size = size;
    this.#a = a;
    this.#b = Math.floor(size * 0.3772156649);
    this.#aInverse = modInverse(a, size);
  }

  forward(i: number): number {
    return (mulMod(this.#a, i, this.size) + this.#b) % this.size;
  }

  inverse(slot: number): number {
    return mulMod(this.#aInverse, (slot - this.#b + this.size) % this.size, this.size);
  }
}

/** The fixed "now" of all synthetic data: dates are relative to it, never to the wall clock. */
export const SIMULATOR_EPOCH_MS = Date.UTC(2025, 0, 1);
const UPDATE_SPREAD_SECONDS = 90 * 86_400;

/** When row i was last changed: within the 90 days before the epoch, whole seconds, cheap to compute alone. */
export function updatedAtMs(salt: number, i: number): number {
  return SIMULATOR_EPOCH_MS - (hash32(salt ^ 0x5bd1e995, i) % UPDATE_SPREAD_SECONDS) * 1000 - 1000;
}

export const DAY_MS = 86_400_000;

const CACHE_FIRST_DAY = Date.UTC(1900, 0, 1) / DAY_MS;
const CACHE_DAYS = Date.UTC(2100, 0, 1) / DAY_MS - CACHE_FIRST_DAY;
const dayStrings: (string | undefined)[] = new Array(CACHE_DAYS);

/** "YYYY-MM-DD" of a UTC day number (days since 1970-01-01); cached, as formatting dates dominates row cost. */
export function isoDay(day: number): string {
  const slot = day - CACHE_FIRST_DAY;
  if (slot < 0 || slot >= CACHE_DAYS) return new Date(day * DAY_MS).toISOString().slice(0, 10);
  let text = dayStrings[slot];
  if (text === undefined) {
    text = new Date(day * DAY_MS).toISOString().slice(0, 10);
    dayStrings[slot] = text;
  }
  return text;
}
