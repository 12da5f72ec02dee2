/**
 * The console as people use it, in a real headless Chromium against a real gateway and Redis: the bureau
 * signs in with TOTP, a department administrator files an application, the bureau checks it, the
 * provider authorizes fewer items, a signed data call is made with the project's client, and the auditor
 * finds it by the citizen's ID number and downloads its record with the inclusion proof. axe checks
 * every page on the way.
 */
import { readFileSync } from 'node:fs';
import { verifyInclusionBundle } from '../../audit/proof.js';
import { SignedClient } from '../../certs/client.js';
import { sampleKeys } from '../../connectors/simulator/datasets.js';
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
import { buildWorld, enc } from '../helpers/world.js';

test('apply → check → authorize fewer items → signed call → auditor traces it by ID number', async ({
  browser,
  scope,
}) => {
  const gw = await buildTestApp(scope);
  const world = await buildWorld(scope, gw.context);
  const { amr, hrss } = world.systems;
  const origin = await listen(gw.app);
  const [idNumber] = sampleKeys('residents', 1) as [string];

  const bureau = await addPerson(gw, { name: 'zhao.lei', displayName: '赵磊', role: 'bureau' });
  const amrAdmin = await addPerson(gw, {
    name: 'li.na',
    displayName: '李娜',
    role: 'dept-admin',
    dept: amr.deptCode,
  });
  const hrssAdmin = await addPerson(gw, {
    name: 'chen.jie',
    displayName: '陈杰',
    role: 'dept-admin',
    dept: hrss.deptCode,
  });
  const auditor = await addPerson(gw, { name: 'sun.li', displayName: '孙丽', role: 'auditor' });
  expect(bureau.totpSecret && auditor.totpSecret, 'bureau and auditor have a second factor').toBeTruthy();

  // 1. The bureau signs in with its one-time code.
  const b = await openPage(scope, browser);
  await b.page.goto(`${origin}/console/`);
  await checkAccessibility(b.page, 'the sign-in page');
  await signInThroughConsole(b.page, origin, bureau);
  expect(await b.page.getByTestId('who').textContent()).toMatch(/赵磊/);
  await b.page.getByTestId('inbox').waitFor();
  await checkAccessibility(b.page, 'the bureau inbox (empty)');

  // 2. The market regulator's administrator files an application for the conditional resource.
  const a = await openPage(scope, browser);
  await signInThroughConsole(a.page, origin, amrAdmin);
  await a.page.getByTestId('new-application').click();
  await a.page.locator('#app-resource').fill(world.codes.socialInsurance);
  await a.page.locator('#app-system').fill(amr.systemId);
  await a.page.locator('#app-items').fill('idNumber, name, insuranceType, status');
  await a.page.locator('#app-purposes').fill('market-supervision');
  await a.page.locator('#app-reason').fill('核查企业为员工缴纳社会保险情况');
  const validTo = new Date(Date.now() + 60 * 86400_000).toISOString().slice(0, 10);
  await a.page.locator('#app-valid-to').fill(validTo);
  await checkAccessibility(a.page, 'the application form');
  await a.page.getByTestId('file-submit').click();
  const filed = a.page.locator('.el-message--success');
  await filed.waitFor();
  const applicationId = /APP-\d{8}-\d+/.exec((await filed.textContent()) ?? '')?.[0];
  expect(applicationId, `filed ${applicationId}`).toBeTruthy();
  await a.page.getByTestId(`open-${applicationId}`).waitFor();

  // 3. The bureau sees it in its inbox with its deadline, opens it and accepts it.
  await b.page.getByRole('button', { name: '刷新' }).click();
  const row = b.page.getByTestId('inbox').locator('tr', { hasText: applicationId! });
  await row.waitFor();
  expect(await row.textContent()).toMatch(/待审核/);
  expect(await row.textContent(), 'days left are shown').toMatch(/\d+ 天/);
  await b.page.getByTestId(`open-${applicationId}`).click();
  await b.page.getByTestId('timeline').waitFor();
  await checkAccessibility(b.page, 'the application detail');
  await b.page.getByTestId('act-accept').click();
  await b.page.getByTestId('decision-submit').click();
  await b.page.getByTestId('detail-state').filter({ hasText: '待提供部门授权' }).waitFor();

  // 4. The provider authorizes fewer items than applied for.
  const h = await openPage(scope, browser);
  await signInThroughConsole(h.page, origin, hrssAdmin);
  await h.page.getByTestId(`open-${applicationId}`).click();
  await h.page.getByTestId('act-authorize').click();
  await h.page.getByTestId('authorize-items').getByText('status', { exact: true }).click();
  await h.page.getByTestId('decision-reason').fill('参保状态不属于核查所需');
  await h.page.getByTestId('decision-submit').click();
  await h.page.getByTestId('detail-state').filter({ hasText: '已授权' }).waitFor();
  const granted = await gw.context.grants.findActive(amr.deptCode, amr.systemId, world.codes.socialInsurance);
  expect(granted?.items, 'the grant holds the narrowed items').toEqual(['idNumber', 'name', 'insuranceType']);

  // The resource carries a data-use agreement ([XY] 25, 33): the department accepts it before its first call.
  const accepted = await gw.app.inject({
    method: 'POST',
    url: `/v1/catalog/${enc(world.codes.socialInsurance)}/terms/acceptances`,
    headers: gw.auth({ sub: 'li.na', role: 'dept-admin', dept: amr.deptCode }),
    payload: { version: '2026-1' },
  });
  expect(accepted.statusCode, accepted.body).toBe(201);

  // 5. A signed data call by the market regulator's system, with its acting official.
  const client = new SignedClient({
    keyPem: amr.keyPem,
    certPem: amr.certPem,
    caPem: gw.context.platform.caCertPem,
  });
  const call = await client.call({
    method: 'GET',
    url: `${origin}/v1/data/${enc(world.codes.socialInsurance)}?idNumber=${idNumber}`,
    purpose: 'market-supervision',
    userId: 'li.na',
  });
  expect(call.status, call.body.toString()).toBe(200);
  const requestId = call.headers['x-request-id']!;
  const data = (call.json as { data: Record<string, unknown>[] }).data;
  expect(data.length).toBeGreaterThanOrEqual(1);
  expect(Object.keys(data[0]!).sort(), 'exactly the authorized items').toEqual([
    'idNumber',
    'insuranceType',
    'name',
  ]);
  await gw.context.audit.checkpoint();

  // 6. The auditor signs in, finds the call by the citizen's ID number and downloads its record.
  const au = await openPage(scope, browser);
  await signInThroughConsole(au.page, origin, auditor);
  await au.page.getByRole('menuitem', { name: '审计追溯' }).click();
  await au.page.locator('#audit-subject').fill(idNumber);
  await checkAccessibility(au.page, 'the audit search');
  await au.page.getByTestId('audit-search').click();
  const hit = au.page.getByTestId('audit-results').locator('tr', { hasText: requestId });
  await hit.waitFor();
  expect(await hit.textContent()).toMatch(/data\.lookup/);
  const download = au.page.waitForEvent('download');
  await hit.getByTestId('audit-proof').click();
  const file = await (await download).path();
  const bundle = JSON.parse(readFileSync(file, 'utf8'));
  // Checked offline with only the platform CA, as a third party would.
  const verified = await verifyInclusionBundle(bundle, { caPem: gw.context.platform.caCertPem });
  expect(verified.record.requestId, 'the downloaded record is the call, proven in the signed trail').toBe(
    requestId,
  );
  expect(verified.record.actor.userId, 'with the acting official').toBe('li.na');
  await hit.getByTestId('audit-open').click();
  expect(await au.page.getByTestId('chain-position').textContent()).toMatch(/#\d+/);
  await checkAccessibility(au.page, 'the audit record');
  await au.page.keyboard.press('Escape');
  await au.page.getByTestId('audit-verify').click();
  expect(await au.page.getByTestId('chain-status').textContent()).toMatch(/审计链完整/);

  // The ID number never left the page's memory: not in the URL, the history, or the storage.
  expect(au.page.url()).not.toMatch(idNumber);
  const kept = await au.page.evaluate<{ local: string; session: string; cookies: string }>(
    '({ local: JSON.stringify({ ...localStorage }), session: JSON.stringify({ ...sessionStorage }), cookies: document.cookie })',
  );
  expect(JSON.stringify(kept)).not.toMatch(idNumber);
  expect(kept.cookies, 'the session cookie is HttpOnly').toBe('');

  // Every step is attributed to the person who did it.
  const { records: trail } = await au.page.evaluate<{
    records: { action: string; actor: { person?: string } }[];
  }>("fetch('/v1/audit?limit=200', { headers: { accept: 'application/json' } }).then((r) => r.json())");
  const who = (action: string) => trail.find((r) => r.action === action)?.actor.person;
  expect(who('application.submit')).toBe('li.na');
  expect(who('application.accept')).toBe('zhao.lei');
  expect(who('application.authorize')).toBe('chen.jie');
  expect(who('audit.search')).toBe('sun.li');
  expect(who('audit.proof')).toBe('sun.li');
  for (const { errors } of [b, a, h, au]) expect(errors, 'no script errors or CSP violations').toEqual([]);
});
