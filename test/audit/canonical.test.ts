import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import t from 'tap';
import { canonicalJson, chainHash, GENESIS_HASH } from '../../audit/canonical.js';
import { auditErrorDocs, auditErrors } from '../../audit/errors.js';
import { normalizeSubject, subjectHash } from '../../audit/subject.js';
import { makeRecord, SUBJECT_SECRET } from './fixtures.js';

t.test('canonical JSON sorts keys at every depth and drops undefined', async (t) => {
  const cases: [unknown, string][] = [
    [{ b: 1, a: 'x', c: undefined }, '{"a":"x","b":1}'],
    [{ z: { y: [3, { b: true, a: null }], x: 'é中' } }, '{"z":{"x":"é中","y":[3,{"a":null,"b":true}]}}'],
    [[undefined, 1.5, -0, 1e21], '[null,1.5,0,1e+21]'],
    [{ 'a"b': '\n\u0001' }, '{"a\\"b":"\\n\\u0001"}'],
    [{ B: 1, a: 2, _: 3 }, '{"B":1,"_":3,"a":2}'],
  ];
  for (const [value, expected] of cases) t.equal(canonicalJson(value), expected, expected);
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, { at: new Date(0) }, { f: () => 1 }, 1n]) {
    t.throws(() => canonicalJson(bad), TypeError);
  }
});

t.test('the chain hash is sha256(prev + rec), as any tool computes it', async (t) => {
  const rec = canonicalJson(makeRecord('gw-1', { purpose: '低保资格核查' }));
  const hash = chainHash(GENESIS_HASH, rec);
  t.equal(
    hash,
    createHash('sha256')
      .update(GENESIS_HASH + rec, 'utf8')
      .digest('hex'),
  );
  const sha256sum = execFileSync('sha256sum', { input: Buffer.from(GENESIS_HASH + rec, 'utf8') }).toString();
  t.equal(sha256sum.slice(0, 64), hash, 'sha256sum agrees');
  t.equal(GENESIS_HASH, '0'.repeat(64));
});

t.test('subject hashes: normalized, keyed, never the clear value', async (t) => {
  const cases: [string, string][] = [
    ['11010519491231002x', '11010519491231002X'],
    ['  11010519491231002X\t', '11010519491231002X'],
    ['１１０１０５１９４９１２３１００２ｘ', '11010519491231002X'],
    ['91350100M000100Y43', '91350100M000100Y43'],
    ['passport e1234567', 'passport e1234567'],
  ];
  for (const [input, normalized] of cases) t.equal(normalizeSubject(input), normalized, input);
  const hash = subjectHash(SUBJECT_SECRET, '11010519491231002x');
  t.match(hash, /^[0-9a-f]{64}$/);
  t.equal(hash, subjectHash(SUBJECT_SECRET, ' 11010519491231002X'));
  t.not(hash, subjectHash(Buffer.alloc(32, 7), '11010519491231002X'), 'another secret, another hash');
  t.not(hash, createHash('sha256').update('11010519491231002X').digest('hex'), 'not an unkeyed hash');
  t.throws(() => subjectHash(Buffer.alloc(8), 'x'), { code: 'AUDIT_SETUP_INVALID' });
});

t.test('every audit error code is documented, stable and has its status', async (t) => {
  t.same(Object.keys(auditErrorDocs).sort(), Object.keys(auditErrors).sort());
  for (const [code, Ctor] of Object.entries(auditErrors)) {
    const err = new Ctor('message for the caller');
    t.equal(err.code, code);
    t.match(code, /^AUDIT_[A-Z_]+$/);
    t.ok([400, 404, 409, 422, 500, 502, 503].includes(err.statusCode!), `${code} maps to ${err.statusCode}`);
    t.equal(err.message, 'message for the caller');
    t.ok(auditErrorDocs[code as keyof typeof auditErrors].length > 20);
  }
});
