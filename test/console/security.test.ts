/**
 * The console's defences in a real browser: lockout after wrong passwords, CSRF refused, a department's
 * administrator seeing only its own department's applications, and the idle session expiring.
 */
import t from 'tap';
import { buildTestApp } from '../helpers/app.js';
import {
  addPerson,
  checkAccessibility,
  listen,
  openPage,
  signInThroughConsole,
  useBrowser,
} from '../helpers/browser.js';
import { buildWorld } from '../helpers/world.js';

t.test('console security in the browser', async (t) => {
  let offsetMs = 0;
  const gw = await buildTestApp(t, {
    now: () => new Date(Date.now() + offsetMs),
    env: { GOVSHARE_LOGIN_MAX_FAILURES: '3' },
  });
  const world = await buildWorld(t, gw.context);
  const { amr, hrss, psb } = world.systems;
  const origin = await listen(gw.app);
  const browser = await useBrowser(t);
  const amrAdmin = await addPerson(gw, {
    name: 'li.na',
    displayName: '李娜',
    role: 'dept-admin',
    dept: amr.deptCode,
  });
  const psbAdmin = await addPerson(gw, {
    name: 'wu.gang',
    displayName: '吴刚',
    role: 'dept-admin',
    dept: psb.deptCode,
  });
  const hrssAdmin = await addPerson(gw, {
    name: 'chen.jie',
    displayName: '陈杰',
    role: 'dept-admin',
    dept: hrss.deptCode,
  });

  // An application between the market regulator and the human resources bureau.
  const filed = await gw.app.inject({
    method: 'POST',
    url: '/v1/applications',
    headers: gw.auth({ sub: 'li.na', role: 'dept-admin', dept: amr.deptCode }),
    payload: {
      systemId: amr.systemId,
      resourceCode: world.codes.socialInsurance,
      items: ['idNumber', 'status'],
      purposes: ['market-supervision'],
      reason: '核查参保情况',
      modes: ['api'],
      validTo: new Date(Date.now() + 30 * 86400_000).toISOString(),
    },
  });
  t.equal(filed.statusCode, 201, filed.body);
  const applicationId = filed.json().id as string;

  t.test('wrong passwords lock the account', async (t) => {
    const { page, errors } = await openPage(t, browser);
    await page.goto(`${origin}/console/`);
    /** Signs in with a wrong password and waits for the refusal showing `code` (each answer is new). */
    let answers = 0;
    const attempt = async (password: string, code: string) => {
      answers += 1;
      await page.locator('#signin-name').fill('chen.jie');
      await page.locator('#signin-password').fill(password);
      await page.getByTestId('signin-submit').click();
      const shown = page
        .locator(`[data-testid="signin-error"][data-answer="${answers}"]`)
        .filter({ hasText: code });
      await shown.waitFor();
      const text = (await shown.textContent()) ?? '';
      await page.locator('#signin-name').fill('');
      return text;
    };
    t.match(await attempt('not-the-password-1', 'SIGNIN_FAILED'), /账号、密码或动态口令错误/);
    await attempt('not-the-password-2', 'SIGNIN_FAILED');
    t.match(await attempt('not-the-password-3', 'ACCOUNT_LOCKED'), /已锁定/);
    await page.locator('#signin-name').fill('chen.jie');
    await page.locator('#signin-password').fill(hrssAdmin.password);
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('signin-error').filter({ hasText: 'ACCOUNT_LOCKED' }).waitFor();
    t.equal(await page.getByTestId('who').count(), 0, 'the right password does not open a locked account');
    await checkAccessibility(t, page, 'the sign-in page with an error');
    t.same(errors, []);
  });

  t.test('CSRF: a change without the session token is refused', async (t) => {
    const { page, errors } = await openPage(t, browser);
    await signInThroughConsole(page, origin, amrAdmin);
    const refused = await page.evaluate<{ status: number; code: string }>(
      `fetch('/v1/applications/${applicationId}/withdraw', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then(async (r) => ({ status: r.status, code: (await r.json()).code }))`,
    );
    t.same(refused, { status: 403, code: 'CSRF_TOKEN_INVALID' });
    const still = await gw.app.inject({
      method: 'GET',
      url: `/v1/applications/${applicationId}`,
      headers: gw.auth({ sub: 'x', role: 'bureau' }),
    });
    t.equal(still.json().state, 'checking', 'nothing changed');
    t.same(errors, []);
  });

  t.test("a department's administrator sees only its own department's applications", async (t) => {
    const { page, errors } = await openPage(t, browser);
    await signInThroughConsole(page, origin, psbAdmin);
    await page.getByTestId('inbox').locator('.el-table__empty-text').waitFor();
    t.equal(await page.getByTestId(`open-${applicationId}`).count(), 0, 'not listed');
    const direct = await page.evaluate<{ status: number; code: string }>(
      `fetch('/v1/applications/${applicationId}').then(async (r) => ({ status: r.status, code: (await r.json()).code }))`,
    );
    t.not(direct.status, 200, `not readable either (${direct.code})`);
    await checkAccessibility(t, page, 'an empty inbox');

    // The provider's administrator, locked above, is unlocked by the security administrator.
    const unlocked = await gw.app.inject({
      method: 'POST',
      url: '/v1/users/chen.jie/unlock',
      headers: gw.auth({ sub: 'wang.fang', role: 'security-admin' }),
    });
    t.equal(unlocked.statusCode, 204);
    const own = await openPage(t, browser);
    await signInThroughConsole(own.page, origin, hrssAdmin);
    await own.page.getByTestId(`open-${applicationId}`).waitFor();
    t.pass('the provider department sees it');
    t.same([...errors, ...own.errors], []);
  });

  t.test('an idle session expires and the console asks to sign in again', async (t) => {
    const { page, errors } = await openPage(t, browser);
    await signInThroughConsole(page, origin, amrAdmin);
    await page.getByTestId(`open-${applicationId}`).waitFor();
    offsetMs += 16 * 60_000;
    await page.getByRole('button', { name: '刷新' }).click();
    await page.locator('#signin-name').waitFor();
    t.equal(await page.getByTestId('who').count(), 0, 'back at the sign-in page');
    const after = await page.evaluate<number>(`fetch('/v1/session').then((r) => r.status)`);
    t.equal(after, 401);
    t.same(errors, []);
  });
});
