/**
 * A worker process for the SIGKILL test: runs the exchange worker on the given Redis and prefix until it
 * is killed. Configuration comes as JSON in GOVSHARE_TEST_EXCHANGE_CHILD; it prints "ready" when it
 * listens for jobs.
 */
import { CatalogService } from '../../../catalog/service.js';
import { loadPlatform } from '../../../certs/platform.js';
import { CertsStore } from '../../../certs/store.js';
import { HttpConnectorFactory } from '../../../connectors/http-connector.js';
import { ConnectorRegistry } from '../../../connectors/registry.js';
import { SqlConnectorFactory } from '../../../connectors/sql/connector.js';
import { resolveSqlSources } from '../../../connectors/sql/sources.js';
import type { ExchangeSettings } from '../../../exchange/deps.js';
import {
  createExchangeQueue,
  type ExchangeWorkerOptions,
  startExchangeWorker,
} from '../../../gateway/jobs/exchange.js';
import { createRedisClient } from '../../../platform/redis.js';
import { GrantStore } from '../../../policies/grant-store.js';

interface ChildConfig {
  redisUrl: string;
  /** A PostgreSQL front-end database served as SQL source `fep` (its password in FEP_PASSWORD). */
  fep?: { host: string; port: number; database: string; user: string };
  prefix: string;
  platformDir: string;
  settings: Partial<ExchangeSettings> & { exchangeDir: string };
  worker: Omit<ExchangeWorkerOptions, 'connection' | 'queue'>;
}

const config = JSON.parse(process.env.GOVSHARE_TEST_EXCHANGE_CHILD ?? '{}') as ChildConfig;
const redis = createRedisClient(config.redisUrl);
const blocking = createRedisClient(config.redisUrl, { maxRetriesPerRequest: null });
const queue = createExchangeQueue(redis, config.prefix);
await startExchangeWorker(
  {
    redis,
    prefix: config.prefix,
    catalog: new CatalogService(redis, config.prefix),
    grants: new GrantStore(redis, config.prefix),
    certs: new CertsStore(redis, config.prefix),
    connectors: new ConnectorRegistry({
      http: new HttpConnectorFactory(),
      ...(config.fep
        ? {
            sql: new SqlConnectorFactory(
              resolveSqlSources(
                { sources: { fep: { dialect: 'postgres', ...config.fep, passwordEnv: 'FEP_PASSWORD' } } },
                { env: process.env },
              ),
            ),
          }
        : {}),
    }),
    platform: loadPlatform(config.platformDir),
    audit: async () => undefined,
    queue: queue.port,
    settings: config.settings,
  },
  { ...config.worker, connection: blocking, queue },
);
process.stdout.write('ready\n');
