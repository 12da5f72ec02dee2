import t from 'tap';
import { hash64, KeyHashSet } from '../../../catalog/quality/key-set.js';

t.test('addText adds the key’s hash64: the same answers as add(hash64(key))', async (t) => {
  const byText = new KeyHashSet();
  const byHash = new KeyHashSet();
  const keys = ['', 'a', 'ab', 'abc', '𝒳', 'x𝒳', '11010519491231002X', '["420102",7]'];
  for (let i = 0; i < 100_000; i++) keys.push(String(i * 7919) + (i % 3 === 0 ? '' : 'X'.repeat(i % 5)));
  for (const key of [...keys, ...keys.slice(0, 1000)]) {
    const [hi, lo] = hash64(key);
    const added = byText.addText(key);
    if (added !== byHash.add(hi, lo)) t.fail(`key ${JSON.stringify(key)}`);
    if (byText.addText(key)) t.fail(`${JSON.stringify(key)} added twice`);
  }
  t.equal(byText.size, byHash.size);
  t.equal(byText.size, new Set(keys).size, 'one entry a distinct key');
});

t.test('addText keeps the bound: past it new keys are not remembered, duplicates still found', async (t) => {
  const set = new KeyHashSet(1000);
  for (let i = 0; i < 1500; i++) set.addText(`k${i}`);
  t.equal(set.size, 1000);
  t.equal(set.partial, true);
  t.equal(set.addText('k5'), false, 'a remembered key is a duplicate');
  t.equal(set.addText('k1400'), true, 'a key past the bound is not remembered');
});
