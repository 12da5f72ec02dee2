/**
 * The other pages in a real Chromium: catalog, grants (suspend with a reason, confirmed), statistics
 * (ECharts), departments and certificates (issue with the key downloaded once, revoke confirmed), the
 * auditors' actions; the English locale; axe on each. With GOVSHARE_CONSOLE_SCREENSHOTS=DIR the main
 * pages are also saved as PNG there (docs/console/ holds the committed ones).
 */
import { readFileSync } from 'node:fs';
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
import { buildWorld, grantPopulation, signedInject } from '../helpers/world.js';

test('catalog, grants, statistics, departments and certificates, oversight', async ({ browser, scope }) => {
  const gw = await buildTestApp(scope);
  const world = await buildWorld(scope, gw.context);
  const { amr, psb } = world.systems;
  const grant = await grantPopulation(gw, world);
  for (const idNumber of ['11010519491231002X', '440524188001010014']) {
    await signedInject(gw.app, amr, {
      method: 'GET',
      path: `/v1/data/${encodeURIComponent(world.codes.population)}?idNumber=${idNumber}`,
      headers: { 'x-user-id': 'li.na' },
    });
  }
  await gw.app.inject({
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
  const origin = await listen(gw.app);
  const bureau = await addPerson(gw, { name: 'zhao.lei', displayName: '赵磊', role: 'bureau' });
  const security = await addPerson(gw, { name: 'wang.fang', displayName: '王芳', role: 'security-admin' });
  const auditor = await addPerson(gw, { name: 'sun.li', displayName: '孙丽', role: 'auditor' });

  const b = await openPage(scope, browser);
  await b.page.setViewportSize({ width: 1366, height: 820 });
  await b.page.goto(`${origin}/console/`);
  await screenshot(b.page, 'sign-in');
  await signInThroughConsole(b.page, origin, bureau);
  await b.page.getByTestId('inbox').locator('tbody tr').first().waitFor();
  await screenshot(b.page, 'applications');

  await b.page.getByRole('menuitem', { name: '资源目录' }).click();
  await b.page.getByTestId('catalog').getByText('社会保险参保信息').waitFor();
  await checkAccessibility(b.page, 'the catalog');
  await b.page
    .getByTestId('catalog')
    .locator('tr', { hasText: '社会保险参保信息' })
    .getByRole('button')
    .click();
  await b.page.getByText('《中华人民共和国社会保险法》', { exact: false }).waitFor();
  // The resource detail shows its legal basis.
  await screenshot(b.page, 'catalog');
  await b.page.keyboard.press('Escape');

  await b.page.getByRole('menuitem', { name: '授权管理' }).click();
  const grantRow = b.page.getByTestId('grants').locator('tr', { hasText: world.codes.population });
  await grantRow.waitFor();
  await checkAccessibility(b.page, 'the grants');
  await grantRow.getByRole('button', { name: '暂停' }).click();
  const prompt = b.page.locator('.el-message-box');
  await prompt.getByRole('button', { name: '确定' }).click();
  await prompt.getByText('请填写理由').waitFor();
  // A suspension without a reason is not sent.
  await prompt.locator('input').fill('核查期间暂停调用');
  await prompt.getByRole('button', { name: '确定' }).click();
  // The notice period ([XY] 13): the earliest allowed day is offered, then announced now and applied by a
  // delayed job on that day.
  const notice = b.page.locator('.el-message-box', { hasText: '最早生效日' });
  await notice.waitFor();
  // The notice period is explained before anything is scheduled.
  await notice.getByRole('button', { name: '确定' }).click();
  await b.page.getByText('已告知使用部门，按通知期生效于', { exact: false }).waitFor();
  // The suspension is scheduled after the notice period.
  const stored = await gw.context.grants.get(grant.id);
  expect(stored?.status, 'still active until the notice period ends').toBe('active');

  await b.page.getByRole('menuitem', { name: '统计分析' }).click();
  await b.page.getByTestId('chart-calls').locator('canvas').waitFor();
  await b.page.getByTestId('chart-timeliness').locator('canvas').waitFor();
  expect(
    await b.page.getByTestId('chart-calls').getAttribute('aria-label'),
    'the chart carries a description for screen readers',
  ).toMatch(/./);
  await checkAccessibility(b.page, 'the statistics');
  const csv = await b.page.evaluate<string>(
    "fetch(document.querySelector('[data-testid=stats-csv]').getAttribute('href')).then((r) => r.text())",
  );
  expect(csv, 'the CSV export has the calling department').toMatch(new RegExp(amr.deptCode));
  await screenshot(b.page, 'statistics');

  await b.page.getByRole('menuitem', { name: '部门与证书' }).click();
  await b.page.getByTestId('departments').getByText(psb.deptCode).waitFor();
  await checkAccessibility(b.page, 'the departments');

  await b.page.getByRole('menuitem', { name: '交换任务' }).click();
  await b.page.getByRole('textbox', { name: '调用部门' }).fill(amr.deptCode);
  await b.page.getByRole('button', { name: '检索' }).click();
  await b.page.getByTestId('exchange').getByText('暂无数据').waitFor();
  // The bulk jobs page shows its empty state.
  await checkAccessibility(b.page, 'the bulk exchange jobs');

  await b.page.getByRole('menuitem', { name: '审计员操作' }).click();
  await b.page.getByTestId('oversight').waitFor();
  await checkAccessibility(b.page, "the auditors' actions");

  // English.
  await b.page.getByRole('button', { name: 'English' }).click();
  await b.page.getByRole('menuitem', { name: 'Catalog' }).click();
  await b.page.getByRole('columnheader', { name: 'Share type' }).waitFor();
  expect(await b.page.evaluate<string>('document.documentElement.lang')).toBe('en');
  await checkAccessibility(b.page, 'the catalog in English');

  // The security administrator issues a certificate (the key is downloaded once) and revokes one. A
  // certificate of 20 days is warned about; the CRL's status is shown and follows the revocation.
  const shortLived = await gw.app.inject({
    method: 'POST',
    url: '/v1/certificates',
    headers: gw.auth({ sub: 'wang.fang', role: 'security-admin' }),
    payload: { deptCode: psb.deptCode, systemId: psb.systemId, days: 20 },
  });
  expect(shortLived.statusCode, shortLived.body).toBe(201);
  const s = await openPage(scope, browser);
  await s.page.setViewportSize({ width: 1366, height: 820 });
  await signInThroughConsole(s.page, origin, security);
  await s.page.waitForURL(`${origin}/console/#/catalog`);
  // A security officer lands on a page of her role, not the inbox.
  await s.page.getByRole('menuitem', { name: '部门与证书' }).click();
  await s.page.getByTestId('certificates').locator('tbody tr').first().waitFor();
  expect(await s.page.getByTestId('expiry-warning').textContent()).toMatch(/1 张证书将在 30 天内到期/);
  await s.page
    .getByTestId('certificates')
    .locator('tr', { hasText: shortLived.json().serial })
    .getByText('30 天内到期')
    .waitFor();
  expect(await s.page.getByTestId('crl-revoked').textContent(), 'nothing revoked yet').toBe('0');
  await s.page.getByTestId('issue-cert').click();
  await s.page.locator('#cert-dept').fill(psb.deptCode);
  await s.page.locator('#cert-system').fill(psb.systemId);
  const downloads: string[] = [];
  s.page.on('download', async (d) => downloads.push(readFileSync(await d.path(), 'utf8')));
  await s.page.getByRole('dialog').getByRole('button', { name: '提交' }).click();
  await s.page.locator('.el-message--success').waitFor();
  await expect.poll(() => downloads.length, 'the key and the certificate are downloaded').toBe(2);
  expect(downloads.join('\n'), 'the private key is offered for download').toMatch(/BEGIN PRIVATE KEY/);
  expect(downloads.join('\n')).toMatch(/BEGIN CERTIFICATE/);
  await checkAccessibility(s.page, 'the certificates');
  await screenshot(s.page, 'certificates');
  const serial = amr.serial;
  await s.page
    .getByTestId('certificates')
    .locator('tr', { hasText: serial })
    .getByRole('button', { name: '吊销' })
    .click();
  await s.page.getByRole('dialog').getByRole('button', { name: '吊销' }).click();
  await s.page.locator('.el-message-box').getByRole('button', { name: '确定' }).click();
  await s.page.getByTestId('certificates').locator('tr', { hasText: serial }).getByText('revoked').waitFor();
  const revoked = await gw.context.certs.getCertificate(serial);
  expect(revoked?.status).toBe('revoked');
  // The CRL is regenerated on the revocation; the page shows the one relying parties now fetch.
  await s.page.getByTestId('crl-revoked').filter({ hasText: '1' }).waitFor();

  const au = await openPage(scope, browser);
  await au.page.setViewportSize({ width: 1366, height: 820 });
  await signInThroughConsole(au.page, origin, auditor);
  await au.page.getByRole('menuitem', { name: '审计追溯' }).click();
  await au.page.locator('#audit-subject').fill('11010519491231002X');
  await au.page.getByTestId('audit-search').click();
  await au.page.getByTestId('audit-results').locator('tbody tr').first().waitFor();
  await screenshot(au.page, 'audit');

  for (const { errors } of [b, s, au]) expect(errors, 'no script errors or CSP violations').toEqual([]);
});
