import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generate } from 'otplib';
import t, { type Test } from 'tap';
import { buildTestApp, type TestApp } from '../../helpers/app.js';
import { auditRecordsOf } from '../../helpers/audit.js';
import { CLIENT_ID, CLIENT_SECRET, startIdp, type TestIdp } from '../../helpers/oidc-idp.js';

/** The gateway is driven with inject; this is the address the identity service sends the browser back to. */
const REDIRECT = 'http://127.0.0.1:8080/v1/session/oidc/callback';
const DEPT = '11420100010001138Y';
const security = { sub: 'sec-boot', role: 'security-admin' } as const;

function cookieOf(setCookie: string | string[] | undefined, name: string): string | undefined {
  const line = [setCookie ?? []].flat().find((c) => c.startsWith(`${name}=`) && !c.startsWith(`${name}=;`));
  return line?.split(';')[0];
}

/** An app with OIDC sign-in against `idp`, and its first accounts. */
async function setUp(t: Test, idp: TestIdp) {
  const gw = await buildTestApp(t, {
    env: {
      GOVSHARE_OIDC_ISSUER: idp.issuer,
      GOVSHARE_OIDC_CLIENT_ID: CLIENT_ID,
      GOVSHARE_OIDC_CLIENT_SECRET: CLIENT_SECRET,
      GOVSHARE_OIDC_REDIRECT_URL: REDIRECT,
    },
  });
  const addUser = async (payload: Record<string, unknown>) => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/users',
      headers: gw.auth(security),
      payload,
    });
    t.equal(res.statusCode, 201, res.body);
    return res.json() as { initialPassword: string; totpUri?: string };
  };
  const link = (name: string, subject: string, headers = gw.auth(security)) =>
    gw.app.inject({ method: 'POST', url: `/v1/users/${name}/oidc-link`, headers, payload: { subject } });
  return { gw, addUser, link };
}

/** Starts a sign-in at the gateway: the flow cookie and the identity service's URL. */
async function start(gw: TestApp, query = '') {
  const res = await gw.app.inject({ method: 'GET', url: `/v1/session/oidc/start${query}` });
  if (res.statusCode !== 303) throw new Error(`start answered ${res.statusCode}: ${res.body}`);
  const flow = cookieOf(res.headers['set-cookie'], 'govshare_oidc');
  if (!flow) throw new Error('no flow cookie');
  return {
    flow,
    location: String(res.headers.location),
    setCookie: [res.headers['set-cookie'] ?? []].flat(),
  };
}

function callback(gw: TestApp, back: URL, cookie: string | undefined, headers: Record<string, string> = {}) {
  return gw.app.inject({
    method: 'GET',
    url: `${back.pathname}${back.search}`,
    headers: { ...(cookie ? { cookie } : {}), ...headers },
  });
}

t.test('OIDC sign-in against a real provider', async (t) => {
  const idp = await startIdp(t, REDIRECT);
  const { gw, addUser, link } = await setUp(t, idp);
  const { app, context } = gw;
  await addUser({ name: 'li.na', displayName: '李娜', role: 'dept-admin', dept: DEPT });
  const bureau = await addUser({ name: 'zhang.wei', displayName: '张伟', role: 'bureau' });
  t.equal((await link('li.na', 'idp-li-na')).statusCode, 200);
  t.equal((await link('zhang.wei', 'idp-zhang-wei')).statusCode, 200);

  const enabled = await app.inject({ method: 'GET', url: '/v1/session/oidc' });
  t.same(enabled.json(), { enabled: true });

  t.test('a linked identity signs in to its account and can read /v1', async (t) => {
    const { flow, location, setCookie } = await start(gw);
    const authUrl = new URL(location);
    t.equal(authUrl.origin, idp.issuer, 'the browser is sent to the identity service');
    t.equal(authUrl.searchParams.get('code_challenge_method'), 'S256');
    t.ok(authUrl.searchParams.get('code_challenge'));
    t.ok(authUrl.searchParams.get('state'));
    t.ok(authUrl.searchParams.get('nonce'));
    t.equal(authUrl.searchParams.get('redirect_uri'), REDIRECT);
    t.match(setCookie.join('\n'), /govshare_oidc=[^;]+;.*HttpOnly/);
    t.match(setCookie.join('\n'), /SameSite=Lax/);
    t.match(setCookie.join('\n'), /Path=\/v1\/session\/oidc/);

    const back = await idp.signIn(location, 'idp-li-na');
    t.equal(`${back.origin}${back.pathname}`, REDIRECT);
    const done = await callback(gw, back, flow);
    t.equal(done.statusCode, 303, done.body);
    t.equal(done.headers.location, '/console/');
    const session = cookieOf(done.headers['set-cookie'], 'govshare_session');
    t.ok(session, 'a console session cookie, as a password sign-in sets');
    t.match(
      [done.headers['set-cookie']].flat().join('\n'),
      /govshare_session=[^;]+;.*HttpOnly.*SameSite=Strict/,
    );

    const me = await app.inject({ method: 'GET', url: '/v1/session', headers: { cookie: session! } });
    t.equal(me.statusCode, 200, me.body);
    t.same(me.json().person, { name: 'li.na', displayName: '李娜', role: 'dept-admin', dept: DEPT });
    t.ok(me.json().csrfToken);
    const read = await app.inject({ method: 'GET', url: '/v1/applications', headers: { cookie: session! } });
    t.equal(read.statusCode, 200, read.body);

    // The same answer again (a replay, or a reload of the callback): the flow was used up.
    const replayed = await callback(gw, back, flow);
    t.equal(replayed.statusCode, 400);
    t.equal(replayed.json().code, 'OIDC_FLOW_INVALID');
    // The used code under a fresh sign-in of this browser: the identity service will not exchange it twice.
    const fresh = await start(gw);
    const reused = new URL(back);
    reused.searchParams.set('state', new URL(fresh.location).searchParams.get('state')!);
    const refused = await callback(gw, reused, fresh.flow);
    t.equal(refused.statusCode, 401, refused.body);
    t.equal(refused.json().code, 'OIDC_REJECTED');
    t.notOk(cookieOf(refused.headers['set-cookie'], 'govshare_session'));

    const records = await auditRecordsOf(context.redis, context.prefix, context.audit.instance);
    const signins = records.filter((r) => r.action === 'session.signin');
    const ok = signins.find((r) => r.decision === 'allow');
    t.equal(ok?.actor.person, 'li.na', 'the sign-in is attributed to the account');
    t.match(ok?.detail, { name: 'li.na', method: 'oidc', role: 'dept-admin' });
    t.ok(signins.some((r) => r.decision === 'deny' && r.reasonCode === 'OIDC_FLOW_INVALID'));
    t.ok(signins.some((r) => r.decision === 'deny' && r.reasonCode === 'OIDC_REJECTED'));
    const trail = JSON.stringify(records);
    t.notMatch(trail, /eyJ[A-Za-z0-9_-]{10,}\./, 'no token in the trail');
    t.notMatch(trail, back.searchParams.get('code')!, 'no code in the trail');
    t.notMatch(trail, 'idp-li-na', 'the identity only as a keyed hash');
  });

  t.test('an unlinked identity is refused, never given an account', async (t) => {
    const { flow, location } = await start(gw);
    const back = await idp.signIn(location, 'idp-nobody');
    const refused = await callback(gw, back, flow);
    t.equal(refused.statusCode, 403, refused.body);
    t.equal(refused.json().code, 'OIDC_SUBJECT_UNLINKED');
    t.match(refused.headers['content-type'], /application\/problem\+json/);
    t.notOk(cookieOf(refused.headers['set-cookie'], 'govshare_session'));
    const users = await app.inject({ method: 'GET', url: '/v1/users', headers: gw.auth(security) });
    t.same(
      users.json().users.map((u: { name: string }) => u.name),
      ['li.na', 'zhang.wei'],
      'no account was created',
    );
    const records = await auditRecordsOf(context.redis, context.prefix, context.audit.instance);
    const denial = records.find((r) => r.reasonCode === 'OIDC_SUBJECT_UNLINKED');
    t.equal(denial?.decision, 'deny');
    t.match(denial?.detail, { method: 'oidc', identity: /^[0-9a-f]{64}$/ });
    t.notMatch(JSON.stringify(records), 'idp-nobody');

    // A browser is sent back to the console with the code, not shown JSON.
    const second = await start(gw);
    const back2 = await idp.signIn(second.location, 'idp-nobody');
    const inBrowser = await callback(gw, back2, second.flow, { accept: 'text/html,application/xhtml+xml' });
    t.equal(inBrowser.statusCode, 303);
    t.equal(inBrowser.headers.location, '/console/#/?oidc=OIDC_SUBJECT_UNLINKED');
  });

  t.test('a bad state, a missing flow cookie or a wrong nonce are refused', async (t) => {
    const one = await start(gw);
    const back = await idp.signIn(one.location, 'idp-li-na');
    const tampered = new URL(back);
    tampered.searchParams.set('state', 'not-the-state-of-this-sign-in');
    const badState = await callback(gw, tampered, one.flow);
    t.equal(badState.json().code, 'OIDC_REJECTED', badState.body);
    t.match(badState.json().detail, /state/);
    t.notOk(cookieOf(badState.headers['set-cookie'], 'govshare_session'));
    t.equal(
      (await callback(gw, back, one.flow)).json().code,
      'OIDC_FLOW_INVALID',
      'a refused answer uses the flow up too',
    );

    const two = await start(gw);
    const back2 = await idp.signIn(two.location, 'idp-li-na');
    const noCookie = await callback(gw, back2, undefined);
    t.equal(noCookie.statusCode, 400);
    t.equal(noCookie.json().code, 'OIDC_FLOW_INVALID', 'an answer reaching another browser is refused');

    // The authorization request altered on its way (another nonce): the ID token does not match the flow.
    const three = await start(gw);
    const altered = new URL(three.location);
    altered.searchParams.set('nonce', 'a-nonce-this-gateway-never-issued');
    const back3 = await idp.signIn(altered.href, 'idp-li-na');
    const badNonce = await callback(gw, back3, three.flow);
    t.equal(badNonce.statusCode, 401, badNonce.body);
    t.equal(badNonce.json().code, 'OIDC_REJECTED');
    t.match(badNonce.json().detail, /nonce/);
    t.notOk(cookieOf(badNonce.headers['set-cookie'], 'govshare_session'));

    // The person cancels at the identity service: it answers error=access_denied.
    const four = await start(gw);
    const back4 = await idp.signIn(four.location, 'idp-li-na', { abort: true });
    t.equal(back4.searchParams.get('error'), 'access_denied');
    const cancelled = await callback(gw, back4, four.flow);
    t.equal(cancelled.statusCode, 401, cancelled.body);
    t.equal(cancelled.json().code, 'OIDC_REJECTED');
    t.match(cancelled.json().detail, /access_denied/);

    const malformed = await app.inject({
      method: 'GET',
      url: `/v1/session/oidc/callback?code=${'x'.repeat(3000)}&state=s`,
      headers: { cookie: (await start(gw)).flow },
    });
    t.equal(malformed.statusCode, 400);
    t.equal(malformed.json().code, 'VALIDATION_FAILED');
  });

  t.test('a bureau account still needs its one-time code, unless the identity service did MFA', async (t) => {
    const secret = new URL(bureau.totpUri!).searchParams.get('secret')!;
    const { flow, location } = await start(gw);
    const back = await idp.signIn(location, 'idp-zhang-wei');
    const step = await callback(gw, back, flow);
    t.equal(step.statusCode, 303, step.body);
    t.equal(step.headers.location, '/console/#/?oidc=totp', 'the console asks for the code');
    t.notOk(cookieOf(step.headers['set-cookie'], 'govshare_session'), 'no session before the code');
    const pending = cookieOf(step.headers['set-cookie'], 'govshare_oidc_code');
    t.ok(pending);
    t.match(
      [step.headers['set-cookie']].flat().join('\n'),
      /govshare_oidc_code=[^;]+;.*HttpOnly.*SameSite=Strict/,
    );

    const totp = (code: string, cookie = pending!) =>
      app.inject({
        method: 'POST',
        url: '/v1/session/oidc/totp',
        headers: { cookie },
        payload: { totp: code },
      });
    const wrong = await totp('000000');
    t.equal(wrong.statusCode, 401);
    t.equal(wrong.json().code, 'SIGNIN_FAILED');
    t.match(wrong.json().detail, /attempt\(s\) left/, 'a wrong code counts towards the lock');
    const noPending = await totp(await generate({ secret }), `govshare_oidc_code=${'A'.repeat(43)}`);
    t.equal(noPending.json().code, 'OIDC_FLOW_INVALID');

    const ok = await totp(await generate({ secret }));
    t.equal(ok.statusCode, 201, ok.body);
    t.same(ok.json().person, { name: 'zhang.wei', displayName: '张伟', role: 'bureau' });
    const session = cookieOf(ok.headers['set-cookie'], 'govshare_session')!;
    const read = await app.inject({ method: 'GET', url: '/v1/applications', headers: { cookie: session } });
    t.equal(read.statusCode, 200);
    t.equal(
      (await totp(await generate({ secret }))).json().code,
      'OIDC_FLOW_INVALID',
      'the step is used once',
    );

    // The identity service signed the person in with a second factor (amr mfa): no code asked.
    const mfa = await start(gw);
    const backMfa = await idp.signIn(mfa.location, 'idp-zhang-wei', { mfa: true });
    const direct = await callback(gw, backMfa, mfa.flow);
    t.equal(direct.statusCode, 303, direct.body);
    t.equal(direct.headers.location, '/console/');
    t.ok(cookieOf(direct.headers['set-cookie'], 'govshare_session'));
    const records = await auditRecordsOf(context.redis, context.prefix, context.audit.instance);
    t.ok(
      records.some(
        (r) =>
          r.action === 'session.signin' &&
          r.decision === 'allow' &&
          r.actor.person === 'zhang.wei' &&
          JSON.stringify((r.detail as { amr?: string[] }).amr) === '["pwd","otp","mfa"]',
      ),
      'the methods the identity service asserted are in the trail',
    );
  });

  t.test('a locked account stays locked through the identity service', async (t) => {
    for (let i = 0; i < 5; i++) {
      await app.inject({
        method: 'POST',
        url: '/v1/session',
        payload: { name: 'li.na', password: 'wrong-password-123' },
      });
    }
    const { flow, location } = await start(gw);
    const back = await idp.signIn(location, 'idp-li-na');
    const locked = await callback(gw, back, flow);
    t.equal(locked.statusCode, 423, locked.body);
    t.equal(locked.json().code, 'ACCOUNT_LOCKED');
    t.notOk(cookieOf(locked.headers['set-cookie'], 'govshare_session'));
    await app.inject({ method: 'POST', url: '/v1/users/li.na/unlock', headers: gw.auth(security) });
  });

  t.test('linking: the security administrator only, one identity for one account', async (t) => {
    const byBureau = await link('li.na', 'idp-other', gw.auth({ sub: 'boss', role: 'bureau' }));
    t.equal(byBureau.json().code, 'ROLE_FORBIDDEN');
    const taken = await link('li.na', 'idp-zhang-wei');
    t.equal(taken.statusCode, 409);
    t.equal(taken.json().code, 'OIDC_SUBJECT_LINKED');
    const unknown = await link('nobody.here', 'idp-x');
    t.equal(unknown.json().code, 'ACCOUNT_UNKNOWN');
    const bad = await link('li.na', 'has space');
    t.equal(bad.json().code, 'VALIDATION_FAILED');

    // Linking a new identity replaces the old one: the old no longer signs in.
    const relinked = await link('li.na', 'idp-li-na-new');
    t.same(relinked.json(), { name: 'li.na', issuer: `${idp.issuer}/`, replaced: true });
    const { flow, location } = await start(gw);
    const old = await callback(gw, await idp.signIn(location, 'idp-li-na'), flow);
    t.equal(old.json().code, 'OIDC_SUBJECT_UNLINKED');
    const next = await start(gw);
    const fresh = await callback(gw, await idp.signIn(next.location, 'idp-li-na-new'), next.flow);
    t.equal(fresh.headers.location, '/console/');
    const records = await auditRecordsOf(context.redis, context.prefix, context.audit.instance);
    const links = records.filter((r) => r.action === 'user.link-oidc');
    t.equal(links.length, 3);
    t.equal(links.at(-1)?.actor.person, 'sec-boot');
    t.notMatch(JSON.stringify(links), 'idp-li-na-new');
  });
});

t.test('OIDC off: the routes answer a clear problem', async (t) => {
  const { app, auth } = await buildTestApp(t);
  t.same((await app.inject({ method: 'GET', url: '/v1/session/oidc' })).json(), { enabled: false });
  for (const url of ['/v1/session/oidc/start', '/v1/session/oidc/callback?code=a&state=b']) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 404, url);
    t.equal(res.json().code, 'OIDC_DISABLED');
    t.match(res.json().detail, /GOVSHARE_OIDC_ISSUER/);
  }
  const totp = await app.inject({
    method: 'POST',
    url: '/v1/session/oidc/totp',
    payload: { totp: '123456' },
  });
  t.equal(totp.json().code, 'OIDC_DISABLED');
  const link = await app.inject({
    method: 'POST',
    url: '/v1/users/li.na/oidc-link',
    headers: auth(security),
    payload: { subject: 'x' },
  });
  t.equal(link.json().code, 'OIDC_DISABLED');
});

t.test('an unreachable identity service: 502, and the gateway still serves', async (t) => {
  // A loopback port nothing listens on any more.
  const closed = createServer().listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const port = (closed.address() as AddressInfo).port;
  await new Promise((done) => closed.close(done));
  const { app } = await buildTestApp(t, {
    env: {
      GOVSHARE_OIDC_ISSUER: `http://127.0.0.1:${port}`,
      GOVSHARE_OIDC_CLIENT_ID: CLIENT_ID,
      GOVSHARE_OIDC_REDIRECT_URL: REDIRECT,
    },
  });
  const res = await app.inject({ method: 'GET', url: '/v1/session/oidc/start' });
  t.equal(res.statusCode, 502, res.body);
  t.equal(res.json().code, 'OIDC_PROVIDER_UNAVAILABLE');
  t.notOk(res.headers['set-cookie'], 'no flow started');
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
});

t.test(
  'starts are limited per client address: 429 with Retry-After, other addresses unaffected',
  async (t) => {
    const idp = await startIdp(t, REDIRECT);
    const gw = await buildTestApp(t, {
      env: {
        GOVSHARE_OIDC_ISSUER: idp.issuer,
        GOVSHARE_OIDC_CLIENT_ID: CLIENT_ID,
        GOVSHARE_OIDC_CLIENT_SECRET: CLIENT_SECRET,
        GOVSHARE_OIDC_REDIRECT_URL: REDIRECT,
        GOVSHARE_OIDC_STARTS_PER_MINUTE: '3',
      },
    });
    const startFrom = (remoteAddress: string) =>
      gw.app.inject({ method: 'GET', url: '/v1/session/oidc/start', remoteAddress });
    for (let i = 0; i < 3; i++) t.equal((await startFrom('10.0.0.7')).statusCode, 303, `start ${i + 1} of 3`);
    const refused = await startFrom('10.0.0.7');
    t.equal(refused.statusCode, 429, refused.body);
    t.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
    const problem = refused.json();
    t.equal(problem.code, 'OIDC_START_RATE_LIMITED');
    t.ok(
      problem.retryAfterSeconds >= 1 && problem.retryAfterSeconds <= 60,
      `retry after ${problem.retryAfterSeconds} s`,
    );
    t.equal(refused.headers['retry-after'], String(problem.retryAfterSeconds));
    t.notOk(refused.headers['set-cookie'], 'no flow started');
    t.equal((await startFrom('10.0.0.8')).statusCode, 303, 'another address still starts');
  },
);

t.test('behind a trusted proxy the limit counts the forwarded client, never a spoofed hop', async (t) => {
  const idp = await startIdp(t, REDIRECT);
  const gw = await buildTestApp(t, {
    env: {
      GOVSHARE_OIDC_ISSUER: idp.issuer,
      GOVSHARE_OIDC_CLIENT_ID: CLIENT_ID,
      GOVSHARE_OIDC_CLIENT_SECRET: CLIENT_SECRET,
      GOVSHARE_OIDC_REDIRECT_URL: REDIRECT,
      GOVSHARE_OIDC_STARTS_PER_MINUTE: '2',
      GOVSHARE_TRUSTED_PROXIES: '10.1.0.0/16',
    },
  });
  const via = (remoteAddress: string, forwardedFor: string) =>
    gw.app.inject({
      method: 'GET',
      url: '/v1/session/oidc/start',
      remoteAddress,
      headers: { 'x-forwarded-for': forwardedFor },
    });
  // Two clients behind the same trusted proxy: each has its own count.
  for (const client of ['203.0.113.5', '203.0.113.6']) {
    t.equal((await via('10.1.0.9', client)).statusCode, 303);
    t.equal((await via('10.1.0.9', client)).statusCode, 303);
  }
  t.equal((await via('10.1.0.9', '203.0.113.5')).statusCode, 429, 'the first client used its two');
  // A caller that is not a trusted proxy cannot choose its address with the header.
  t.equal((await via('198.51.100.1', '203.0.113.77')).statusCode, 303);
  t.equal((await via('198.51.100.1', '203.0.113.78')).statusCode, 303);
  t.equal((await via('198.51.100.1', '203.0.113.79')).statusCode, 429, 'counted by its own address');
});
