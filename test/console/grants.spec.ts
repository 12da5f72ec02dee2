/**
 * Grants by resource in a real Chromium: the provider department's administrator sees who uses its
 * resource and how much of each grant's daily quota is used today (counted by real signed calls), and
 * the consumer's administrator reads the reason the provider gave for suspending its grant.
 */
import { buildTestApp } from '../helpers/app.js';
import {
  addPerson,
  checkAccessibility,
  expect,
  listen,
  openPage,
  screenshot,
  signInThroughConsole,
  test,
} from '../helpers/browser.js';
import { buildWorld, enc, grantPopulation, signedInject } from '../helpers/world.js';

test("the provider sees its resource's consumers with today's quota use; the consumer sees the reason", async ({
  browser,
  scope,
}) => {
  const gw = await buildTestApp(scope);
  const world = await buildWorld(scope, gw.context);
  const { amr, hrss, psb } = world.systems;
  const limited = await grantPopulation(gw, world, { quota: { perDay: 40, perMinute: 20 } });
  await grantPopulation(gw, world, { deptCode: hrss.deptCode, systemId: hrss.systemId });
  for (const idNumber of ['11010519491231002X', '440524188001010014']) {
    const call = await signedInject(gw.app, amr, {
      method: 'GET',
      path: `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`,
    });
    expect(call.statusCode, call.body).toBe(200);
  }
  const origin = await listen(gw.app);
  const provider = await addPerson(gw, {
    name: 'wu.gang',
    displayName: '吴刚',
    role: 'dept-admin',
    dept: psb.deptCode,
  });
  const consumer = await addPerson(gw, {
    name: 'li.na',
    displayName: '李娜',
    role: 'dept-admin',
    dept: amr.deptCode,
  });

  const p = await openPage(scope, browser);
  await p.page.setViewportSize({ width: 1366, height: 820 });
  await signInThroughConsole(p.page, origin, provider);
  await p.page.getByRole('menuitem', { name: '授权管理' }).click();
  await p.page.getByRole('radio', { name: '作为提供部门' }).click({ force: true });
  await p.page.getByTestId('grants').locator('tr', { hasText: amr.deptCode }).waitFor();
  await p.page.getByTestId('usage-resource').fill(world.codes.population);
  await p.page.getByTestId('usage-load').click();
  const used = p.page.getByTestId('grant-usage').locator('tr', { hasText: amr.deptCode });
  await used.waitFor();
  expect(await used.getByTestId('usage-today').textContent(), 'two calls of forty today').toMatch(
    /2\s*\/\s*40/,
  );
  const unlimited = p.page.getByTestId('grant-usage').locator('tr', { hasText: hrss.deptCode });
  expect(await unlimited.textContent()).toMatch(/不限额/);
  await checkAccessibility(p.page, 'the grants by resource with quota use');
  await screenshot(p.page, 'grants-usage');

  // The provider suspends at once on an emergency reason (the API path; the notice-period path is in
  // pages.spec.ts); the consumer reads the reason on its own grants page.
  const suspended = await gw.app.inject({
    method: 'POST',
    url: `/v1/grants/${limited.id}/suspend`,
    headers: gw.auth({ sub: 'wu.gang', role: 'dept-admin', dept: psb.deptCode }),
    payload: { reason: '接口升级期间暂停调用', emergency: '数据库迁移，须立即停止' },
  });
  expect(suspended.statusCode, suspended.body).toBe(200);
  const c = await openPage(scope, browser);
  await c.page.setViewportSize({ width: 1366, height: 820 });
  await signInThroughConsole(c.page, origin, consumer);
  await c.page.getByRole('menuitem', { name: '授权管理' }).click();
  const own = c.page.getByTestId('grants').locator('tr', { hasText: world.codes.population });
  await own.getByText('接口升级期间暂停调用').waitFor();
  expect(await own.textContent()).toMatch(/suspended/);
  expect(await c.page.getByTestId('grant-usage').count(), 'a consumer has no view of the provider side').toBe(
    0,
  );

  // A consumer asking for the provider's view is refused by the API, whatever the page shows.
  const refused = await c.page.evaluate<{ status: number; code: string }>(
    `fetch('/v1/grants/usage?resourceCode=${enc(world.codes.population)}').then(async (r) => ({ status: r.status, code: (await r.json()).code }))`,
  );
  expect(refused).toEqual({ status: 403, code: 'DEPARTMENT_FORBIDDEN' });
  for (const { errors } of [p, c]) expect(errors, 'no script errors or CSP violations').toEqual([]);
});
