/**
 * Everything a gateway or worker process shares between requests: configuration, the Redis client, the
 * platform keys, the domain services and the per-process caches of the data path. Built once per process;
 * tests build one per test with their own Redis and key prefix.
 */

import { readFileSync } from 'node:fs';
import { AuditStore } from '../../audit/store/store.js';
import { AuditWriter } from '../../audit/writer.js';
import { catalogKeys } from '../../catalog/keys.js';
import { CatalogService } from '../../catalog/service.js';
import { loadPlatform, type Platform, withPlatformSigner } from '../../certs/platform.js';
import type { Signer } from '../../certs/signer.js';
import { CertsStore } from '../../certs/store.js';
import { HttpConnectorFactory } from '../../connectors/http-connector.js';
import { ConnectorRegistry } from '../../connectors/registry.js';
import { SqlConnectorFactory } from '../../connectors/sql/connector.js';
import { loadSqlSources } from '../../connectors/sql/sources.js';
import { FederationConnectorFactory } from '../../federation/connector.js';
import { FederationPeers } from '../../federation/peers.js';
import { AgreementStore } from '../../federation/store.js';
import { InvalidationBus } from '../../platform/invalidation.js';
import { createRedisClient, type RedisClient } from '../../platform/redis.js';
import { AdmissionGate } from '../../policies/admission.js';
import { FeedbackStore } from '../../policies/feedback.js';
import { GrantStore } from '../../policies/grant-store.js';
import { UseTermsStore } from '../../policies/use-terms.js';
import { GrantCache, ResourceCache } from '../data-path/caches.js';
import { CallerKeys } from '../identity/caller-keys.js';
import type { GovshareConfig } from './config.js';
import { GatewayMetrics } from './metrics.js';
import { tsaClientFor } from './timestamps.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
  warnings: string[];
}

export interface GatewayContext {
  config: GovshareConfig;
  redis: RedisClient;
  /** The data path's connection (nonces, quotas, audit): the same client as `redis` when one was given. */
  dataRedis: RedisClient;
  prefix: string;
  platform: Platform;
  certs: CertsStore;
  catalog: CatalogService;
  grants: GrantStore;
  /** Consumer departments' acceptances of resources' data-use terms. */
  useTerms: UseTermsStore;
  /** Consumers' usage feedback per grant. */
  feedback: FeedbackStore;
  admission: AdmissionGate;
  connectors: ConnectorRegistry;
  /** This instance's hash-chained audit stream. */
  audit: AuditWriter;
  /** The PostgreSQL audit store the streams are shipped to (GOVSHARE_AUDIT_STORE_URL), when configured. */
  auditStore: AuditStore | undefined;
  callerKeys: CallerKeys;
  /** Federation agreements with other platforms, and the ones in force as this process sees them. */
  agreements: AgreementStore;
  peers: FederationPeers;
  /** Signed calls to peer platforms (forwarded data calls and applications), one breaker per peer. */
  federation: FederationConnectorFactory;
  resources: ResourceCache;
  grantCache: GrantCache;
  metrics: GatewayMetrics;
  now: () => Date;
  readiness(): Promise<Readiness>;
  close(): Promise<void>;
}

export interface ContextOptions {
  /** Use this client instead of connecting to GOVSHARE_REDIS_URL (the caller keeps ownership). */
  redis?: RedisClient;
  now?: () => Date;
  /** Key custody of the platform signing key in place of the data dir's file key (a hardware module). */
  platformSigner?: Signer;
}

export async function createContext(
  config: GovshareConfig,
  options: ContextOptions = {},
): Promise<GatewayContext> {
  const loaded = loadPlatform(config.GOVSHARE_DATA_DIR);
  const platform = options.platformSigner ? withPlatformSigner(loaded, options.platformSigner) : loaded;
  const ownsRedis = options.redis === undefined;
  const redis =
    options.redis ??
    createRedisClient(config.GOVSHARE_REDIS_URL, {
      connectionName: `govshare:${config.GOVSHARE_INSTANCE_ID}`,
    });
  // The data path's writes (nonces, quotas, audit records, statistics) on a connection of their own, so
  // they never queue behind the catalog, grant and job traffic of the shared one. Not auto-pipelined:
  // ioredis gives every auto-pipeline batch a Pipeline with a per-instance `length` accessor, and that
  // kept each batch, its commands and the requests awaiting them alive through young-generation GCs
  // until the next full GC. At ~1000 req/s the gateway promoted ~14 MB/s, ran a full GC cycle every few
  // seconds and each one held ~80 requests up for 40-60 ms (2.6 MB/s promoted without it; bench/README.md).
  // Its writes are coalesced per event-loop turn instead (CoalescingRedis), without a Pipeline.
  const dataRedis =
    options.redis ??
    createRedisClient(config.GOVSHARE_REDIS_URL, {
      connectionName: `govshare:${config.GOVSHARE_INSTANCE_ID}:data`,
      coalesceWrites: true,
    });
  const prefix = config.GOVSHARE_REDIS_PREFIX;
  const now = options.now ?? (() => new Date());
  const certs = new CertsStore(redis, prefix);
  const catalog = new CatalogService(redis, prefix, {
    now,
    isKnownDepartment: async (code) => (await certs.getDepartment(code)) !== null,
  });
  const grants = new GrantStore(redis, prefix, { now });
  const agreements = new AgreementStore(redis, prefix);
  const peers = new FederationPeers(agreements, platform, { now });
  const federation = new FederationConnectorFactory({
    peers,
    signing: {
      signer: platform.platformSigner,
      keyId: platform.signingCertX509.serialNumber.toLowerCase(),
    },
    timeoutMs: config.GOVSHARE_CONNECTOR_TIMEOUT_MS,
    now: () => now().getTime(),
  });
  const connectors = new ConnectorRegistry({
    federation,
    http: new HttpConnectorFactory({
      connections: config.GOVSHARE_CONNECTOR_CONNECTIONS,
      defaultTimeoutMs: config.GOVSHARE_CONNECTOR_TIMEOUT_MS,
      ...(config.GOVSHARE_CONNECTOR_CA ? { tlsCa: readFileSync(config.GOVSHARE_CONNECTOR_CA, 'utf8') } : {}),
    }),
    ...(config.GOVSHARE_SQL_SOURCES_FILE
      ? { sql: new SqlConnectorFactory(loadSqlSources(config.GOVSHARE_SQL_SOURCES_FILE)) }
      : {}),
  });
  const auditStore = config.GOVSHARE_AUDIT_STORE_URL
    ? AuditStore.open(config.GOVSHARE_AUDIT_STORE_URL, (err) =>
        process.emitWarning(err, { code: 'GOVSHARE_AUDIT_STORE' }),
      )
    : undefined;
  const timestamper = tsaClientFor(config);
  const audit = new AuditWriter(dataRedis, prefix, config.GOVSHARE_INSTANCE_ID, {
    signer: {
      certificate: platform.signingCertX509,
      signer: platform.platformSigner,
    },
    ...(timestamper ? { timestamper } : {}),
    // Without a store nothing ships, so nothing may hold the hot path back.
    backlogMax: auditStore ? config.GOVSHARE_AUDIT_BACKLOG_MAX : 0,
  });

  const bus = new InvalidationBus(redis.duplicate());
  const callerKeys = new CallerKeys(certs, platform, { now });
  const resources = new ResourceCache(catalog, catalogKeys(prefix).channel);
  const grantCache = new GrantCache(grants);
  await callerKeys.start(bus);
  await resources.start(bus);
  await grantCache.start(bus);
  await peers.start(bus);
  const admission = new AdmissionGate(dataRedis, prefix);

  return {
    config,
    redis,
    dataRedis,
    prefix,
    platform,
    certs,
    catalog,
    grants,
    useTerms: new UseTermsStore(redis, prefix, { now }),
    feedback: new FeedbackStore(redis, prefix, { now }),
    admission,
    connectors,
    audit,
    auditStore,
    callerKeys,
    agreements,
    peers,
    federation,
    resources,
    grantCache,
    metrics: new GatewayMetrics({ connectors, audit, now: () => now().getTime() }),
    now,
    async readiness() {
      const checks: Record<string, string> = { ca: 'loaded' };
      let ready = true;
      try {
        const pong = await Promise.race([
          Promise.all([redis.ping(), dataRedis.ping()]).then(([a, b]) => (a === b ? a : `${a}/${b}`)),
          new Promise<string>((_, reject) =>
            setTimeout(() => reject(new Error('timed out after 1 s')), 1000).unref(),
          ),
        ]);
        checks.redis = pong === 'PONG' ? 'ok' : `unexpected answer ${pong}`;
        if (pong !== 'PONG') ready = false;
      } catch (err) {
        checks.redis = `unreachable: ${(err as Error).message}`;
        ready = false;
      }
      return { ready, checks, warnings: [] };
    },
    async close() {
      callerKeys.stop();
      peers.stop();
      await admission.release().catch(() => undefined);
      await audit.close().catch(() => undefined);
      await auditStore?.close().catch(() => undefined);
      await connectors.close().catch(() => undefined);
      await bus.close();
      if (ownsRedis) {
        await Promise.all([redis, dataRedis].map((client) => client.quit().catch(() => client.disconnect())));
      }
    },
  };
}
