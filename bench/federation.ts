/**
 * The forwarded call's added latency (issue 20): two complete platforms in one run — a province gateway
 * serving the demo population resource from the simulator, and a city gateway with a federated entry
 * mounted on it under a federation agreement. The same lookup is timed as a direct call by a province
 * system to the province gateway, and as a city system's call to the city gateway, which checks its own
 * grant and audits, then forwards it signed as the city platform to the province, which checks its grant
 * to the city platform, masks and audits. Requests are signed before the clock starts; the two kinds
 * alternate in blocks so that load on the machine hits both alike.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/federation.js [--quick] [--concurrency N]
 *
 * Both gateways run in this process (one event loop) on one local Redis (two key prefixes): at
 * concurrency 1 the added latency is the city's own work plus one loopback hop, which is what is asked.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { organisationCheckCharacter, usccCheckCharacter } from '../catalog/identifiers.js';
import type { ResourceEntry } from '../catalog/schema.js';
import { signRequest } from '../certs/httpsig/index.js';
import { initPlatform } from '../certs/platform.js';
import * as registry from '../certs/registry.js';
import { sampleKeys } from '../connectors/simulator/datasets.js';
import { startSimulator } from '../connectors/simulator/server.js';
import { acceptAgreement, localParty, offerAgreement } from '../federation/agreement.js';
import { FEDERATION_SYSTEM_ID } from '../federation/origin.js';
import { storeAgreement } from '../federation/service.js';
import { loadConfig } from '../gateway/app/config.js';
import { createContext, type GatewayContext } from '../gateway/app/context.js';
import { buildApp } from '../gateway/app.js';
import { DEMO_CODES, DEMO_DEPARTMENTS, demoCatalog } from '../scripts/lib/demo-catalog.js';
import { startLocalRedis } from '../scripts/lib/local-redis.js';

const { values } = parseArgs({
  options: { quick: { type: 'boolean' }, concurrency: { type: 'string' } },
});
const REQUESTS = values.quick ? 400 : 4000;
const CONCURRENCY = Number(values.concurrency ?? 1);
const BLOCK = 50;
/** A valid USCC from its first 16 characters: the organisation code's check (GB 11714), then GB 32100's. */
const uscc = (first16: string) => {
  const first17 = `${first16}${organisationCheckCharacter(first16.slice(8))}`;
  return `${first17}${usccCheckCharacter(first17)}`;
};
const setupActor = { role: 'system', name: 'bench setup' } as const;
const ITEMS = ['idNumber', 'name', 'gender'];

interface Gateway {
  context: GatewayContext;
  url: string;
  close(): Promise<void>;
}

async function gateway(
  redisUrl: string,
  prefix: string,
  dataDir: string,
  instance: string,
): Promise<Gateway> {
  await initPlatform(dataDir, { caName: { organization: instance } });
  const config = loadConfig({
    GOVSHARE_REDIS_URL: redisUrl,
    GOVSHARE_REDIS_PREFIX: prefix,
    GOVSHARE_DATA_DIR: dataDir,
    GOVSHARE_LOG_LEVEL: 'silent',
    GOVSHARE_INSTANCE_ID: instance,
  });
  const context = await createContext(config);
  const app = await buildApp({ context, logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    context,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await app.close();
      await context.close();
    },
  };
}

async function system(context: GatewayContext, deptCode: string, systemId: string) {
  const bundle = await registry.issueCertificate(
    context.platform,
    context.certs,
    { deptCode, systemId },
    new Date(),
  );
  return { serial: bundle.serial, keyPem: bundle.keyPem! };
}

function grant(context: GatewayContext, entry: ResourceEntry, deptCode: string, systemId: string) {
  return context.grants.create({ role: 'bureau', name: 'bench setup' }, entry, {
    deptCode,
    systemId,
    resourceCode: entry.code,
    items: ITEMS,
    purposes: ['market-supervision'],
    modes: ['api'],
    validTo: new Date(Date.now() + 86_400_000).toISOString(),
    basis: 'benchmark set-up',
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'govshare-bench-cascade-'));
  const redis = await startLocalRedis();
  const simulator = await startSimulator({
    datasets: { residents: 5000, enterprises: 100, socialInsurance: 100 },
  });
  const province = await gateway(redis.url, 'bench:p:', join(work, 'province'), 'province-1');
  const city = await gateway(redis.url, 'bench:c:', join(work, 'city'), 'city-1');
  try {
    const now = new Date();
    // The province: the demo departments and catalog; a province system with a direct grant.
    for (const dept of Object.values(DEMO_DEPARTMENTS)) {
      await registry.addDepartment(province.context.certs, { code: dept.code, name: dept.name }, now);
      await registry.addSystem(
        province.context.certs,
        { deptCode: dept.code, systemId: dept.system, name: dept.systemName },
        now,
      );
    }
    const entries = demoCatalog(simulator.url);
    for (const entry of entries) await province.context.catalog.importEntry(setupActor, entry);
    const population = entries.find((e) => e.code === DEMO_CODES.population)!;
    const amr = DEMO_DEPARTMENTS.marketRegulation;
    const direct = await system(province.context, amr.code, amr.system);
    await grant(province.context, population, amr.code, amr.system);

    // The agreement, the province's grant to the city platform, the city's federated entry and grant.
    const cityParty = {
      platformId: 'yichang-city',
      name: '宜昌市政务数据共享平台',
      operator: uscc('1142050001000001'),
    };
    const offer = await offerAgreement(province.context.platform, {
      version: 1,
      id: 'bench-agreement',
      offerer: localParty(province.context.platform, {
        platformId: 'hubei-province',
        name: '湖北省政务数据共享平台',
        operator: uscc('1142000001000001'),
        gatewayUrl: province.url,
        offers: [population.code],
      }),
      accepter: localParty(city.context.platform, { ...cityParty, gatewayUrl: city.url, offers: [] }),
      validFrom: new Date(now.getTime() - 60_000).toISOString(),
      validTo: new Date(now.getTime() + 86_400_000).toISOString(),
    });
    const signed = await acceptAgreement(city.context.platform, offer, now);
    await storeAgreement(city.context.platform, city.context.agreements, city.context.certs, signed, now);
    await storeAgreement(
      province.context.platform,
      province.context.agreements,
      province.context.certs,
      signed,
      now,
    );
    await grant(province.context, population, cityParty.operator, FEDERATION_SYSTEM_ID);
    const cityDept = uscc('1142050001000002');
    await registry.addDepartment(city.context.certs, { code: cityDept, name: '宜昌市市场监督管理局' }, now);
    await registry.addSystem(
      city.context.certs,
      { deptCode: cityDept, systemId: 'registration', name: '企业登记系统' },
      now,
    );
    const psb = DEMO_DEPARTMENTS.publicSecurity;
    await registry.addDepartment(city.context.certs, { code: psb.code, name: psb.name }, now);
    const federated: ResourceEntry = {
      ...population,
      service: { connector: 'federation', endpoint: `hubei-province/${population.code}` },
    };
    await city.context.catalog.importEntry(setupActor, federated);
    const viaCity = await system(city.context, cityDept, 'registration');
    await grant(city.context, federated, cityDept, 'registration');

    const keys = sampleKeys('residents', 500);
    const path = (key: string) => `/v1/data/${encodeURIComponent(population.code)}?idNumber=${key}`;
    const signedCall = (origin: string, who: { serial: string; keyPem: string }, key: string) => {
      const headers = { 'x-purpose': 'market-supervision', 'x-user-id': 'bench.user' };
      return {
        path: path(key),
        headers: {
          ...headers,
          ...signRequest({
            method: 'GET',
            url: `${origin}${path(key)}`,
            headers,
            keyId: who.serial,
            privateKey: who.keyPem,
          }),
        },
      };
    };
    const pools = {
      direct: new Pool(province.url, { connections: CONCURRENCY }),
      forwarded: new Pool(city.url, { connections: CONCURRENCY }),
    };
    const timings: Record<'direct' | 'forwarded', number[]> = { direct: [], forwarded: [] };
    let failures = 0;
    const run = async (kind: 'direct' | 'forwarded', count: number, record: boolean) => {
      const [origin, who] = kind === 'direct' ? [province.url, direct] : [city.url, viaCity];
      const calls = Array.from({ length: count }, (_, i) => signedCall(origin, who, keys[i % keys.length]!));
      let next = 0;
      const worker = async () => {
        while (next < calls.length) {
          const call = calls[next++]!;
          const started = performance.now();
          const res = await pools[kind].request({ method: 'GET', path: call.path, headers: call.headers });
          await res.body.text();
          if (res.statusCode !== 200) failures++;
          if (record) timings[kind].push(performance.now() - started);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    };
    await run('direct', 100, false);
    await run('forwarded', 100, false);
    for (let done = 0; done < REQUESTS; done += BLOCK) {
      await run('direct', BLOCK, true);
      await run('forwarded', BLOCK, true);
    }
    const summary = (kind: 'direct' | 'forwarded') => {
      const sorted = [...timings[kind]].sort((a, b) => a - b);
      return {
        n: sorted.length,
        p50: percentile(sorted, 50),
        p90: percentile(sorted, 90),
        p99: percentile(sorted, 99),
      };
    };
    const d = summary('direct');
    const f = summary('forwarded');
    console.log(
      `node ${process.version}, ${availableParallelism()} cores, load1 ${loadavg()[0]!.toFixed(1)}, concurrency ${CONCURRENCY}, ${REQUESTS} calls of each kind, non-200: ${failures}`,
    );
    console.log('| call | n | p50 ms | p90 ms | p99 ms |');
    console.log('|---|---:|---:|---:|---:|');
    for (const [name, s] of [
      ['direct to the province', d],
      ['through the city (forwarded)', f],
    ] as const)
      console.log(`| ${name} | ${s.n} | ${s.p50.toFixed(2)} | ${s.p90.toFixed(2)} | ${s.p99.toFixed(2)} |`);
    const delta = (ms: number) => `${ms >= 0 ? '+' : '−'}${Math.abs(ms).toFixed(2)}`;
    console.log(
      `added by forwarding: p50 ${delta(f.p50 - d.p50)} ms (×${(f.p50 / d.p50).toFixed(2)}), p99 ${delta(f.p99 - d.p99)} ms (×${(f.p99 / d.p99).toFixed(2)})`,
    );
    await Promise.all(Object.values(pools).map((p) => p.close()));
    if (failures > 0) process.exitCode = 1;
  } finally {
    await city.close();
    await province.close();
    await simulator.close();
    await redis.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
