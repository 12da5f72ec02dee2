/**
 * The platform the data-path benchmark calls through, set up with the domain libraries against the
 * benchmark's Redis and data directory (the same steps scripts/demo.sh takes through the CLI): the demo's
 * three departments, a certificate for the market regulation bureau's system, the demo catalog mounted on
 * the simulator, and a grant on the population resource with a quota too large to be reached (so the
 * quota is still counted in Redis on every call, as in production).
 */
import { CatalogService } from '../../catalog/service.js';
import type { CryptoProfile } from '../../certs/crypto-profile.js';
import { initPlatform, loadPlatform } from '../../certs/platform.js';
import * as registry from '../../certs/registry.js';
import { CertsStore } from '../../certs/store.js';
import type { RedisClient } from '../../platform/redis.js';
import type { Grant } from '../../policies/grant.js';
import { GrantStore } from '../../policies/grant-store.js';
import { DEMO_CODES, DEMO_DEPARTMENTS, demoCatalog } from '../../scripts/lib/demo-catalog.js';

export const BENCH_PURPOSE = 'market-supervision';
export const GRANTED_ITEMS = ['idNumber', 'name', 'gender', 'birthDate', 'phone', 'address'];

export interface BenchIdentity {
  deptCode: string;
  systemId: string;
  serial: string;
  keyPem: string;
}

export interface BenchPlatform {
  caller: BenchIdentity;
  grant: Grant;
  resourceCode: string;
}

export async function setUpPlatform(
  redis: RedisClient,
  prefix: string,
  dataDir: string,
  simulatorUrl: string,
  crypto: CryptoProfile = 'intl',
): Promise<BenchPlatform> {
  await initPlatform(dataDir, { crypto });
  const platform = loadPlatform(dataDir);
  const now = new Date();
  const certs = new CertsStore(redis, prefix);
  for (const dept of Object.values(DEMO_DEPARTMENTS)) {
    await registry.addDepartment(certs, { code: dept.code, name: dept.name }, now);
    await registry.addSystem(
      certs,
      { deptCode: dept.code, systemId: dept.system, name: dept.systemName },
      now,
    );
  }
  const amr = DEMO_DEPARTMENTS.marketRegulation;
  const bundle = await registry.issueCertificate(
    platform,
    certs,
    { deptCode: amr.code, systemId: amr.system },
    now,
  );

  const catalog = new CatalogService(redis, prefix, {
    isKnownDepartment: async (code) => (await certs.getDepartment(code)) !== null,
  });
  const entries = demoCatalog(simulatorUrl);
  for (const entry of entries) await catalog.importEntry({ role: 'system', name: 'bench setup' }, entry);

  const population = entries.find((e) => e.code === DEMO_CODES.population)!;
  const grant = await new GrantStore(redis, prefix).create(
    { role: 'bureau', name: 'bench setup' },
    population,
    {
      deptCode: amr.code,
      systemId: amr.system,
      resourceCode: population.code,
      items: GRANTED_ITEMS,
      purposes: [BENCH_PURPOSE],
      modes: ['api'],
      validTo: new Date(now.getTime() + 86_400_000).toISOString(),
      quota: { perMinute: 1_000_000, perDay: 100_000_000 },
      basis: 'benchmark set-up',
    },
  );
  return {
    caller: { deptCode: amr.code, systemId: amr.system, serial: bundle.serial, keyPem: bundle.keyPem! },
    grant,
    resourceCode: population.code,
  };
}
