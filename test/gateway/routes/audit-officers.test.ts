import t from 'tap';
import { buildTestApp } from '../../helpers/app.js';

const auditor = { sub: 'sun.li', role: 'auditor' } as const;
const bureau = { sub: 'zhao.lei', role: 'bureau' } as const;
const security = { sub: 'wang.fang', role: 'security-admin' } as const;
const ID_NUMBER = '11010519491231002X';

t.test('audit search by body; the auditors are audited where the other officers read it', async (t) => {
  const { app, auth } = await buildTestApp(t);

  const search = await app.inject({
    method: 'POST',
    url: '/v1/audit/search',
    headers: auth(auditor),
    payload: { subject: ID_NUMBER, limit: 10 },
  });
  t.equal(search.statusCode, 200, search.body);
  t.same(search.json().records, [], 'nobody looked this person up');
  const badQuery = await app.inject({
    method: 'POST',
    url: '/v1/audit/search',
    headers: auth(auditor),
    payload: { subject: ID_NUMBER, extra: 1 },
  });
  t.equal(badQuery.json().code, 'VALIDATION_FAILED');
  const byBureau = await app.inject({
    method: 'POST',
    url: '/v1/audit/search',
    headers: auth(bureau),
    payload: {},
  });
  t.equal(byBureau.json().code, 'ROLE_FORBIDDEN', 'the bureau does not search the trail');

  for (const reader of [bureau, security]) {
    const seen = await app.inject({ method: 'GET', url: '/v1/audit/auditor-actions', headers: auth(reader) });
    t.equal(seen.statusCode, 200, seen.body);
    const records = seen.json().records as {
      action: string;
      actor: { person: string; role: string };
      detail: unknown;
    }[];
    t.ok(records.length >= 1);
    t.ok(
      records.every((r) => r.actor.role === 'auditor'),
      'only the auditors’ actions',
    );
    const searched = records.find((r) => r.action === 'audit.search');
    t.equal(searched?.actor.person, 'sun.li');
    t.same(searched?.detail, { subject: '(given)', limit: 10 }, 'which filters, never the ID number');
    t.notMatch(seen.body, ID_NUMBER);
  }
  const own = await app.inject({
    method: 'GET',
    url: '/v1/audit/auditor-actions?limit=1',
    headers: auth(auditor),
  });
  t.equal(own.json().records.length, 1);
  t.ok(own.json().nextCursor, 'paged');
  const deptAdmin = await app.inject({
    method: 'GET',
    url: '/v1/audit/auditor-actions',
    headers: auth({ sub: 'x', role: 'dept-admin', dept: '11420100010001138Y' }),
  });
  t.equal(deptAdmin.json().code, 'ROLE_FORBIDDEN');
});
