/**
 * Offline (medium) exchange in a real Chromium ([HB-S] 16): the provider department's administrator
 * objects to a request, the bureau may approve only by answering the objection, then orders the one
 * package; a refusal needs a reason.
 */
import { OfflineStore } from '../../exchange/offline-store.js';
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
import { buildWorld, grantPopulation } from '../helpers/world.js';

test('an offline request is objected to, approved with an answer, and its package ordered', async ({
  browser,
  scope,
}) => {
  const gw = await buildTestApp(scope);
  const world = await buildWorld(scope, gw.context);
  const { amr, psb } = world.systems;
  await grantPopulation(gw, world, { modes: ['api', 'bulk'] });
  const ask = async () => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/exchange/offline',
      headers: gw.auth({ sub: 'li.na', role: 'dept-admin', dept: amr.deptCode }),
      payload: {
        resource: world.codes.population,
        systemId: amr.systemId,
        purpose: 'market-supervision',
        format: 'jsonl',
        reason: { kind: 'network-isolation', text: '登记注册系统部署在隔离网络' },
        medium: 'optical-disc',
        contact: { name: '李娜', phone: '027-85551234' },
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  };
  const first = await ask();
  const second = await ask();
  const store = new OfflineStore(gw.context.redis, gw.context.prefix);
  const origin = await listen(gw.app);

  // The provider objects.
  const provider = await addPerson(gw, {
    name: 'wu.gang',
    displayName: '吴刚',
    role: 'dept-admin',
    dept: psb.deptCode,
  });
  const p = await openPage(scope, browser);
  await p.page.setViewportSize({ width: 1366, height: 820 });
  await signInThroughConsole(p.page, origin, provider);
  await p.page.getByRole('menuitem', { name: '介质交换' }).click();
  await p.page.getByTestId(`object-${first}`).click();
  const objection = p.page.locator('.el-message-box');
  await objection.locator('input').fill('数据量不大，建议在线交换');
  await objection.getByRole('button', { name: '确定' }).click();
  await p.page.locator('tr', { hasText: '数据量不大，建议在线交换' }).first().waitFor();
  expect((await store.get(first))?.objection?.reason).toBe('数据量不大，建议在线交换');
  expect(p.errors, 'no script errors or CSP violations').toEqual([]);

  // The bureau answers the objection to approve, then orders the package; refuses the other with a reason.
  const bureau = await addPerson(gw, { name: 'zhao.lei', displayName: '赵磊', role: 'bureau' });
  const b = await openPage(scope, browser);
  await b.page.setViewportSize({ width: 1366, height: 820 });
  await signInThroughConsole(b.page, origin, bureau);
  await b.page.getByRole('menuitem', { name: '介质交换' }).click();
  await b.page.getByTestId(`approve-${first}`).waitFor();
  await checkAccessibility(b.page, 'offline requests awaiting approval');
  await b.page.getByTestId(`approve-${first}`).click();
  const approve = b.page.locator('.el-message-box', { hasText: '批准须答复该异议' });
  await approve.getByRole('button', { name: '确定' }).click();
  await approve.getByText('请填写理由').waitFor();
  await approve.locator('input').fill('使用部门业务系统处于隔离网络');
  await approve.getByRole('button', { name: '确定' }).click();
  await b.page.getByTestId(`offline-state-${first}`).filter({ hasText: '已批准' }).waitFor();
  await b.page.getByTestId(`produce-${first}`).click();
  await b.page
    .locator('.el-message-box', { hasText: '制作介质包' })
    .getByRole('button', { name: '确定' })
    .click();
  await b.page.getByTestId(`offline-state-${first}`).filter({ hasText: '制作中' }).waitFor();
  expect((await store.get(first))?.state).toBe('producing');

  await b.page.getByTestId(`refuse-${second}`).click();
  const refuse = b.page.locator('.el-message-box', { hasText: '不予批准须说明理由' });
  await refuse.locator('input').fill('数据量较小，应在线交换');
  await refuse.getByRole('button', { name: '确定' }).click();
  await b.page.getByTestId(`offline-state-${second}`).filter({ hasText: '不予批准' }).waitFor();
  expect((await store.get(second))?.decision).toMatchObject({
    approved: false,
    reason: '数据量较小，应在线交换',
  });
  expect(b.errors, 'no script errors or CSP violations').toEqual([]);
});
