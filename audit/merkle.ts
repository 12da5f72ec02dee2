/**
 * Merkle tree hashing of RFC 9162 §2.1 (the Certificate Transparency tree, SHA-256): the tree head over
 * a list of leaves, inclusion proofs (§2.1.3) and consistency proofs (§2.1.4), with their verification
 * algorithms. Checkpoints sign the tree head over their records, so one record can be shown to be in the
 * signed trail with about log2(n) hashes.
 *
 * Everything here works on leaf hashes (`leafHash(bytes)`), so a tree over 100k records costs one
 * SHA-256 per leaf plus one per inner node: O(n). Proof generation recomputes the sibling subtrees, also
 * O(n). Sizes and indexes are plain numbers (safe integers), which bounds a tree at 2^53 leaves.
 *
 * Under the `gm` crypto profile the same tree is built with SM3 in place of SHA-256 (same prefixes, same
 * 32-byte hashes): every function takes the algorithm, SHA-256 when none is given.
 */
import { createHash } from 'node:crypto';
import type { ChainHashAlg } from './canonical.js';

export const HASH_BYTES = 32;

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** SHA-256(0x00 || leaf). One parameter, so `leaves.map(leafHash)` stays SHA-256. */
export function leafHash(leaf: Uint8Array): Buffer {
  return leafHashWith('sha256', leaf);
}

/** alg(0x00 || leaf): SHA-256 or SM3. */
export function leafHashWith(alg: ChainHashAlg, leaf: Uint8Array): Buffer {
  return createHash(alg).update(LEAF_PREFIX).update(leaf).digest();
}

/** SHA-256(0x01 || left || right) (or SM3). */
export function nodeHash(left: Uint8Array, right: Uint8Array, alg: ChainHashAlg = 'sha256'): Buffer {
  return createHash(alg).update(NODE_PREFIX).update(left).update(right).digest();
}

/** The head of the empty tree: SHA-256 (or SM3) of the empty string. */
export function emptyTreeHead(alg: ChainHashAlg = 'sha256'): Buffer {
  return createHash(alg).digest();
}

/** MTH(D[n]) over the leaf hashes. */
export function treeHead(leafHashes: readonly Uint8Array[], alg: ChainHashAlg = 'sha256'): Buffer {
  if (leafHashes.length === 0) return emptyTreeHead(alg);
  return subtreeHead(leafHashes, 0, leafHashes.length, alg);
}

/**
 * MTH(D[n]) built as leaves arrive, in O(log n) memory: the perfect subtrees of the leaves so far, largest
 * first (a binary counter of subtree sizes). The head over any prefix is the fold of these subtrees from
 * the right, which is exactly RFC 9162's split at the largest power of two below n. The audit writer keeps
 * one over the records since its last checkpoint, so a checkpoint reads nothing back.
 */
export class CompactRange {
  readonly #alg: ChainHashAlg;
  readonly #hashes: Buffer[] = [];
  readonly #sizes: number[] = [];
  #count = 0;

  constructor(alg: ChainHashAlg = 'sha256') {
    this.#alg = alg;
  }

  /** Leaves added so far. */
  get size(): number {
    return this.#count;
  }

  append(leafHash: Buffer): void {
    let hash = leafHash;
    let size = 1;
    while (this.#sizes.length > 0 && this.#sizes[this.#sizes.length - 1] === size) {
      hash = nodeHash(this.#hashes.pop()!, hash, this.#alg);
      size += this.#sizes.pop()!;
    }
    this.#hashes.push(hash);
    this.#sizes.push(size);
    this.#count++;
  }

  /** MTH over the leaves added so far. */
  head(): Buffer {
    if (this.#hashes.length === 0) return emptyTreeHead(this.#alg);
    let head = this.#hashes[this.#hashes.length - 1]!;
    for (let i = this.#hashes.length - 2; i >= 0; i--) head = nodeHash(this.#hashes[i]!, head, this.#alg);
    return head;
  }
}

/** PATH(m, D[n]): the inclusion proof of leaf `index` in the tree of all `leafHashes`. */
export function inclusionProof(
  leafHashes: readonly Uint8Array[],
  index: number,
  alg: ChainHashAlg = 'sha256',
): Buffer[] {
  const size = leafHashes.length;
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new RangeError(`leaf index ${index} is not in a tree of ${size} leaves`);
  }
  const proof: Buffer[] = [];
  // Walk down from the root, collecting the sibling of each subtree the leaf is in; reversed at the end
  // because the proof lists them from the leaf up.
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (index < lo + k) {
      proof.push(subtreeHead(leafHashes, lo + k, hi, alg));
      hi = lo + k;
    } else {
      proof.push(subtreeHead(leafHashes, lo, lo + k, alg));
      lo += k;
    }
  }
  return proof.reverse();
}

/**
 * PROOF(m, D[n]): the consistency proof that the tree of the first `oldSize` leaves is a prefix of the
 * tree of all `leafHashes`. Empty when oldSize is 0 or the whole tree.
 */
export function consistencyProof(
  leafHashes: readonly Uint8Array[],
  oldSize: number,
  alg: ChainHashAlg = 'sha256',
): Buffer[] {
  const size = leafHashes.length;
  if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > size) {
    throw new RangeError(`old size ${oldSize} is not within a tree of ${size} leaves`);
  }
  if (oldSize === 0 || oldSize === size) return [];
  const proof: Buffer[] = [];
  let lo = 0;
  let hi = size;
  let m = oldSize;
  let whole = true; // SUBPROOF's b: whether the subtree at hand is the whole old tree
  while (m !== hi - lo) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (m <= k) {
      proof.push(subtreeHead(leafHashes, lo + k, hi, alg));
      hi = lo + k;
    } else {
      proof.push(subtreeHead(leafHashes, lo, lo + k, alg));
      lo += k;
      m -= k;
      whole = false;
    }
  }
  if (!whole) proof.push(subtreeHead(leafHashes, lo, hi, alg));
  return proof.reverse();
}

export interface InclusionClaim {
  leafIndex: number;
  treeSize: number;
  leafHash: Uint8Array;
  proof: readonly Uint8Array[];
  root: Uint8Array;
  /** @defaultValue 'sha256' */
  alg?: ChainHashAlg;
}

/** RFC 9162 §2.1.3.2: whether the proof leads from the leaf hash to the root. Never throws. */
export function verifyInclusion(claim: InclusionClaim): boolean {
  const { leafIndex, treeSize, leafHash: leaf, proof, root, alg = 'sha256' } = claim;
  if (!Number.isSafeInteger(treeSize) || !Number.isSafeInteger(leafIndex)) return false;
  if (leafIndex < 0 || leafIndex >= treeSize) return false;
  if (!isHash(leaf) || !isHash(root) || !proof.every(isHash)) return false;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r, alg);
      while (fn % 2 === 0 && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p, alg);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && Buffer.from(r).equals(root);
}

export interface ConsistencyClaim {
  oldSize: number;
  newSize: number;
  oldRoot: Uint8Array;
  newRoot: Uint8Array;
  proof: readonly Uint8Array[];
  /** @defaultValue 'sha256' */
  alg?: ChainHashAlg;
}

/** RFC 9162 §2.1.4.2: whether the old tree is a prefix of the new one. Never throws. */
export function verifyConsistency(claim: ConsistencyClaim): boolean {
  const { oldSize, newSize, oldRoot, newRoot, proof, alg = 'sha256' } = claim;
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize)) return false;
  if (oldSize < 0 || oldSize > newSize) return false;
  if (!isHash(oldRoot) || !isHash(newRoot) || !proof.every(isHash)) return false;
  if (oldSize === newSize) return proof.length === 0 && Buffer.from(oldRoot).equals(newRoot);
  if (oldSize === 0) return proof.length === 0; // the empty tree is a prefix of every tree
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : [...proof];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr, alg);
      sr = nodeHash(c, sr, alg);
      while (fn % 2 === 0 && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c, alg);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && Buffer.from(fr).equals(oldRoot) && Buffer.from(sr).equals(newRoot);
}

function subtreeHead(leafHashes: readonly Uint8Array[], lo: number, hi: number, alg: ChainHashAlg): Buffer {
  if (hi - lo === 1) return Buffer.from(leafHashes[lo]!);
  const k = largestPowerOfTwoBelow(hi - lo);
  return nodeHash(subtreeHead(leafHashes, lo, lo + k, alg), subtreeHead(leafHashes, lo + k, hi, alg), alg);
}

/** The largest power of two strictly less than n (n > 1). */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && largestPowerOfTwoBelow(n + 1) === n;
}

/** Right shift by one for numbers past 32 bits, where `>>` would wrap. */
function half(n: number): number {
  return Math.floor(n / 2);
}

function isHash(value: Uint8Array): boolean {
  return value instanceof Uint8Array && value.length === HASH_BYTES;
}
