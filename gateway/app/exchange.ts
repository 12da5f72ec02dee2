/** The exchange service's dependencies as the gateway and the worker build them from their context. */
import { join } from 'node:path';
import type { ExchangeDeps } from '../../exchange/deps.js';
import type { OfflineDeps } from '../../exchange/offline.js';
import type { WorkflowEvent } from '../../policies/applications/schema.js';
import type { WorkdayCalendar } from '../../policies/calendar/calendar.js';
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

export function offlineOutboxOf(context: GatewayContext): string {
  return context.config.GOVSHARE_OFFLINE_OUTBOX || join(context.config.GOVSHARE_DATA_DIR, 'offline-outbox');
}

/** Offline (medium) exchange ([HB-S] 16): the exchange deps, the outbox, the calendar and the notices. */
export function createOffline(
  context: GatewayContext,
  exchange: { deps: ExchangeDeps; queue: ExchangeQueue },
  workflow: { calendar: WorkdayCalendar; announce(events: WorkflowEvent[]): Promise<void> },
): OfflineDeps {
  return {
    exchange: exchange.deps,
    certs: context.certs,
    outboxDir: offlineOutboxOf(context),
    approvalWorkdays: context.config.GOVSHARE_OFFLINE_APPROVAL_WORKDAYS,
    calendar: workflow.calendar,
    announce: (events) => workflow.announce(events),
    enqueue: (id) => exchange.queue.enqueueOffline(id),
  };
}
