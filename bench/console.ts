/**
 * Console bundle and first load (issue 16): the JavaScript the browser downloads (gzipped, target
 * < 600 KB) and the time from navigation to a rendered applications inbox of 50 applications in a cold
 * headless Chromium (target < 1 s on loopback), against a baseline measured in the same run: the same
 * browser loading a static page of the same server (no script, no API call).
 *
 *   npx tsc -p . && npx vite build --config console/vite.config.ts && node dist/bench/console.js [--quick]
 *
 * --quick: 5 loads of each instead of 20. Needs redis-server and /usr/bin/chromium. Results: bench/README.md.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { generate } from 'otplib';
import { chromium } from 'playwright-core';
import { initPlatform } from '../certs/platform.js';
import * as registry from '../certs/registry.js';
import { startSimulator } from '../connectors/simulator/server.js';
import { loadConfig } from '../gateway/app/config.js';
import { createContext } from '../gateway/app/context.js';
import { buildApp } from '../gateway/app.js';
import { AccountStore, totpSealKey } from '../gateway/auth/accounts.js';
import { CONSOLE_ROOT } from '../gateway/plugins/console.js';
import { DEMO_CODES, DEMO_DEPARTMENTS, demoCatalog } from '../scripts/lib/demo-catalog.js';
import { startLocalRedis } from '../scripts/lib/local-redis.js';
import { environment } from './lib/report.js';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const LOADS = args.quick ? 5 : 20;
const APPLICATIONS = 50;

function bundle() {
  const dir = join(CONSOLE_ROOT, 'assets');
  const index = readFileSync(join(CONSOLE_ROOT, 'index.html'), 'utf8');
  const entry = /src="\/console\/assets\/([^"]+\.js)"/.exec(index)?.[1];
  let total = 0;
  let first = 0;
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.js'))) {
    const gz = gzipSync(readFileSync(join(dir, name)), { level: 9 }).length;
    total += gz;
    if (name === entry) first = gz;
  }
  return { totalKiB: total / 1024, inboxKiB: first / 1024 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main() {
  const sizes = bundle();
  const redis = await startLocalRedis();
  const simulator = await startSimulator({
    datasets: { residents: 100, enterprises: 10, socialInsurance: 100 },
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'govshare-bench-console-'));
  await initPlatform(dataDir);
  const config = loadConfig({
    GOVSHARE_REDIS_URL: redis.url,
    GOVSHARE_DATA_DIR: dataDir,
    GOVSHARE_LOG_LEVEL: 'silent',
    GOVSHARE_INSTANCE_ID: 'bench-console',
  });
  const context = await createContext(config);
  const app = await buildApp({ context, logger: false });
  const browser = await chromium.launch({
    executablePath: process.env.GOVSHARE_TEST_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  try {
    const now = new Date();
    for (const dept of Object.values(DEMO_DEPARTMENTS)) {
      await registry.addDepartment(context.certs, { code: dept.code, name: dept.name }, now);
      await registry.addSystem(
        context.certs,
        { deptCode: dept.code, systemId: dept.system, name: dept.systemName },
        now,
      );
    }
    for (const entry of demoCatalog(simulator.url))
      await context.catalog.importEntry({ role: 'system', name: 'bench' }, entry);
    const amr = DEMO_DEPARTMENTS.marketRegulation;
    for (let i = 0; i < APPLICATIONS; i++) {
      // One pending application per system and resource: a system each.
      await registry.addSystem(
        context.certs,
        { deptCode: amr.code, systemId: `bench-${i}`, name: `系统${i}` },
        now,
      );
      await app.workflow.applications.submit(
        { role: 'dept-admin', name: 'bench', dept: amr.code },
        {
          systemId: `bench-${i}`,
          resourceCode: DEMO_CODES.socialInsurance,
          items: ['idNumber', 'status'],
          purposes: ['market-supervision'],
          reason: '基准测试',
          modes: ['api'],
          validTo: new Date(Date.now() + 30 * 86_400_000).toISOString(),
        },
      );
    }
    const { totpSecret } = await new AccountStore(context.redis, context.prefix, {
      sealKey: totpSealKey(context.platform.subjectHmacKey),
    }).add({
      name: 'bench.bureau',
      displayName: 'bench',
      role: 'bureau',
      password: 'bench-password-0123',
    });
    const origin = await app.listen({ host: '127.0.0.1', port: 0 });

    // One session, made through the API as the console makes it; each load then in a cold browser context.
    const signIn = await app.inject({
      method: 'POST',
      url: '/v1/session',
      payload: {
        name: 'bench.bureau',
        password: 'bench-password-0123',
        totp: await generate({ secret: totpSecret!, epoch: Math.floor(Date.now() / 1000) }),
      },
    });
    if (signIn.statusCode !== 201) throw new Error(`sign-in failed: ${signIn.body}`);
    const cookie = String([signIn.headers['set-cookie']].flat()[0]).split(';')[0]!.split('=');
    const inbox: number[] = [];
    const baseline: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      const page = await (await browser.newContext()).newPage();
      await page.context().addCookies([{ name: cookie[0]!, value: cookie[1]!, url: origin }]);
      let t0 = performance.now();
      await page.goto(`${origin}/console/#/applications`);
      await page
        .getByTestId('inbox')
        .locator('tbody tr')
        .nth(APPLICATIONS - 1)
        .waitFor();
      inbox.push(performance.now() - t0);
      const blank = await (await browser.newContext()).newPage();
      t0 = performance.now();
      await blank.goto(`${origin}/console/index.html`, { waitUntil: 'commit' });
      await blank.waitForLoadState('domcontentloaded');
      baseline.push(performance.now() - t0);
      await page.context().close();
      await blank.context().close();
    }
    console.log(environment('redis-server'));
    console.log(
      `console JS gzipped: ${sizes.totalKiB.toFixed(1)} KiB in all, ${sizes.inboxKiB.toFixed(1)} KiB for the inbox (target < 600 KB)`,
    );
    console.log(
      `inbox first load (${APPLICATIONS} applications, cold context, ${LOADS} loads): median ${median(inbox).toFixed(0)} ms, max ${Math.max(...inbox).toFixed(0)} ms (target < 1000 ms)`,
    );
    console.log(
      `baseline (the same page's HTML only, no script): median ${median(baseline).toFixed(0)} ms; ratio ${(median(inbox) / median(baseline)).toFixed(1)}x`,
    );
  } finally {
    await browser.close();
    await app.close();
    await context.close();
    await simulator.close();
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
