/**
 * The browser tests' harness for `@playwright/test` (playwright.config.ts): real headless Chromium (the
 * system package, /usr/bin/chromium; never a downloaded browser) against a gateway listening on a
 * loopback port, built with the same helpers as the tap tests (buildTestApp: a real redis-server on a
 * free port). axe-core checks accessibility.
 *
 * Fixtures: `scope`, what a test starts (a gateway, browser contexts) is torn down when it ends; and, per
 * worker process, the end of the process for what the helpers share per file under tap (the redis-server,
 * the platform directory).
 */

import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { type Browser, type BrowserContext, test as base, expect, type Page } from '@playwright/test';
import type { FastifyInstance } from 'fastify';
import { generate } from 'otplib';
import { AccountStore, type NewAccount, totpSealKey } from '../../gateway/auth/accounts.js';
import type { TestApp } from './app.js';
import { type Scope, setProcessScope, Teardowns } from './scope.js';

export const test = base.extend<{ scope: Scope }, { processEnd: undefined }>({
  processEnd: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright reads a fixture's dependencies from it.
    async ({}, use) => {
      const end = new Teardowns();
      setProcessScope(end);
      await use(undefined);
      setProcessScope(undefined);
      await end.run();
    },
    { scope: 'worker', auto: true },
  ],
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads a fixture's dependencies from it.
  scope: async ({}, use) => {
    const scope = new Teardowns();
    await use(scope);
    await scope.run();
  },
});
export { expect };

/** Listens on a free loopback port; the console is then at `${origin}/console/`. */
export async function listen(app: FastifyInstance): Promise<string> {
  return app.listen({ host: '127.0.0.1', port: 0 });
}

export interface Person {
  name: string;
  password: string;
  totpSecret?: string;
}

/** Creates a console account with a known password; returns what the person signs in with. */
export async function addPerson(
  gw: TestApp,
  input: Omit<NewAccount, 'password'> & { password?: string },
): Promise<Person> {
  const password = input.password ?? `pw-${input.name}-0123456789`;
  const store = new AccountStore(gw.context.redis, gw.context.prefix, {
    sealKey: totpSealKey(gw.context.platform.subjectHmacKey),
  });
  const { totpSecret } = await store.add({ ...input, password });
  return { name: input.name, password, ...(totpSecret ? { totpSecret } : {}) };
}

/**
 * A fresh browser context (its own cookie jar) with a page that records script errors and CSP
 * violations in `errors` (tests assert it stays empty); closed when `scope` ends.
 */
export async function openPage(
  scope: Scope,
  browser: Browser,
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ acceptDownloads: true, locale: 'zh-CN' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    // Refused API calls are logged by Chromium as failed resource loads; they are expected answers.
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text()))
      problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  scope.teardown(() => context.close());
  return { context, page, errors: problems };
}

export async function totpNow(person: Person): Promise<string> {
  if (!person.totpSecret) return '';
  return generate({ secret: person.totpSecret, epoch: Math.floor(Date.now() / 1000) });
}

/** Waits for the next 30-second TOTP step, so a second sign-in of one person gets a fresh code. */
export async function nextTotpStep(): Promise<void> {
  const wait = 30_000 - (Date.now() % 30_000) + 50;
  await new Promise((resolve) => setTimeout(resolve, wait));
}

export async function signInThroughConsole(page: Page, origin: string, person: Person): Promise<void> {
  await page.goto(`${origin}/console/`);
  await page.locator('#signin-name').fill(person.name);
  await page.locator('#signin-password').fill(person.password);
  if (person.totpSecret) await page.locator('#signin-totp').fill(await totpNow(person));
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('who').waitFor();
}

/** No serious or critical accessibility violations on what the page shows now. */
export async function checkAccessibility(page: Page, label: string): Promise<void> {
  // A toast of the previous action fading out (ElMessage, ~3 s) is half transparent: axe would judge
  // its contrast mid-animation. Checked once it is gone; at full opacity its colours pass (style.css).
  await page.locator('.el-message').first().waitFor({ state: 'detached', timeout: 10_000 });
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect.soft(bad, `axe: no serious or critical violations on ${label}`).toEqual([]);
}

/**
 * With GOVSHARE_CONSOLE_SCREENSHOTS=DIR, saves what the page shows as DIR/NAME.png (docs/console/ holds
 * the committed ones); otherwise does nothing.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const shots = process.env.GOVSHARE_CONSOLE_SCREENSHOTS;
  if (!shots) return;
  // Settled: no loading mask, no passing toast.
  // (waitForFunction would evaluate a string in the page, which the console's CSP rightly refuses.)
  while ((await page.locator('.el-loading-mask:visible').count()) > 0) await page.waitForTimeout(100);
  await page.evaluate("document.querySelectorAll('.el-message').forEach((e) => e.remove())");
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });
}
