/**
 * Two complete platforms in one test: a province and a city, each with its own data dir (its own CA,
 * signing and token keys), its own Redis key prefix and its own gateway listening on a loopback port,
 * joined by a federation agreement the province offered and the city countersigned. The province holds
 * the demo world (departments, catalog, simulator); the city has one consumer system and a federated
 * catalog entry mounted on the province's population resource.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { organisationCheckCharacter, usccCheckCharacter } from '../../catalog/identifiers.js';
import type { ResourceEntry } from '../../catalog/schema.js';
import type { CryptoProfile } from '../../certs/crypto-profile.js';
import { initPlatform } from '../../certs/platform.js';
import * as registry from '../../certs/registry.js';
import {
  acceptAgreement,
  localParty,
  offerAgreement,
  type SignedAgreement,
} from '../../federation/agreement.js';
import { storeAgreement } from '../../federation/service.js';
import type { GatewayContext } from '../../gateway/app/context.js';
import type { BuildAppOptions } from '../../gateway/app.js';
import { DEMO_DEPARTMENTS } from '../../scripts/lib/demo-catalog.js';
import { buildTestApp, type TestApp } from './app.js';
import { buildWorld, type SystemIdentity, signedHeaders, type World } from './world.js';

/** A valid USCC from its first 16 characters: the organisation code's check (GB 11714), then GB 32100's. */
export const uscc = (first16: string) => {
  const first17 = `${first16}${organisationCheckCharacter(first16.slice(8))}`;
  return `${first17}${usccCheckCharacter(first17)}`;
};

export const PROVINCE = {
  platformId: 'hubei-province',
  name: '湖北省政务数据共享平台',
  operator: uscc('1142000001000001'),
};
export const CITY = {
  platformId: 'yichang-city',
  name: '宜昌市政务数据共享平台',
  operator: uscc('1142050001000001'),
};
export const CITY_DEPT = {
  code: uscc('1142050001000002'),
  name: '宜昌市市场监督管理局',
  system: 'registration',
};

export interface Platform extends TestApp {
  url: string;
  dataDir: string;
}

export interface Cascade {
  province: Platform;
  city: Platform;
  world: World;
  /** The city's consumer system (宜昌市市场监督管理局 / registration). */
  citySystem: SystemIdentity;
  agreement: SignedAgreement;
  agreementId: string;
  /** The city's federated entry: the province population resource, same code. */
  federatedCode: string;
}

const actor = { role: 'system', name: 'test setup' } as const;

async function platformDir(t: Test, organization: string, crypto: CryptoProfile): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'govshare-federation-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await initPlatform(dir, { crypto, caName: { organization, commonName: `${organization} Root CA` } });
  return dir;
}

export async function startPlatform(
  t: Test,
  organization: string,
  env: Record<string, string> = {},
  workflow?: BuildAppOptions['workflow'],
  crypto: CryptoProfile = 'intl',
): Promise<Platform> {
  const dataDir = await platformDir(t, organization, crypto);
  const app = await buildTestApp(t, {
    env: { GOVSHARE_DATA_DIR: dataDir, ...env },
    ...(workflow ? { workflow } : {}),
  });
  await app.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.app.server.address() as AddressInfo;
  return { ...app, url: `http://127.0.0.1:${port}`, dataDir };
}

export async function buildCascade(
  t: Test,
  options: {
    offers?: string[];
    /** Both platforms' profile. @defaultValue 'intl' */
    crypto?: CryptoProfile;
    workflow?: BuildAppOptions['workflow'];
    /** Settings of one platform, e.g. its SQL sources file. */
    env?: { province?: Record<string, string>; city?: Record<string, string> };
    /** The province gateway URL the agreement names (e.g. a proxy in front of it). @defaultValue its own */
    provinceUrl?: (province: Platform) => string;
  } = {},
): Promise<Cascade> {
  const [province, city] = await Promise.all([
    startPlatform(t, 'Hubei province platform', options.env?.province, options.workflow, options.crypto),
    startPlatform(t, 'Yichang city platform', options.env?.city, options.workflow, options.crypto),
  ]);
  const world = await buildWorld(t, province.context);
  const now = new Date();
  const agreementId = `agr-${Date.now().toString(36)}`;
  const offer = await offerAgreement(province.context.platform, {
    version: 1,
    id: agreementId,
    offerer: localParty(province.context.platform, {
      ...PROVINCE,
      gatewayUrl: options.provinceUrl?.(province) ?? province.url,
      offers: options.offers ?? [world.codes.population],
    }),
    accepter: localParty(city.context.platform, { ...CITY, gatewayUrl: city.url, offers: [] }),
    validFrom: new Date(now.getTime() - 60_000).toISOString(),
    validTo: new Date(now.getTime() + 86_400_000).toISOString(),
  });
  await storeAgreement(
    province.context.platform,
    province.context.agreements,
    province.context.certs,
    offer,
    now,
  );
  const agreement = await acceptAgreement(city.context.platform, offer, now);
  await storeAgreement(city.context.platform, city.context.agreements, city.context.certs, agreement, now);
  await storeAgreement(
    province.context.platform,
    province.context.agreements,
    province.context.certs,
    agreement,
    now,
  );

  const citySystem = await cityConsumer(city.context, now);
  const populationEntry = await province.context.catalog.publishedEntry(world.codes.population);
  const provider = DEMO_DEPARTMENTS.publicSecurity;
  // 一数一源: the entry names the province's provider; the city registers it as a known provider.
  await registry.addDepartment(city.context.certs, { code: provider.code, name: provider.name }, now);
  const federated: ResourceEntry = {
    ...populationEntry!.entry,
    service: { connector: 'federation', endpoint: `${PROVINCE.platformId}/${world.codes.population}` },
  };
  await city.context.catalog.importEntry(actor, federated);
  return { province, city, world, citySystem, agreement, agreementId, federatedCode: world.codes.population };
}

async function cityConsumer(context: GatewayContext, now: Date): Promise<SystemIdentity> {
  await registry.addDepartment(context.certs, { code: CITY_DEPT.code, name: CITY_DEPT.name }, now);
  await registry.addSystem(
    context.certs,
    { deptCode: CITY_DEPT.code, systemId: CITY_DEPT.system, name: '企业登记系统' },
    now,
  );
  const bundle = await registry.issueCertificate(
    context.platform,
    context.certs,
    { deptCode: CITY_DEPT.code, systemId: CITY_DEPT.system },
    now,
  );
  return {
    deptCode: CITY_DEPT.code,
    systemId: CITY_DEPT.system,
    serial: bundle.serial,
    keyPem: bundle.keyPem!,
    certPem: bundle.certPem,
  };
}

/** A signed lookup by the city system through the city gateway (app.inject), sent as official `wang.li`. */
export function cityLookup(cascade: Cascade, idNumber: string, headers: Record<string, string> = {}) {
  const path = `/v1/data/${encodeURIComponent(cascade.federatedCode)}?idNumber=${idNumber}`;
  return cascade.city.app.inject({
    method: 'GET',
    url: path,
    headers: signedHeaders(cascade.citySystem, {
      method: 'GET',
      path,
      headers: { 'x-user-id': 'wang.li', 'x-case-id': 'YC-SCJG-2026-07', ...headers },
    }),
  });
}
