/**
 * A complete little platform for exchange tests: real Redis, the front-end processor simulator, the demo
 * catalog, registered departments with issued certificates, grants, the HTTP connector, and exchange deps
 * whose audit records and enqueued jobs are collected in arrays.
 */

import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Test } from 'tap';
import type { ResourceEntry } from '../../catalog/schema.js';
import { CatalogService } from '../../catalog/service.js';
import { createDecryptStream } from '../../certs/envelope.js';
import type { Platform } from '../../certs/platform.js';
import { addDepartment, addSystem, issueCertificate } from '../../certs/registry.js';
import { CertsStore } from '../../certs/store.js';
import { HttpConnectorFactory } from '../../connectors/http-connector.js';
import { ConnectorRegistry } from '../../connectors/registry.js';
import { DATASET_KINDS } from '../../connectors/simulator/datasets.js';
import { type Simulator, startSimulator } from '../../connectors/simulator/server.js';
import type { Row } from '../../connectors/types.js';
import type { ExchangeAuditRecord, ExchangeDeps, ExchangeSettings } from '../../exchange/deps.js';
import type { Caller } from '../../policies/decide.js';
import type { Grant, GrantRequest } from '../../policies/grant.js';
import { GrantStore } from '../../policies/grant-store.js';
import { DEMO_CODES, DEMO_DEPARTMENTS, demoCatalog } from '../../scripts/lib/demo-catalog.js';
import type { LocalRedis } from '../../scripts/lib/local-redis.js';
import { makePlatform, tempDir } from '../certs/platform-fixture.js';
import { useRedis } from '../helpers/redis.js';

export const PROVIDER = DEMO_DEPARTMENTS.publicSecurity;
export const CONSUMER = DEMO_DEPARTMENTS.humanResources;
export const OTHER = DEMO_DEPARTMENTS.marketRegulation;
export const POPULATION = DEMO_CODES.population;
/** The population entry again, without a watermark item (incremental exports impossible). */
export const NO_WATERMARK = '101001/000002';
/** The population entry again, with the birth date as its watermark (a date cannot order changes). */
export const DATE_WATERMARK = '101001/000003';
const DAY = 86_400_000;

export interface Party {
  caller: Caller;
  keyPem: string;
  certPem: string;
}

export interface ExchangeWorld {
  server: LocalRedis;
  redis: ExchangeDeps['redis'];
  prefix: string;
  sim: Simulator;
  platform: Platform;
  platformDir: string;
  exchangeDir: string;
  catalog: CatalogService;
  grants: GrantStore;
  certs: CertsStore;
  connectors: ConnectorRegistry;
  audits: ExchangeAuditRecord[];
  enqueued: string[];
  consumer: Party;
  /** Another system of the consumer department. */
  sibling: Party;
  /** A system of another department. */
  other: Party;
  clock: { now: number };
  deps(settings?: Partial<ExchangeSettings>): ExchangeDeps;
  grant(overrides?: Partial<GrantRequest>): Promise<Grant>;
  /** The simulator's residents 0 … n-1, as the provider holds them. */
  residents(n?: number): Row[];
}

let platformOnce: Promise<{ dataDir: string; platform: Platform }> | undefined;

export async function exchangeWorld(
  t: Test,
  options: { residents?: number; latencyMs?: number; realClock?: boolean } = {},
): Promise<ExchangeWorld> {
  platformOnce ??= makePlatform((await import('tap')).default);
  const { platform, dataDir: platformDir } = await platformOnce;
  const { server, redis, prefix } = await useRedis(t);
  const size = options.residents ?? 20_000;
  const sim = await startSimulator({
    datasets: { residents: size, enterprises: 100, socialInsurance: 100 },
    latencyMs: options.latencyMs ?? 0,
  });
  t.teardown(() => sim.close());
  const clock = { now: Date.now() };
  const now = () => (options.realClock ? Date.now() : clock.now);
  const catalog = new CatalogService(redis, prefix, { now: () => new Date(now()) });
  const grants = new GrantStore(redis, prefix, { now: () => new Date(now()) });
  const certs = new CertsStore(redis, prefix);
  const connectors = new ConnectorRegistry({ http: new HttpConnectorFactory() });
  t.teardown(() => connectors.close());
  const exchangeDir = tempDir(t, 'exchange');

  const bureau = { role: 'bureau' as const, name: 'exchange test' };
  const entries = demoCatalog(sim.url);
  const population = entries.find((e) => e.code === POPULATION)!;
  const noWatermark: ResourceEntry = {
    ...population,
    code: NO_WATERMARK,
    name: '人口基础信息(无更新时间)',
    service: { connector: 'http', endpoint: sim.endpoint('residents') },
  };
  const dateWatermark: ResourceEntry = {
    ...population,
    code: DATE_WATERMARK,
    name: '人口基础信息(按出生日期增量)',
    service: { connector: 'http', endpoint: sim.endpoint('residents'), watermark: 'birthDate' },
  };
  for (const entry of [...entries, noWatermark, dateWatermark]) await catalog.importEntry(bureau, entry);

  const at = new Date(now());
  for (const dept of [CONSUMER, OTHER]) await addDepartment(certs, dept, at);
  // Key generation is the slow part of the setup: the three run side by side on the thread pool.
  const party = async (dept: { code: string }, systemId: string): Promise<Party> => {
    await addSystem(certs, { deptCode: dept.code, systemId, name: systemId }, at);
    const issued = await issueCertificate(platform, certs, { deptCode: dept.code, systemId }, at);
    return {
      caller: { deptCode: dept.code, systemId, serial: issued.serial },
      keyPem: issued.keyPem!,
      certPem: issued.certPem,
    };
  };
  const [consumer, sibling, other] = await Promise.all([
    party(CONSUMER, CONSUMER.system),
    party(CONSUMER, 'pension-service'),
    party(OTHER, OTHER.system),
  ]);

  const audits: ExchangeAuditRecord[] = [];
  const enqueued: string[] = [];
  const world: ExchangeWorld = {
    server,
    redis,
    prefix,
    sim,
    platform,
    platformDir,
    exchangeDir,
    catalog,
    grants,
    certs,
    connectors,
    audits,
    enqueued,
    consumer,
    sibling,
    other,
    clock,
    deps(settings = {}) {
      return {
        redis,
        prefix,
        catalog,
        grants,
        certs,
        connectors,
        platform,
        audit: async (record) => {
          audits.push(record);
        },
        queue: {
          enqueue: async (id) => {
            enqueued.push(id);
          },
          schedule: async () => undefined,
          unschedule: async () => undefined,
        },
        now,
        settings: { exchangeDir, pageSize: 1000, segmentPages: 2, ...settings },
      };
    },
    async grant(overrides = {}) {
      return grants.create(bureau, population, {
        deptCode: CONSUMER.code,
        systemId: CONSUMER.system,
        resourceCode: POPULATION,
        items: ['idNumber', 'name', 'gender', 'birthDate', 'phone', 'address', 'divisionCode', 'updatedAt'],
        purposes: ['pension-check'],
        modes: ['api', 'bulk'],
        validTo: new Date(now() + 365 * DAY).toISOString(),
        basis: '《政务信息资源共享管理办法》第二十一条',
        ...overrides,
      });
    },
    residents(n = size) {
      return Array.from({ length: n }, (_, i) => DATASET_KINDS.residents.row(i));
    },
  };
  return world;
}

/** Decrypts a job file with a private key and gunzips it: the text the consumer gets. */
export async function openFile(path: string, keyPem: string): Promise<string> {
  const parts: Buffer[] = [];
  await pipeline(
    createReadStream(path),
    createDecryptStream({ privateKey: keyPem }),
    createGunzip(),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        parts.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(parts).toString('utf8');
}

export function parseJsonl(text: string): Row[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Row);
}
