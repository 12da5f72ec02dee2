/** The exchange service's dependencies as the gateway and the worker build them from their context. */
import { join } from 'node:path';
import type { ExchangeDeps } from '../../exchange/deps.js';
import { createExchangeQueue, type ExchangeQueue } from '../jobs/exchange.js';
import type { GatewayContext } from './context.js';

export function exchangeDirOf(context: GatewayContext): string {
  return context.config.GOVSHARE_EXCHANGE_DIR || join(context.config.GOVSHARE_DATA_DIR, 'exchange');
}

export function createExchange(context: GatewayContext): { deps: ExchangeDeps; queue: ExchangeQueue } {
  const queue = createExchangeQueue(context.redis, context.prefix);
  const { config } = context;
  const deps: ExchangeDeps = {
    redis: context.redis,
    prefix: context.prefix,
    catalog: context.catalog,
    grants: context.grants,
    useTerms: {
      acceptedVersion: (dept, resource, current) => context.useTerms.acceptedVersion(dept, resource, current),
      required: config.GOVSHARE_REQUIRE_USE_TERMS,
    },
    certs: context.certs,
    machineCallsAllowed: config.GOVSHARE_MACHINE_CALLS,
    connectors: context.connectors,
    platform: context.platform,
    audit: (record) => context.audit.append({ ...record, instance: context.audit.instance }),
    queue: queue.port,
    now: () => context.now().getTime(),
    settings: {
      exchangeDir: exchangeDirOf(context),
      pageSize: config.GOVSHARE_EXCHANGE_PAGE_SIZE,
      partRows: config.GOVSHARE_EXCHANGE_PART_ROWS,
      fileTtlMs: config.GOVSHARE_EXCHANGE_FILE_TTL_HOURS * 3600_000,
      providerConcurrency: config.GOVSHARE_EXCHANGE_PROVIDER_CONCURRENCY,
    },
  };
  return { deps, queue };
}
