/**
 * `govshare worker`: runs the BullMQ workers — deadline clocks, webhook deliveries, availability probes,
 * the monthly signed statistics report, data-quality re-checks (and bulk exchange jobs) — and ships the audit streams to the PostgreSQL store
 * when one is configured, in any number of processes on any machine that
 * reaches Redis. Each process owns its connections; SIGINT/SIGTERM finishes the jobs in hand and exits.
 */
import type { Worker } from 'bullmq';
import { pino } from 'pino';
import { AuditShipper } from '../audit/shipper.js';
import { settingsOf } from '../exchange/deps.js';
import { ProviderLimiter } from '../exchange/provider-limit.js';
import { createRedisClient } from '../platform/redis.js';
import { auditArchiveDir, type GovshareConfig } from './app/config.js';
import { createContext } from './app/context.js';
import { createExchange, createOffline } from './app/exchange.js';
import { createQuality } from './app/quality.js';
import { createWorkflow, workflowSettings } from './app/workflow.js';
import { startRetentionLoop } from './jobs/audit-retention.js';
import { startShippingLoop } from './jobs/audit-shipping.js';
import { startDataReturns } from './jobs/data-return.js';
import { startExchangeWorker } from './jobs/exchange.js';
import { listQualityTargets, startQualityWorker, syncQualitySchedules } from './jobs/quality.js';
import { itemSourceConsistency, openJointVerifications } from './jobs/quality-consistency.js';

export async function startWorker(config: GovshareConfig): Promise<{ close(): Promise<void> }> {
  const log = pino({ level: config.GOVSHARE_LOG_LEVEL, name: 'govshare-worker' });
  const context = await createContext(config);
  const workflow = createWorkflow(context, { log, ...(await workflowSettings(config)) });
  const quality = createQuality(context, workflow);
  // Workers block on Redis: their connection must never give up on a command.
  const connection = createRedisClient(config.GOVSHARE_REDIS_URL, {
    maxRetriesPerRequest: null,
    connectionName: 'govshare-worker',
  });
  const concurrency = config.GOVSHARE_WORKER_CONCURRENCY;

  const workers: Worker[] = [...(await workflow.startWorkers())];
  const exchange = createExchange(context);
  const exchangeSettings = settingsOf(exchange.deps);
  workers.push(
    startQualityWorker(
      {
        catalog: context.catalog,
        connectors: context.connectors,
        store: quality.store,
        now: () => context.now().getTime(),
        // Items reusing another department's source are checked against it; disagreements are verified jointly.
        consistency: itemSourceConsistency({
          catalog: context.catalog,
          connectors: context.connectors,
          async sourceOf(semanticId) {
            const { redis: catalogRedis, keys } = context.catalog.store;
            return (await catalogRedis.hget(keys.itemSources, semanticId)) ?? undefined;
          },
        }),
        onInconsistencies: openJointVerifications(workflow.cases.joint, { log }),
        // Full scans read like exports: the same page size, and the same slots per provider, shared with them.
        pageSize: exchangeSettings.pageSize,
        providerSlots: new ProviderLimiter(context.redis, context.prefix, {
          limit: exchangeSettings.providerConcurrency,
          leaseMs: exchangeSettings.providerLeaseMs,
        }),
      },
      { connection, redisPrefix: context.prefix, concurrency },
    ),
  );
  const exchangeWorker = await startExchangeWorker(exchange.deps, {
    connection,
    queue: exchange.queue,
    concurrency,
    onError: (err) => log.warn({ err: err.message }, 'exchange worker error'),
    offline: createOffline(context, exchange, workflow),
  });
  workers.push(exchangeWorker.worker);
  const shipping = context.auditStore
    ? startShippingLoop(new AuditShipper(context.dataRedis, context.prefix, context.auditStore), {
        intervalMs: config.GOVSHARE_AUDIT_SHIP_INTERVAL_MS,
        onError: (err) => log.warn({ err: err.message }, 'audit shipping failed; retrying'),
      })
    : undefined;
  const retention = context.auditStore
    ? startRetentionLoop(context.auditStore, {
        dir: auditArchiveDir(config),
        retentionDays: config.GOVSHARE_AUDIT_RETENTION_DAYS,
        signer: {
          certificate: context.platform.signingCertX509,
          signer: context.platform.platformSigner,
        },
        intervalMs: 6 * 3_600_000,
        firstRunMs: 60_000,
        onArchived: (months) => log.info({ months }, 'audit months archived and dropped from the store'),
        onError: (err) => log.error({ err: err.message }, 'audit archiving failed; nothing was dropped'),
      })
    : undefined;
  // Scheduled data returns (回流), when this platform has a front-end database to return into.
  const returns = config.GOVSHARE_RETURN_DATABASE_URL
    ? await startDataReturns(context, config.GOVSHARE_RETURN_DATABASE_URL, connection, log)
    : undefined;
  if (returns) workers.push(returns.worker);
  const schedules = await syncQualitySchedules(quality.queue, await listQualityTargets(context.catalog));
  log.info(
    {
      workers: workers.length,
      qualitySchedules: schedules.scheduled.length,
      concurrency,
      auditShipping: shipping ? 'on' : 'off (no GOVSHARE_AUDIT_STORE_URL)',
      dataReturns: returns ? returns.scheduled : 'off (no GOVSHARE_RETURN_DATABASE_URL)',
    },
    'worker started',
  );
  for (const worker of workers)
    worker.on('failed', (job, err) =>
      log.warn({ queue: worker.name, jobId: job?.id, err: err.message }, 'job failed'),
    );

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        await shipping?.close();
        await retention?.close();
        await exchangeWorker.close();
        await Promise.allSettled(workers.map((w) => w.close()));
        await exchange.queue.close();
        await returns?.close();
        await workflow.close();
        await quality.close();
        await connection.quit().catch(() => connection.disconnect());
        await context.close();
      })();
      return closing;
    },
  };
}
