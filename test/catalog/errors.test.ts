import t from 'tap';
import { catalogErrorDocs, catalogErrors } from '../../catalog/errors.js';

t.test('every catalog error has a stable code, a status and a documented meaning', async (t) => {
  const codes = Object.values(catalogErrors).map((E) => new E('x').code);
  t.equal(new Set(codes).size, codes.length, 'codes are unique');
  t.same(codes.slice().sort(), Object.keys(catalogErrorDocs).sort(), 'docs list exactly the codes thrown');
  for (const E of Object.values(catalogErrors)) {
    const error = new E('what to fix');
    t.match(error.code, /^CATALOG_[A-Z_]+$/);
    t.ok([403, 404, 409, 422].includes(error.statusCode ?? 0), `${error.code} has a client status`);
    t.equal(error.message, 'what to fix', `${error.code} carries the message given`);
    t.ok((catalogErrorDocs[error.code] ?? '').length > 20, `${error.code} is explained`);
  }
});
