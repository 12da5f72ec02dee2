import t from 'tap';
import {
  DENY_STATUS,
  deny,
  denyError,
  denyErrors,
  policiesErrorDocs,
  policiesErrors,
} from '../../policies/errors.js';

t.test('every error code is documented and every documented code exists', async (t) => {
  const codes = new Set(Object.values(policiesErrors).map((E) => new E('x').code));
  for (const code of codes)
    t.ok(policiesErrorDocs[code as keyof typeof policiesErrorDocs], `${code} documented`);
  t.same(Object.keys(policiesErrorDocs).sort(), [...codes].sort());
});

t.test('codes are stable UPPER_SNAKE and statuses are HTTP errors', async (t) => {
  for (const [name, E] of Object.entries(policiesErrors)) {
    const err = new E('what to fix');
    t.match(err.code, /^[A-Z][A-Z0-9_]+$/, name);
    t.ok(err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500, `${name} is a 4xx`);
    t.equal(err.message, 'what to fix');
  }
  t.equal(new policiesErrors.RESOURCE_NOT_GRANTABLE('x').code, 'RESOURCE_NOT_SHARED');
  t.equal(new policiesErrors.RESOURCE_NOT_GRANTABLE('x').statusCode, 422);
});

t.test('a deny becomes the matching error', async (t) => {
  for (const code of Object.keys(denyErrors) as (keyof typeof denyErrors)[]) {
    const d = deny(code, `because ${code}`);
    t.equal(d.status, DENY_STATUS[code]);
    const err = denyError(d);
    t.equal(err.code, code);
    t.equal(err.statusCode, d.status);
    t.equal(err.message, `because ${code}`);
  }
});
