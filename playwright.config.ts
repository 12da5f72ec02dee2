/**
 * The console's browser tests (issue 16): `@playwright/test` driving the system Chromium (installed by
 * scripts/ensure-deps.sh --chromium; never `npx playwright install`) against real gateways on real Redis,
 * which the tests start on free loopback ports through test/helpers (see test/helpers/browser.ts).
 * The specs are compiled by the project's tsc like every other test and run from dist/:
 *
 *   npx tsc -p . && npx vite build --config console/vite.config.ts && npx playwright test
 */
import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './test/helpers/chromium.js';

export default defineConfig({
  testDir: 'dist/test/console',
  testMatch: '**/*.spec.js',
  // Two cores on the CI runners; each worker starts its own redis-server and gateways.
  workers: 2,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  timeout: 180_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  outputDir: 'dist/playwright-results',
  use: {
    browserName: 'chromium',
    headless: true,
    locale: 'zh-CN',
    acceptDownloads: true,
    // A step that waits longer than this is stuck (the machine may be loaded: generous).
    actionTimeout: 60_000,
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
  },
});
