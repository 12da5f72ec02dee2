/**
 * The catalog's life cycle in a real Chromium: the provider department's data administrator proposes a
 * new version (refused field by field from the API's problem details, then saved) and submits it; the
 * bureau rejects it with a reason (a rejection without one is not sent), the department reads the
 * reason, corrects and resubmits, and the bureau approves it after a confirmation, publishing it; then
 * the department withdraws the resource, told the notice period's earliest day by the API, and the
 * withdrawal is scheduled for that day while the resource stays in force. axe on each new view.
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
import { buildWorld } from '../helpers/world.js';

test('submit, review with a reason, publish, withdraw with advance notice', async ({ browser, scope }) => {
  const gw = await buildTestApp(scope);
  const world = await buildWorld(scope, gw.context);
  const { hrss } = world.systems;
  const code = world.codes.socialInsurance;
  const origin = await listen(gw.app);
  const bureau = await addPerson(gw, { name: 'zhao.lei', displayName: '赵磊', role: 'bureau' });
  const provider = await addPerson(gw, {
    name: 'chen.jie',
    displayName: '陈杰',
    role: 'dept-admin',
    dept: hrss.deptCode,
  });
  const before = await gw.context.catalog.get({ name: 'test', role: 'bureau' }, code);
  const inForce = before.current!.version;

  const h = await openPage(scope, browser);
  await h.page.setViewportSize({ width: 1366, height: 820 });
  await signInThroughConsole(h.page, origin, provider);
  await h.page.getByRole('menuitem', { name: '资源目录' }).click();
  const openEntry = async (page: typeof h.page) => {
    await page.getByTestId('catalog').locator('tr', { hasText: code }).getByRole('button').click();
    await page.getByTestId('entry-lifecycle').waitFor();
  };
  await openEntry(h.page);
  await checkAccessibility(h.page, 'the catalog entry with its actions');

  // A change proposed as a new draft; a blank summary is refused by the API, field by field.
  await h.page.getByTestId('entry-propose').click();
  const editorText = h.page.locator('#entry-json');
  const entry = JSON.parse(await editorText.inputValue()) as Record<string, unknown>;
  expect(entry.code, 'the editor starts from the entry in force').toBe(code);
  await editorText.fill(JSON.stringify({ ...entry, summary: '' }, null, 2));
  await h.page.getByTestId('entry-save').click();
  const refusal = h.page.getByTestId('entry-errors');
  await refusal.waitFor();
  expect(await refusal.textContent()).toMatch(/VALIDATION_FAILED/);
  expect(await refusal.textContent(), 'the refused field is named').toMatch(/summary/);
  await checkAccessibility(h.page, 'the entry editor with a refusal');
  await editorText.fill('{ not json');
  await h.page.getByTestId('entry-save').click();
  await h.page.getByText('JSON 格式有误', { exact: false }).waitFor();
  const revised = { ...entry, summary: `${String(entry.summary)}（含参保险种变更记录）` };
  await editorText.fill(JSON.stringify(revised, null, 2));
  await h.page.getByTestId('entry-save').click();
  await h.page.getByTestId('entry-state').filter({ hasText: '草稿' }).waitFor();
  await h.page.getByTestId('entry-submit').click();
  await h.page.getByTestId('entry-state').filter({ hasText: '待审核' }).waitFor();
  const submitted = await gw.context.catalog.get({ name: 'test', role: 'bureau' }, code);
  expect(submitted.latest?.state).toBe('submitted');
  expect(submitted.latest?.version).toBe(inForce + 1);

  // The bureau rejects it: not without a reason.
  const b = await openPage(scope, browser);
  await b.page.setViewportSize({ width: 1366, height: 820 });
  await signInThroughConsole(b.page, origin, bureau);
  await b.page.getByRole('menuitem', { name: '资源目录' }).click();
  await openEntry(b.page);
  await screenshot(b.page, 'catalog-review');
  await b.page.getByTestId('entry-reject').click();
  const prompt = b.page.locator('.el-message-box');
  await prompt.getByRole('button', { name: '确定' }).click();
  await prompt.getByText('请填写理由').waitFor();
  await prompt.locator('input').fill('变更说明不完整，请补充险种变更记录的更新周期');
  await prompt.getByRole('button', { name: '确定' }).click();
  await b.page.getByTestId('entry-state').filter({ hasText: '已退回' }).waitFor();

  // The department reads the reason, corrects and resubmits.
  await h.page.keyboard.press('Escape');
  await openEntry(h.page);
  expect(await h.page.getByTestId('entry-review-reason').textContent()).toMatch(/险种变更记录的更新周期/);
  await h.page.getByTestId('entry-edit').click();
  await editorText.fill(JSON.stringify({ ...revised, updateCycle: 'daily' }, null, 2));
  await h.page.getByTestId('entry-save').click();
  await h.page.getByTestId('entry-state').filter({ hasText: '草稿' }).waitFor();
  await h.page.getByTestId('entry-submit').click();
  await h.page.getByTestId('entry-state').filter({ hasText: '待审核' }).waitFor();

  // The bureau approves after a confirmation: the version is published.
  await b.page.keyboard.press('Escape');
  await openEntry(b.page);
  await b.page.getByTestId('entry-approve').click();
  const confirm = b.page.locator('.el-message-box', { hasText: '立即发布生效' });
  await confirm.getByRole('button', { name: '取消' }).click();
  expect((await gw.context.catalog.get({ name: 'test', role: 'bureau' }, code)).latest?.state).toBe(
    'submitted',
  );
  await b.page.getByTestId('entry-approve').click();
  await confirm.getByRole('button', { name: '确定' }).click();
  await b.page.getByTestId('entry-state').filter({ hasText: '已发布' }).waitFor();
  const published = await gw.context.catalog.get({ name: 'test', role: 'bureau' }, code);
  expect(published.current?.version, 'the new version is in force').toBe(inForce + 1);
  expect(published.current?.entry.summary).toMatch(/含参保险种变更记录/);

  // The department withdraws the resource: the API names the notice period's earliest day.
  await h.page.keyboard.press('Escape');
  await openEntry(h.page);
  await h.page.getByTestId('entry-withdraw').click();
  await h.page.getByTestId('withdraw-submit').click();
  await h.page.getByText('请填写理由').first().waitFor();
  await h.page.locator('#withdraw-reason').fill('险种数据并入全省社保库，本地资源停止提供');
  await checkAccessibility(h.page, 'the withdrawal form');
  await h.page.getByTestId('withdraw-submit').click();
  await h.page
    .locator('.el-message-box', { hasText: '确定撤回该资源' })
    .getByRole('button', { name: '确定' })
    .click();
  const notice = h.page.getByTestId('withdraw-notice');
  await notice.waitFor();
  const earliest = /\d{4}-\d{2}-\d{2}/.exec((await notice.textContent()) ?? '')?.[0];
  expect(earliest, 'the earliest day is offered').toBeTruthy();
  expect(await h.page.locator('#withdraw-from').inputValue()).toBe(earliest);
  await screenshot(h.page, 'catalog-withdraw');
  const untouched = await gw.context.catalog.get({ name: 'test', role: 'bureau' }, code);
  expect(untouched.resource.status.declared, 'nothing filed before the person agrees').toBe('active');
  await h.page.getByTestId('withdraw-submit').click();
  await h.page
    .locator('.el-message-box', { hasText: '确定撤回该资源' })
    .getByRole('button', { name: '确定' })
    .click();
  await h.page.getByText(`撤回生效于 ${earliest}`).waitFor();
  const withdrawn = await gw.context.catalog.get({ name: 'test', role: 'bureau' }, code);
  expect(withdrawn.resource.status.declared).toBe('withdrawn');
  expect(withdrawn.effectiveStatus, 'in force until the notice period ends').toBe('active');
  await h.page.getByTestId('entry-scheduled').waitFor();

  for (const { errors } of [h, b]) expect(errors, 'no script errors or CSP violations').toEqual([]);
});
