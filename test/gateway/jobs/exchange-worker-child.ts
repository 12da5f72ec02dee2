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
    connectors: new ConnectorRegistry({ http: new HttpConnectorFactory() }),
    platform: loadPlatform(config.platformDir),
    audit: async () => undefined,
    queue: queue.port,
    settings: config.settings,
  },
  { ...config.worker, connection: blocking, queue },
);
process.stdout.write('ready\n');
