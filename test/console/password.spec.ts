/**
 * A person changes their own password in a real Chromium: a wrong current password and a mistyped
 * repetition are shown in the form, the change signs out the person's other session (its next call
 * lands on the sign-in page) while this one goes on, and only the new password opens the account.
 */
import { buildTestApp } from '../helpers/app.js';
import {
  addPerson,
  checkAccessibility,
  expect,
  listen,
  openPage,
  signInThroughConsole,
  test,
} from '../helpers/browser.js';
import { buildWorld } from '../helpers/world.js';

test('password change: checked, confirmed, and the other sessions end', async ({ browser, scope }) => {
  const gw = await buildTestApp(scope);
  const world = await buildWorld(scope, gw.context);
  const origin = await listen(gw.app);
  const person = await addPerson(gw, {
    name: 'li.na',
    displayName: '李娜',
    role: 'dept-admin',
    dept: world.systems.amr.deptCode,
  });
  const fresh = 'Wuhan-2026-长江-password';

  const here = await openPage(scope, browser);
  const elsewhere = await openPage(scope, browser);
  await signInThroughConsole(here.page, origin, person);
  await signInThroughConsole(elsewhere.page, origin, person);
  await elsewhere.page.getByTestId('inbox').waitFor();

  const dialog = here.page.getByRole('dialog', { name: '修改密码' });
  await here.page.getByTestId('change-password').click();
  await here.page.locator('#pw-current').fill('not-my-password-at-all');
  await here.page.locator('#pw-new').fill(fresh);
  await here.page.locator('#pw-repeat').fill(`${fresh}x`);
  await here.page.getByTestId('password-save').click();
  await dialog.getByText('两次输入的新密码不一致').waitFor();
  await checkAccessibility(here.page, 'the password form with an error');
  await here.page.locator('#pw-repeat').fill(fresh);
  await here.page.getByTestId('password-save').click();
  await dialog.getByText('SIGNIN_FAILED').waitFor();
  await here.page.locator('#pw-current').fill(person.password);
  await here.page.getByTestId('password-save').click();
  await here.page.getByText('您在其他地方的 1 个登录会话已退出').waitFor();

  // The other browser's session has ended: its next call asks it to sign in again.
  await elsewhere.page.getByRole('button', { name: '刷新' }).click();
  await elsewhere.page.locator('#signin-name').waitFor();
  expect(await elsewhere.page.getByTestId('who').count()).toBe(0);
  // This one goes on.
  await here.page.getByRole('button', { name: '刷新' }).click();
  await here.page.getByTestId('inbox').waitFor();
  expect(await here.page.getByTestId('who').count()).toBe(1);

  const old = await gw.app.inject({
    method: 'POST',
    url: '/v1/session',
    payload: { name: 'li.na', password: person.password },
  });
  expect(old.json().code, 'the old password no longer opens the account').toBe('SIGNIN_FAILED');
  await signInThroughConsole(elsewhere.page, origin, { ...person, password: fresh });
  expect(await elsewhere.page.getByTestId('who').textContent()).toMatch(/李娜/);
  for (const { errors } of [here, elsewhere])
    expect(errors, 'no script errors or CSP violations').toEqual([]);
});
