/**
 * Retrying a failed bulk job in a real Chromium: the job really failed (the provider answered 500
 * through the real runner, as on a worker's last attempt); its department's administrator retries it
 * after a confirmation, the new job is queued naming the failed one, and the failed one cannot be
 * retried twice.
 */
import { failExportJob, runExportJob } from '../../exchange/runner.js';
import { ExchangeStore } from '../../exchange/store.js';
import { createExchange } from '../../gateway/app/exchange.js';
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
import { buildWorld, grantPopulation, signedInject } from '../helpers/world.js';

test('a failed bulk job is retried from the console', async ({ browser, scope }) => {
  const gw = await buildTestApp(scope);
  const world = await buildWorld(scope, gw.context);
  const { amr } = world.systems;
  await grantPopulation(gw, world, { modes: ['api', 'bulk'] });
  const exchange = createExchange(gw.context);
  scope.teardown(() => exchange.queue.close());
  const submitted = await signedInject(gw.app, amr, {
    method: 'POST',
    path: '/v1/exchange/jobs',
    body: { resource: world.codes.population, kind: 'full', format: 'jsonl' },
  });
  expect(submitted.statusCode, submitted.body).toBe(202);
  const failed = submitted.json().id as string;
  world.simulator.setFault({ kind: 'status', status: 500 });
  const error = await runExportJob(exchange.deps, failed, { token: 'run-1' }).catch((e) => e);
  await failExportJob(exchange.deps, failed, 'run-1', error, true);
  world.simulator.setFault(undefined);
  const store = new ExchangeStore(gw.context.redis, gw.context.prefix);
  expect((await store.get(failed))?.state).toBe('failed');

  const origin = await listen(gw.app);
  const admin = await addPerson(gw, {
    name: 'li.na',
    displayName: '李娜',
    role: 'dept-admin',
    dept: amr.deptCode,
  });
  const { page, errors } = await openPage(scope, browser);
  await page.setViewportSize({ width: 1366, height: 820 });
  await signInThroughConsole(page, origin, admin);
  await page.getByRole('menuitem', { name: '交换任务' }).click();
  await page.getByTestId(`retry-${failed}`).waitFor();
  await checkAccessibility(page, 'the bulk jobs with a failed one');
  await page.getByTestId(`retry-${failed}`).click();
  await page.locator('.el-message-box').getByRole('button', { name: '确定' }).click();
  const done = page.locator('.el-message--success');
  await done.waitFor();
  const retryId = /x[0-9a-f]{32}/.exec((await done.textContent()) ?? '')?.[0];
  expect(retryId, 'the new job is named').toBeTruthy();
  await page.getByTestId(`job-state-${retryId}`).filter({ hasText: 'queued' }).waitFor();
  await page
    .getByTestId('exchange')
    .locator('tr', { hasText: `已重试为 ${retryId}` })
    .waitFor();
  expect(await page.getByTestId(`retry-${failed}`).count(), 'not offered twice').toBe(0);
  const retried = await store.get(retryId!);
  expect(retried?.retryOf).toBe(failed);
  expect(retried?.state).toBe('queued');
  expect(errors, 'no script errors or CSP violations').toEqual([]);
});
