import t from 'tap';
import { certsErrorDocs, certsErrors } from '../../certs/errors.js';

t.test('every error code is documented, and every documented code exists', async (t) => {
  const codes = Object.values(certsErrors).map((E) => new E('x').code);
  t.same([...codes].sort(), Object.keys(certsErrorDocs).sort());
  t.equal(new Set(codes).size, codes.length, 'codes are unique');
  for (const code of codes) t.match(code, /^[A-Z][A-Z0-9_]+$/, code);
});

t.test('errors carry their status and the message given', async (t) => {
  for (const E of Object.values(certsErrors)) {
    const err = new E('what to fix');
    t.equal(err.message, 'what to fix');
    t.ok([404, 409, 422, 500].includes(err.statusCode ?? 0), `${err.code} → ${err.statusCode}`);
  }
  t.equal(new certsErrors.UsccInvalid('x').statusCode, 422);
  t.equal(new certsErrors.CertAlreadyRevoked('x').statusCode, 409);
  t.equal(new certsErrors.CertNotFound('x').statusCode, 404);
});
