/**
 * POST /v1/session/password: a person changes their own password; the current one is checked like a
 * sign-in, the new one against the policy, and every other session of the person ends.
 */
import t from 'tap';
import { passwordPolicyViolation } from '../../../gateway/auth/accounts.js';
import { buildTestApp } from '../../helpers/app.js';
import { auditRecordsOf } from '../../helpers/audit.js';

const AMR = '11420100010001138Y';
const security = { sub: 'sec-boot', role: 'security-admin' } as const;

function sessionOf(res: { headers: Record<string, unknown>; json(): { csrfToken: string } }) {
  const line = [res.headers['set-cookie'] as string | string[]]
    .flat()
    .find((c) => c?.startsWith('govshare_session='));
  if (!line) throw new Error('no session cookie set');
  return { cookie: line.split(';')[0]!, csrf: res.json().csrfToken };
}

t.test('the password policy', async (t) => {
  t.match(passwordPolicyViolation('li.na', 'old-password-123', 'short'), /at least 12/);
  t.match(passwordPolicyViolation('li.na', 'old-password-123', 'old-password-123'), /differ/);
  t.match(passwordPolicyViolation('li.na', 'old-password-123', 'my-LI.NA-password-2026'), /account name/);
  t.equal(passwordPolicyViolation('li.na', 'old-password-123', '长江大桥-春天-2026-x'), undefined);
  t.match(
    passwordPolicyViolation('li.na', 'x', '一二三四五六七八九十一'),
    /at least 12/,
    'counted in characters',
  );
});

t.test('changing one’s password ends the other sessions, keeps this one, and is audited', async (t) => {
  const { app, context, auth } = await buildTestApp(t, { env: { GOVSHARE_LOGIN_MAX_FAILURES: '3' } });
  const created = await app.inject({
    method: 'POST',
    url: '/v1/users',
    headers: auth(security),
    payload: { name: 'li.na', displayName: '李娜', role: 'dept-admin', dept: AMR },
  });
  t.equal(created.statusCode, 201, created.body);
  const { initialPassword } = created.json();
  const signIn = (password: string) =>
    app.inject({ method: 'POST', url: '/v1/session', payload: { name: 'li.na', password } });
  const here = sessionOf(await signIn(initialPassword));
  const elsewhere = sessionOf(await signIn(initialPassword));
  const change = (payload: Record<string, unknown>, session = here) =>
    app.inject({
      method: 'POST',
      url: '/v1/session/password',
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrf },
      payload,
    });
  const alive = async (session: { cookie: string }) =>
    (await app.inject({ method: 'GET', url: '/v1/session', headers: { cookie: session.cookie } })).statusCode;

  const noCsrf = await app.inject({
    method: 'POST',
    url: '/v1/session/password',
    headers: { cookie: here.cookie },
    payload: { currentPassword: initialPassword, newPassword: 'a-new-password-for-2026' },
  });
  t.equal(noCsrf.json().code, 'CSRF_TOKEN_INVALID', 'a change without the CSRF token is refused');

  const wrong = await change({ currentPassword: 'not-the-password', newPassword: 'a-new-password-for-2026' });
  t.equal(wrong.statusCode, 401);
  t.equal(wrong.json().code, 'SIGNIN_FAILED', 'a wrong current password is refused like a sign-in');
  const weak = await change({ currentPassword: initialPassword, newPassword: 'short' });
  t.equal(weak.statusCode, 422);
  t.equal(weak.json().code, 'PASSWORD_POLICY');
  t.equal(await alive(elsewhere), 200, 'nothing ended by a refused change');

  const done = await change({ currentPassword: initialPassword, newPassword: 'a-new-password-for-2026' });
  t.equal(done.statusCode, 200, done.body);
  t.same(done.json(), { otherSessionsEnded: 1 });
  t.equal(await alive(elsewhere), 401, 'the session elsewhere has ended');
  t.equal(await alive(here), 200, 'the session that made the change goes on');
  t.equal((await signIn(initialPassword)).json().code, 'SIGNIN_FAILED', 'the old password no longer opens');
  t.equal((await signIn('a-new-password-for-2026')).statusCode, 201, 'the new one does');

  // Wrong current passwords count towards the lock (guessing through this route is no way around it).
  await change({ currentPassword: 'guess-1', newPassword: 'another-password-2026' });
  await change({ currentPassword: 'guess-2', newPassword: 'another-password-2026' });
  const locked = await change({ currentPassword: 'guess-3', newPassword: 'another-password-2026' });
  t.equal(locked.json().code, 'ACCOUNT_LOCKED');
  const stillLocked = await change({
    currentPassword: 'a-new-password-for-2026',
    newPassword: 'another-password-2026',
  });
  t.equal(
    stillLocked.json().code,
    'ACCOUNT_LOCKED',
    'a locked account changes nothing, even with the right password',
  );

  const records = await auditRecordsOf(context.redis, context.prefix, context.audit.instance);
  const changed = records.filter((r) => r.action === 'account.password');
  t.equal(changed.length, 1, 'the change is audited once');
  t.equal(changed[0]?.actor.person, 'li.na');
  t.notMatch(JSON.stringify(records), /a-new-password-for-2026|not-the-password/, 'no password in the trail');
});
