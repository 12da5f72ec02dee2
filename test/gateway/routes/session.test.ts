import { generate } from 'otplib';
import t from 'tap';
import { buildTestApp } from '../../helpers/app.js';
import { auditRecordsOf } from '../../helpers/audit.js';

const AMR = '11420100010001138Y';
const security = { sub: 'sec-boot', role: 'security-admin' } as const;

/** A clock the test moves: TOTP steps and session idle time follow it. */
function clock(start = Date.parse('2026-03-02T02:00:00Z')) {
  let ms = start;
  return {
    now: () => new Date(ms),
    advance: (seconds: number) => (ms += seconds * 1000),
    epoch: () => Math.floor(ms / 1000),
  };
}

function sessionCookie(setCookie: string | string[] | undefined): string {
  const line = [setCookie ?? []].flat().find((c) => c.startsWith('govshare_session='));
  if (!line) throw new Error('no session cookie set');
  return line.split(';')[0]!;
}

t.test('console accounts: TOTP sign-in, session cookie, CSRF, idle timeout, sign-out, audit', async (t) => {
  const time = clock();
  const { app, context, auth } = await buildTestApp(t, { now: time.now });

  const created = await app.inject({
    method: 'POST',
    url: '/v1/users',
    headers: auth(security),
    payload: { name: 'zhang.wei', displayName: '张伟', role: 'bureau' },
  });
  t.equal(created.statusCode, 201, created.body);
  const { user, initialPassword, totpUri } = created.json();
  t.same(user.roles, ['bureau']);
  t.equal(user.totp, true, 'the bureau role gets a second factor');
  t.ok(initialPassword.length >= 16);
  const secret = new URL(totpUri).searchParams.get('secret')!;
  t.match(totpUri, /^otpauth:\/\/totp\//);

  const stored = await context.redis.get(`${context.prefix}{accounts}:acct:zhang.wei`);
  t.match(stored, /"totpSealed":"v1\./, 'the TOTP secret is sealed at rest');
  t.notMatch(stored, secret, 'never in clear in Redis');
  t.notMatch(stored, initialPassword);
  t.match(stored, /\$argon2id\$/);

  const listed = await app.inject({ method: 'GET', url: '/v1/users', headers: auth(security) });
  t.equal(listed.statusCode, 200);
  t.notMatch(listed.body, /argon2|passwordHash|totpSecret/, 'no hash or secret is ever shown');
  t.notMatch(listed.body, secret);

  const signIn = (payload: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: '/v1/session', payload });

  const noCode = await signIn({ name: 'zhang.wei', password: initialPassword });
  t.equal(noCode.statusCode, 401);
  t.equal(noCode.json().code, 'TOTP_REQUIRED');
  t.notOk(noCode.headers['set-cookie'], 'no session without the second factor');

  const wrongCode = await signIn({ name: 'zhang.wei', password: initialPassword, totp: '000000' });
  t.equal(wrongCode.json().code, 'SIGNIN_FAILED');

  const code = await generate({ secret, epoch: time.epoch() });
  const ok = await signIn({ name: 'zhang.wei', password: initialPassword, totp: code });
  t.equal(ok.statusCode, 201, ok.body);
  const setCookie = [ok.headers['set-cookie'] ?? []].flat().join('\n');
  t.match(setCookie, /HttpOnly/);
  t.match(setCookie, /SameSite=Strict/);
  t.notMatch(setCookie, /Secure/, 'not Secure over plain HTTP');
  t.match(setCookie, /Path=\//);
  const cookie = sessionCookie(ok.headers['set-cookie']);
  const { csrfToken, person, idleSeconds } = ok.json();
  t.same(person, { name: 'zhang.wei', displayName: '张伟', role: 'bureau' });
  t.equal(idleSeconds, 900, 'idle timeout defaults to 15 minutes');

  const replayed = await signIn({ name: 'zhang.wei', password: initialPassword, totp: code });
  t.equal(replayed.json().code, 'SIGNIN_FAILED', 'a one-time code is accepted once');

  const me = await app.inject({ method: 'GET', url: '/v1/session', headers: { cookie } });
  t.equal(me.statusCode, 200);
  t.equal(me.json().csrfToken, csrfToken);

  // The cookie authorizes like a token of the same role, and not beyond it.
  const asBureau = await app.inject({ method: 'GET', url: '/v1/applications', headers: { cookie } });
  t.equal(asBureau.statusCode, 200, asBureau.body);
  const notAuditor = await app.inject({ method: 'GET', url: '/v1/audit', headers: { cookie } });
  t.equal(notAuditor.json().code, 'ROLE_FORBIDDEN');

  // CSRF: a change with the cookie alone, or with a wrong token, is refused; nothing changes.
  const noCsrf = await app.inject({ method: 'DELETE', url: '/v1/session', headers: { cookie } });
  t.equal(noCsrf.statusCode, 403);
  t.equal(noCsrf.json().code, 'CSRF_TOKEN_INVALID');
  const wrongCsrf = await app.inject({
    method: 'DELETE',
    url: '/v1/session',
    // Another last character (a token ending in A would otherwise be sent unchanged).
    headers: { cookie, 'x-csrf-token': `${csrfToken.slice(0, -1)}${csrfToken.endsWith('A') ? 'B' : 'A'}` },
  });
  t.equal(wrongCsrf.json().code, 'CSRF_TOKEN_INVALID');
  t.equal((await app.inject({ method: 'GET', url: '/v1/session', headers: { cookie } })).statusCode, 200);

  // Idle timeout: activity keeps the session; 15 minutes without a request end it.
  time.advance(10 * 60);
  t.equal((await app.inject({ method: 'GET', url: '/v1/session', headers: { cookie } })).statusCode, 200);
  time.advance(10 * 60);
  t.equal(
    (await app.inject({ method: 'GET', url: '/v1/session', headers: { cookie } })).statusCode,
    200,
    '20 minutes after sign-in but only 10 idle',
  );
  time.advance(15 * 60 + 1);
  const expired = await app.inject({ method: 'GET', url: '/v1/session', headers: { cookie } });
  t.equal(expired.statusCode, 401);
  t.equal(expired.json().code, 'SESSION_INVALID');

  // Sign in again (a later time step), then sign out with the CSRF token.
  time.advance(30);
  const again = await signIn({
    name: 'zhang.wei',
    password: initialPassword,
    totp: await generate({ secret, epoch: time.epoch() }),
  });
  t.equal(again.statusCode, 201, again.body);
  const cookie2 = sessionCookie(again.headers['set-cookie']);
  const out = await app.inject({
    method: 'DELETE',
    url: '/v1/session',
    headers: { cookie: cookie2, 'x-csrf-token': again.json().csrfToken },
  });
  t.equal(out.statusCode, 204);
  t.match([out.headers['set-cookie'] ?? []].flat().join('\n'), /govshare_session=;/);
  const after = await app.inject({ method: 'GET', url: '/v1/session', headers: { cookie: cookie2 } });
  t.equal(after.json().code, 'SESSION_INVALID', 'the session ends at sign-out');

  // Every sign-in, failed or not, and the sign-out are audited with the person.
  const records = await auditRecordsOf(context.redis, context.prefix, context.audit.instance);
  const signins = records.filter((r) => r.action === 'session.signin');
  t.same(
    signins.map((r) => [r.decision, r.reasonCode ?? null, r.actor.person]),
    [
      ['deny', 'TOTP_REQUIRED', 'zhang.wei'],
      ['deny', 'SIGNIN_FAILED', 'zhang.wei'],
      ['allow', null, 'zhang.wei'],
      ['deny', 'SIGNIN_FAILED', 'zhang.wei'],
      ['allow', null, 'zhang.wei'],
    ],
  );
  t.notMatch(JSON.stringify(records), initialPassword, 'no password in the trail');
  const signout = records.find((r) => r.action === 'session.signout');
  t.equal(signout?.actor.person, 'zhang.wei');
  t.equal(signout?.actor.role, 'bureau');
  const refusedCsrf = records.filter((r) => r.reasonCode === 'CSRF_TOKEN_INVALID');
  t.equal(refusedCsrf.length, 2, 'refused changes are audited');
  t.equal(refusedCsrf[0]?.actor.person, 'zhang.wei');
});

t.test('lockout after repeated failures, unlock by the security administrator', async (t) => {
  const time = clock();
  const { app, auth } = await buildTestApp(t, {
    now: time.now,
    env: { GOVSHARE_LOGIN_MAX_FAILURES: '3', GOVSHARE_LOGIN_LOCK_MINUTES: '10' },
  });
  const created = await app.inject({
    method: 'POST',
    url: '/v1/users',
    headers: auth(security),
    payload: { name: 'li.na', displayName: '李娜', role: 'dept-admin', dept: AMR },
  });
  t.equal(created.statusCode, 201, created.body);
  const { initialPassword, user } = created.json();
  t.equal(user.totp, false, 'a dept-admin needs no second factor unless asked');
  const signIn = (password: string, name = 'li.na') =>
    app.inject({ method: 'POST', url: '/v1/session', payload: { name, password } });

  t.equal((await signIn('wrong-password-1')).json().code, 'SIGNIN_FAILED');
  t.equal((await signIn('wrong-password-2')).json().code, 'SIGNIN_FAILED');
  const third = await signIn('wrong-password-3');
  t.equal(third.statusCode, 423);
  t.equal(third.json().code, 'ACCOUNT_LOCKED');
  // Redis counts the lock in real seconds: a loaded machine may have spent one before the answer.
  t.ok(
    Number(third.headers['retry-after']) >= 595 && Number(third.headers['retry-after']) <= 600,
    'locked for 10 minutes',
  );
  const right = await signIn(initialPassword);
  t.equal(right.json().code, 'ACCOUNT_LOCKED', 'even the right password is refused while locked');
  t.notOk(right.headers['set-cookie']);

  const listed = (await app.inject({ method: 'GET', url: '/v1/users', headers: auth(security) })).json();
  t.ok(listed.users.find((u: { name: string }) => u.name === 'li.na').lockedForSeconds > 0);

  const unlock = await app.inject({ method: 'POST', url: '/v1/users/li.na/unlock', headers: auth(security) });
  t.equal(unlock.statusCode, 204);
  const signedIn = await signIn(initialPassword);
  t.equal(signedIn.statusCode, 201, signedIn.body);
  t.same(signedIn.json().person, { name: 'li.na', displayName: '李娜', role: 'dept-admin', dept: AMR });

  // An unknown name answers exactly like a wrong password (no account enumeration), and locks too.
  const unknown = await signIn('whatever-password', 'nobody.here');
  t.equal(unknown.json().code, 'SIGNIN_FAILED');
  t.match(unknown.json().detail, /^wrong account name or password; 2 attempt\(s\) left/);
  const unknownUnlock = await app.inject({
    method: 'POST',
    url: '/v1/users/nobody.here/unlock',
    headers: auth(security),
  });
  t.equal(unknownUnlock.json().code, 'ACCOUNT_UNKNOWN');

  // The session authenticates the dept-admin (the body is then checked).
  const cookie = sessionCookie(signedIn.headers['set-cookie']);
  const other = await app.inject({
    method: 'POST',
    url: '/v1/applications',
    headers: { cookie, 'x-csrf-token': signedIn.json().csrfToken },
    payload: {},
  });
  t.equal(other.json().code, 'VALIDATION_FAILED');
});

t.test('三员分立: one person cannot hold two officer duties; actions attributed to the person', async (t) => {
  const time = clock();
  const { app, context, auth } = await buildTestApp(t, { now: time.now });
  const add = (payload: Record<string, unknown>, headers = auth(security)) =>
    app.inject({ method: 'POST', url: '/v1/users', headers, payload });

  const wang = await add({ name: 'wang.fang', displayName: '王芳', role: 'security-admin' });
  t.equal(wang.statusCode, 201);
  t.equal((await add({ name: 'zhao.lei', displayName: '赵磊', role: 'bureau' })).statusCode, 201);
  t.equal((await add({ name: 'sun.li', displayName: '孙丽', role: 'auditor' })).statusCode, 201);

  for (const [name, role] of [
    ['zhao.lei', 'auditor'],
    ['zhao.lei', 'security-admin'],
    ['sun.li', 'bureau'],
    ['wang.fang', 'auditor'],
  ]) {
    const second = await add({ name, displayName: 'x', role });
    t.equal(second.statusCode, 409, `${name} + ${role}`);
    t.equal(second.json().code, 'OFFICER_DUTY_CONFLICT');
  }
  const deptAndOfficer = await add({ name: 'zhao.lei', displayName: 'x', role: 'dept-admin', dept: AMR });
  t.equal(deptAndOfficer.json().code, 'ACCOUNT_INVALID');
  const again = await add({ name: 'zhao.lei', displayName: 'x', role: 'bureau' });
  t.equal(again.json().code, 'ACCOUNT_EXISTS');
  const noDept = await add({ name: 'qian.yu', displayName: 'x', role: 'dept-admin' });
  t.equal(noDept.json().code, 'ACCOUNT_INVALID');
  const bureauWithDept = await add({ name: 'qian.yu', displayName: 'x', role: 'bureau', dept: AMR });
  t.equal(bureauWithDept.json().code, 'ACCOUNT_INVALID');
  const list = (await app.inject({ method: 'GET', url: '/v1/users', headers: auth(security) })).json().users;
  t.same(
    list.map((u: { name: string; roles: string[] }) => [u.name, u.roles]),
    [
      ['sun.li', ['auditor']],
      ['wang.fang', ['security-admin']],
      ['zhao.lei', ['bureau']],
    ],
    'nothing was changed by the refusals',
  );

  // Only the security administrator manages accounts.
  const byBureau = await add(
    { name: 'x.y', displayName: 'x', role: 'auditor' },
    auth({ sub: 'b', role: 'bureau' }),
  );
  t.equal(byBureau.json().code, 'ROLE_FORBIDDEN');

  // The security administrator signs in and creates an account: the trail names her, not the route.
  const secret = new URL(wang.json().totpUri).searchParams.get('secret')!;
  const session = await app.inject({
    method: 'POST',
    url: '/v1/session',
    payload: {
      name: 'wang.fang',
      password: wang.json().initialPassword,
      totp: await generate({ secret, epoch: time.epoch() }),
    },
  });
  t.equal(session.statusCode, 201, session.body);
  const viaConsole = await app.inject({
    method: 'POST',
    url: '/v1/users',
    headers: {
      cookie: sessionCookie(session.headers['set-cookie']),
      'x-csrf-token': session.json().csrfToken,
    },
    payload: { name: 'zhou.min', displayName: '周敏', role: 'dept-admin', dept: AMR },
  });
  t.equal(viaConsole.statusCode, 201, viaConsole.body);
  const records = await auditRecordsOf(context.redis, context.prefix, context.audit.instance);
  const added = records.find((r) => r.action === 'user.add' && r.detail?.name === 'zhou.min');
  t.same(added?.actor, { person: 'wang.fang', role: 'security-admin' });
});

t.test(
  'behind TLS the cookie is Secure; a session ends at its maximum lifetime however active',
  async (t) => {
    const time = clock();
    const { app, auth } = await buildTestApp(t, {
      now: time.now,
      env: { GOVSHARE_PUBLIC_ORIGIN: 'https://gw.example.gov.cn', GOVSHARE_SESSION_MAX_HOURS: '1' },
    });
    const created = await app.inject({
      method: 'POST',
      url: '/v1/users',
      headers: auth(security),
      payload: { name: 'he.ping', displayName: '何平', role: 'dept-admin', dept: AMR },
    });
    const signedIn = await app.inject({
      method: 'POST',
      url: '/v1/session',
      payload: { name: 'he.ping', password: created.json().initialPassword },
    });
    t.equal(signedIn.statusCode, 201);
    t.match([signedIn.headers['set-cookie'] ?? []].flat().join('\n'), /; Secure/);
    const cookie = sessionCookie(signedIn.headers['set-cookie']);
    for (let minutes = 0; minutes < 60; minutes += 10) {
      time.advance(10 * 60);
      const alive = await app.inject({ method: 'GET', url: '/v1/session', headers: { cookie } });
      t.equal(alive.statusCode, minutes + 10 <= 60 ? 200 : 401, `after ${minutes + 10} minutes of activity`);
    }
    time.advance(60);
    const over = await app.inject({ method: 'GET', url: '/v1/session', headers: { cookie } });
    t.equal(over.json().code, 'SESSION_INVALID', 'past the maximum lifetime');

    const forged = await app.inject({
      method: 'GET',
      url: '/v1/applications',
      headers: { cookie: 'govshare_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    });
    t.equal(forged.json().code, 'SESSION_INVALID', 'an unknown session id is refused');
    const malformed = await app.inject({
      method: 'GET',
      url: '/v1/applications',
      headers: { cookie: 'govshare_session=../../etc' },
    });
    t.equal(malformed.json().code, 'SESSION_INVALID');
  },
);
