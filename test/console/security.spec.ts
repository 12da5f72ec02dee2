/**
 * The console's defences in a real browser: lockout after wrong passwords, CSRF refused, a department's
 * administrator seeing only its own department's applications, and the idle session expiring.
 */
import { buildTestApp, type TestApp } from '../helpers/app.js';
import {
  addPerson,
  checkAccessibility,
  expect,
  listen,
  openPage,
  type Person,
  signInThroughConsole,
  test,
} from '../helpers/browser.js';
import { Teardowns } from '../helpers/scope.js';
import { buildWorld } from '../helpers/world.js';

// The tests build on one another (the account locked by the first is unlocked in the third).
test.describe.configure({ mode: 'serial' });

const setup = new Teardowns();
let offsetMs = 0;
let gw: TestApp;
let origin: string;
let applicationId: string;
let amrAdmin: Person;
let psbAdmin: Person;
let hrssAdmin: Person;

test.beforeAll(async () => {
  gw = await buildTestApp(setup, {
    now: () => new Date(Date.now() + offsetMs),
    env: { GOVSHARE_LOGIN_MAX_FAILURES: '3' },
  });
  const world = await buildWorld(setup, gw.context);
  const { amr, hrss, psb } = world.systems;
  origin = await listen(gw.app);
  amrAdmin = await addPerson(gw, {
    name: 'li.na',
    displayName: '李娜',
    role: 'dept-admin',
    dept: amr.deptCode,
  });
  psbAdmin = await addPerson(gw, {
    name: 'wu.gang',
    displayName: '吴刚',
    role: 'dept-admin',
    dept: psb.deptCode,
  });
  hrssAdmin = await addPerson(gw, {
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
  expect(filed.statusCode, filed.body).toBe(201);
  applicationId = filed.json().id as string;
});
test.afterAll(() => setup.run());

test('wrong passwords lock the account', async ({ browser, scope }) => {
  const { page, errors } = await openPage(scope, browser);
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
  expect(await attempt('not-the-password-1', 'SIGNIN_FAILED')).toMatch(/账号、密码或动态口令错误/);
  await attempt('not-the-password-2', 'SIGNIN_FAILED');
  expect(await attempt('not-the-password-3', 'ACCOUNT_LOCKED')).toMatch(/已锁定/);
  await page.locator('#signin-name').fill('chen.jie');
  await page.locator('#signin-password').fill(hrssAdmin.password);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('signin-error').filter({ hasText: 'ACCOUNT_LOCKED' }).waitFor();
  expect(await page.getByTestId('who').count(), 'the right password does not open a locked account').toBe(0);
  await checkAccessibility(page, 'the sign-in page with an error');
  expect(errors).toEqual([]);
});

test('CSRF: a change without the session token is refused', async ({ browser, scope }) => {
  const { page, errors } = await openPage(scope, browser);
  await signInThroughConsole(page, origin, amrAdmin);
  const refused = await page.evaluate<{ status: number; code: string }>(
    `fetch('/v1/applications/${applicationId}/withdraw', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then(async (r) => ({ status: r.status, code: (await r.json()).code }))`,
  );
  expect(refused).toEqual({ status: 403, code: 'CSRF_TOKEN_INVALID' });
  const still = await gw.app.inject({
    method: 'GET',
    url: `/v1/applications/${applicationId}`,
    headers: gw.auth({ sub: 'x', role: 'bureau' }),
  });
  expect(still.json().state, 'nothing changed').toBe('checking');
  expect(errors).toEqual([]);
});

test("a department's administrator sees only its own department's applications", async ({
  browser,
  scope,
}) => {
  const { page, errors } = await openPage(scope, browser);
  await signInThroughConsole(page, origin, psbAdmin);
  await page.getByTestId('inbox').locator('.el-table__empty-text').waitFor();
  expect(await page.getByTestId(`open-${applicationId}`).count(), 'not listed').toBe(0);
  const direct = await page.evaluate<{ status: number; code: string }>(
    `fetch('/v1/applications/${applicationId}').then(async (r) => ({ status: r.status, code: (await r.json()).code }))`,
  );
  expect(direct.status, `not readable either (${direct.code})`).not.toBe(200);
  await checkAccessibility(page, 'an empty inbox');

  // The provider's administrator, locked above, is unlocked by the security administrator.
  const unlocked = await gw.app.inject({
    method: 'POST',
    url: '/v1/users/chen.jie/unlock',
    headers: gw.auth({ sub: 'wang.fang', role: 'security-admin' }),
  });
  expect(unlocked.statusCode).toBe(204);
  const own = await openPage(scope, browser);
  await signInThroughConsole(own.page, origin, hrssAdmin);
  await own.page.getByTestId(`open-${applicationId}`).waitFor();
  // The provider department sees it.
  expect([...errors, ...own.errors]).toEqual([]);
});

test('an idle session expires and the console asks to sign in again', async ({ browser, scope }) => {
  const { page, errors } = await openPage(scope, browser);
  await signInThroughConsole(page, origin, amrAdmin);
  await page.getByTestId(`open-${applicationId}`).waitFor();
  offsetMs += 16 * 60_000;
  await page.getByRole('button', { name: '刷新' }).click();
  await page.locator('#signin-name').waitFor();
  expect(await page.getByTestId('who').count(), 'back at the sign-in page').toBe(0);
  const after = await page.evaluate<number>(`fetch('/v1/session').then((r) => r.status)`);
  expect(after).toBe(401);
  expect(errors).toEqual([]);
});
