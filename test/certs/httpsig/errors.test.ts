import t from 'tap';
import { httpsigErrorDocs, httpsigErrors } from '../../../certs/httpsig/index.js';

t.test('every error code is documented, and every documented code exists', async (t) => {
  const codes = Object.values(httpsigErrors).map((E) => new E('x').code);
  t.same([...codes].sort(), Object.keys(httpsigErrorDocs).sort());
  t.equal(new Set(codes).size, codes.length, 'codes are unique');
  for (const code of codes) t.match(code, /^(SIG|DIGEST|ACCEPT_SIGNATURE)_[A-Z_]+$/);
});

t.test('statuses: 401 for a refused signature or digest', async (t) => {
  for (const E of Object.values(httpsigErrors)) {
    const error = new E('message for the developer');
    const expected =
      error.code === 'ACCEPT_SIGNATURE_INVALID' ? 400 : error.code === 'SIG_ARGUMENT_INVALID' ? 500 : 401;
    t.equal(error.statusCode, expected, error.code);
    t.equal(error.message, 'message for the developer');
  }
});
