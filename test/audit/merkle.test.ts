import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import {
  CompactRange,
  consistencyProof,
  emptyTreeHead,
  inclusionProof,
  leafHash,
  leafHashWith,
  treeHead,
  verifyConsistency,
  verifyInclusion,
} from '../../audit/merkle.js';

const hex = (value: string) => Buffer.from(value, 'hex');
const hexes = (values: Buffer[]) => values.map((v) => v.toString('hex'));

// The Certificate Transparency test vectors (transparency-dev/merkle, proof/verify_test.go): eight
// leaves, the tree head of each prefix, and proofs. Their inclusion vectors count leaves from 1.
const LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
];
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const INCLUSION: { leaf: number; size: number; proof: string[] }[] = [
  { leaf: 1, size: 1, proof: [] },
  {
    leaf: 1,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    leaf: 6,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { leaf: 3, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    leaf: 2,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];
const CONSISTENCY: { size1: number; size2: number; proof: string[] }[] = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

const vectorLeaves = LEAVES.map((leaf) => leafHash(hex(leaf)));

/** RFC 9162 §2.1.1 and §2.1.3.1 written out as recursion over the raw leaves: the independent reference. */
const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const split = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1);
function referenceHead(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return sha256(Buffer.from([0]), leaves[0]!);
  const k = split(leaves.length);
  return sha256(Buffer.from([1]), referenceHead(leaves.slice(0, k)), referenceHead(leaves.slice(k)));
}
function referencePath(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  return m < k
    ? [...referencePath(m, leaves.slice(0, k)), referenceHead(leaves.slice(k))]
    : [...referencePath(m - k, leaves.slice(k)), referenceHead(leaves.slice(0, k))];
}
function referenceConsistency(m: number, leaves: Buffer[], whole: boolean): Buffer[] {
  if (m === leaves.length) return whole ? [] : [referenceHead(leaves)];
  const k = split(leaves.length);
  return m <= k
    ? [...referenceConsistency(m, leaves.slice(0, k), whole), referenceHead(leaves.slice(k))]
    : [...referenceConsistency(m - k, leaves.slice(k), false), referenceHead(leaves.slice(0, k))];
}

t.test('tree heads match the Certificate Transparency vectors', async (t) => {
  t.equal(
    emptyTreeHead().toString('hex'),
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  );
  t.equal(treeHead([]).toString('hex'), emptyTreeHead().toString('hex'), 'empty tree');
  for (let n = 1; n <= LEAVES.length; n++) {
    t.equal(treeHead(vectorLeaves.slice(0, n)).toString('hex'), ROOTS[n - 1], `${n} leaves`);
  }
});

t.test('inclusion proofs match the vectors and verify', async (t) => {
  for (const { leaf, size, proof } of INCLUSION) {
    const index = leaf - 1;
    const leaves = vectorLeaves.slice(0, size);
    t.same(hexes(inclusionProof(leaves, index)), proof, `leaf ${index} of ${size}`);
    const claim = {
      leafIndex: index,
      treeSize: size,
      leafHash: vectorLeaves[index]!,
      proof: proof.map(hex),
      root: hex(ROOTS[size - 1]!),
    };
    t.ok(verifyInclusion(claim), `verifies: leaf ${index} of ${size}`);
  }
});

t.test('consistency proofs match the vectors and verify', async (t) => {
  for (const { size1, size2, proof } of CONSISTENCY) {
    t.same(hexes(consistencyProof(vectorLeaves.slice(0, size2), size1)), proof, `${size1} → ${size2}`);
    const claim = {
      oldSize: size1,
      newSize: size2,
      oldRoot: hex(ROOTS[size1 - 1]!),
      newRoot: hex(ROOTS[size2 - 1]!),
      proof: proof.map(hex),
    };
    t.ok(verifyConsistency(claim), `verifies: ${size1} → ${size2}`);
    if (proof.length > 0) {
      t.notOk(
        verifyConsistency({ ...claim, oldRoot: claim.newRoot, newRoot: claim.oldRoot }),
        'swapped roots',
      );
      t.notOk(verifyConsistency({ ...claim, proof: claim.proof.slice(1) }), 'truncated');
    }
  }
});

t.test('every proof in trees of 1 to 40 leaves agrees with the reference and verifies', async (t) => {
  const raw = Array.from({ length: 40 }, (_, i) => Buffer.from(`record ${i}`));
  const hashes = raw.map(leafHash);
  for (let n = 1; n <= raw.length; n++) {
    const leaves = hashes.slice(0, n);
    const root = treeHead(leaves);
    if (!root.equals(referenceHead(raw.slice(0, n)))) t.fail(`head of ${n}`);
    for (let m = 0; m < n; m++) {
      const proof = inclusionProof(leaves, m);
      if (!Buffer.concat(proof).equals(Buffer.concat(referencePath(m, raw.slice(0, n)))))
        t.fail(`path ${m}/${n}`);
      if (!verifyInclusion({ leafIndex: m, treeSize: n, leafHash: leaves[m]!, proof, root })) {
        t.fail(`inclusion ${m}/${n}`);
      }
    }
    for (let m = 1; m <= n; m++) {
      const proof = consistencyProof(leaves, m);
      const expected = m === n ? [] : referenceConsistency(m, raw.slice(0, n), true);
      if (!Buffer.concat(proof).equals(Buffer.concat(expected))) t.fail(`consistency ${m}/${n}`);
      const claim = { oldSize: m, newSize: n, oldRoot: treeHead(hashes.slice(0, m)), newRoot: root, proof };
      if (!verifyConsistency(claim)) t.fail(`consistency verifies ${m}/${n}`);
    }
  }
  t.pass('all agree');
});

t.test('tampered proofs, wrong indexes, sizes, leaves and roots fail', async (t) => {
  const hashes = Array.from({ length: 13 }, (_, i) => leafHash(Buffer.from(`r${i}`)));
  const root = treeHead(hashes);
  const good = { leafIndex: 5, treeSize: 13, leafHash: hashes[5]!, proof: inclusionProof(hashes, 5), root };
  t.ok(verifyInclusion(good));
  const flipped = good.proof.map((p, i) =>
    i === 1 ? Buffer.from(p.map((b, j) => (j === 0 ? b ^ 8 : b))) : p,
  );
  const probes: [string, Partial<typeof good>][] = [
    ['index - 1', { leafIndex: 4 }],
    ['index + 1', { leafIndex: 6 }],
    ['index past the size', { leafIndex: 13 }],
    ['negative index', { leafIndex: -1 }],
    ['fractional index', { leafIndex: 5.5 }],
    ['size * 2', { treeSize: 26 }],
    ['size / 2', { treeSize: 6 }],
    ['size 0', { treeSize: 0 }],
    ['another leaf', { leafHash: hashes[6]! }],
    ['the raw leaf instead of its hash', { leafHash: Buffer.from('r5') }],
    ['the empty root', { root: emptyTreeHead() }],
    ['a flipped bit in a proof hash', { proof: flipped }],
    ['a hash removed', { proof: good.proof.slice(0, -1) }],
    ['a hash added', { proof: [...good.proof, root] }],
    ['a short hash', { proof: [...good.proof.slice(0, -1), Buffer.alloc(31)] }],
  ];
  for (const [what, change] of probes) t.notOk(verifyInclusion({ ...good, ...change }), what);
  t.throws(() => inclusionProof(hashes, 13), RangeError);
  t.throws(() => inclusionProof([], 0), RangeError);
  t.throws(() => consistencyProof(hashes, 14), RangeError);
});

t.test(
  '100,000 leaves: head and a proof in linear time, a few seconds at most on a busy machine',
  async (t) => {
    const hashes = Array.from({ length: 100_000 }, (_, i) => leafHash(Buffer.from(`record ${i}`)));
    let started = performance.now();
    const root = treeHead(hashes);
    const headMs = performance.now() - started;
    started = performance.now();
    const proof = inclusionProof(hashes, 76_543);
    const proofMs = performance.now() - started;
    t.equal(proof.length, 17, 'about log2(n) hashes');
    t.ok(verifyInclusion({ leafIndex: 76_543, treeSize: 100_000, leafHash: hashes[76_543]!, proof, root }));
    t.ok(headMs < 5000 && proofMs < 5000, `head ${Math.round(headMs)} ms, proof ${Math.round(proofMs)} ms`);
  },
);

t.test('CompactRange gives the tree head of every prefix as treeHead does', async (t) => {
  for (const alg of ['sha256', 'sm3'] as const) {
    const range = new CompactRange(alg);
    const leaves: Buffer[] = [];
    t.same(range.head(), treeHead([], alg), `${alg}: empty`);
    for (let n = 1; n <= 70; n++) {
      const leaf = leafHashWith(alg, randomBytes(8 + (n % 5)));
      leaves.push(leaf);
      range.append(leaf);
      if (!range.head().equals(treeHead(leaves, alg))) t.fail(`${alg}: head of ${n} leaves differs`);
    }
    t.equal(range.size, 70);
    t.same(range.head(), treeHead(leaves, alg), `${alg}: 70 leaves`);
  }
});
