import { randomBytes } from 'node:crypto';
import t from 'tap';
import { subjectHash } from '../../../audit/subject.js';
import { findingOf, valueFingerprint } from '../../../policies/cases/joint-finding.js';

t.test(
  'value fingerprints: keyed, compared as the quality run compares, apart from subject hashes',
  async (t) => {
    const secret = randomBytes(32);
    t.match(valueFingerprint(secret, '张三'), /^[0-9a-f]{64}$/);
    t.equal(valueFingerprint(secret, ' 张三 '), valueFingerprint(secret, '张三'), 'strings are trimmed');
    t.not(valueFingerprint(secret, '张三'), valueFingerprint(secret, '张叁'));
    t.equal(valueFingerprint(secret, 3000), valueFingerprint(secret, 3000));
    t.equal(
      valueFingerprint(secret, 3000),
      valueFingerprint(secret, '3000'),
      'a number and its text agree, as the run finds them',
    );
    t.not(valueFingerprint(secret, 3000), valueFingerprint(secret, 3001));
    t.not(valueFingerprint(secret, '张三'), valueFingerprint(randomBytes(32), '张三'), 'keyed by the secret');
    t.not(valueFingerprint(secret, '张三'), subjectHash(secret, '张三'), 'never equal to a subject hash');
  },
);

t.test('a finding is the resource pair in either order, the item and the record', async (t) => {
  const key = 'a'.repeat(64);
  const finding = findingOf(['301010/1', '101001/1'], 'person.name', key);
  t.match(finding, /^[0-9a-f]{64}$/);
  t.equal(findingOf(['101001/1', '301010/1'], 'person.name', key), finding, 'either order');
  t.not(findingOf(['101001/1', '301010/1'], 'person.address', key), finding, 'another item');
  t.not(findingOf(['101001/1', '301010/1'], 'person.name', 'b'.repeat(64)), finding, 'another record');
  t.not(findingOf(['101001/1', '301011/1'], 'person.name', key), finding, 'another pair');
});
