import t from 'tap';
import { checkContentDigest, contentDigest } from '../../../certs/httpsig/index.js';

const BODY = '{"hello": "world"}';
// RFC 9530 §2 (sha-256) and RFC 9421 Appendix B.2 (sha-512) give these digests of that body.
const SHA256 = 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:';
const SHA512 =
  'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:';

t.test('contentDigest', async (t) => {
  t.equal(contentDigest(BODY), SHA256);
  t.equal(contentDigest(Buffer.from(BODY), 'sha-512'), SHA512);
});

t.test('checkContentDigest accepts matching digests', async (t) => {
  t.same(checkContentDigest(SHA256, Buffer.from(BODY)), ['sha-256']);
  t.same(checkContentDigest(`${SHA256}, ${SHA512}`, BODY), ['sha-256', 'sha-512']);
  t.same(
    checkContentDigest([SHA512, 'md5=:AAAA:'], BODY),
    ['sha-512'],
    'field lines; unsupported members ignored',
  );
  t.same(checkContentDigest(contentDigest(''), Buffer.alloc(0)), ['sha-256'], 'empty content');
});

t.test('checkContentDigest failures', async (t) => {
  const cases: [string, string | string[] | undefined, string, string, RegExp][] = [
    ['other body', SHA256, '{"hello": "World"}', 'DIGEST_MISMATCH', /does not match the body/],
    [
      'one of two members wrong',
      `${SHA256}, sha-512=:AAAA:`,
      BODY,
      'DIGEST_MISMATCH',
      /sha-512 does not match/,
    ],
    ['no header', undefined, BODY, 'DIGEST_MISSING', /no Content-Digest header/],
    ['empty field lines', [], BODY, 'DIGEST_MISSING', /no Content-Digest header/],
    ['not a dictionary', 'sha-256=:abc', BODY, 'DIGEST_MALFORMED', /not a structured dictionary/],
    [
      'base64 without colons',
      'sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=',
      BODY,
      'DIGEST_MALFORMED',
      /structured/,
    ],
    ['a string instead of bytes', 'sha-256="X48E9q"', BODY, 'DIGEST_MALFORMED', /must be a byte sequence/],
    [
      'only deprecated algorithms',
      'md5=:XrY7u+Ae7tCTyyK7j1rNww==:, sha=:AAAA:',
      BODY,
      'DIGEST_UNSUPPORTED',
      /sent: md5, sha/,
    ],
  ];
  for (const [name, header, body, code, message] of cases) {
    t.throws(() => checkContentDigest(header, body), { code, statusCode: 401, message }, name);
  }
});
