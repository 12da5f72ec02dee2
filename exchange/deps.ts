/**
 * What the exchange service and its runner need from the process, passed in (no globals): Redis, the
 * catalog, grants, certificates, connectors, the platform keys, the audit writer, the queue, a clock and
 * the settings. The gateway and the worker build one `ExchangeDeps` each; tests build their own.
 */
import type { X509Certificate } from 'node:crypto';
import type { AuditRecord } from '../audit/record.js';
import type { PublishedEntry } from '../catalog/records.js';
import type { DataService } from '../catalog/schema.js';
import type { CertificateRecord } from '../certs/schema.js';
import type { Signer } from '../certs/signer.js';
import type { Connector, ServiceShape } from '../connectors/types.js';
import type { RedisClient } from '../platform/redis.js';
import type { Grant } from '../policies/grant.js';
import type { Subscription } from './schema.js';

export interface ExchangeSettings {
  /** Absolute directory of the job files (GOVSHARE_EXCHANGE_DIR). */
  exchangeDir: string;
  /** Rows asked for per connector page. @defaultValue 1000 */
  pageSize: number;
  /** Pages per checkpointed segment: a resumed job redoes at most this many pages. @defaultValue 10 */
  segmentPages: number;
  /** How long a finished file stays downloadable, in ms. @defaultValue 7 days */
  fileTtlMs: number;
  /** Jobs running against one provider at once, across all workers. @defaultValue 2 */
  providerConcurrency: number;
  /** A provider slot held by a worker that died frees after this many ms. @defaultValue 60 000 */
  providerLeaseMs: number;
  /** Plaintext bytes per envelope chunk. @defaultValue 65 536 */
  chunkSize: number;
  /**
   * zlib level of the gzip members. Level 1 compresses a bulk export's jsonl about 2.5 times faster than
   * level 6 (gzip runs beside the page reading on the thread pool, and at 6 it was the slowest stage)
   * for a file about a quarter larger (bench/exchange-pg.ts, 1M residents: 11.3 MiB instead of 9.2).
   * @defaultValue 1
   */
  gzipLevel: number;
  /**
   * Rows per part when a job is cut into parts (a SQL source read with COPY, through the queue): each
   * part is its own encrypted file written by its own BullMQ job, so several workers export one job and a
   * crashed worker redoes only its part. A read of fewer rows stays one file. @defaultValue 1 000 000
   */
  partRows: number;
}

export const DEFAULT_SETTINGS: Omit<ExchangeSettings, 'exchangeDir'> = {
  pageSize: 1000,
  segmentPages: 10,
  fileTtlMs: 7 * 24 * 3600 * 1000,
  providerConcurrency: 2,
  providerLeaseMs: 60_000,
  chunkSize: 64 * 1024,
  gzipLevel: 1,
  partRows: 1_000_000,
};

/** An audit record without the writer's instance id (the audit writer adds it). */
export type ExchangeAuditRecord = Omit<AuditRecord, 'instance'>;

/** The queue as the service sees it (gateway/jobs/exchange.ts implements it with BullMQ). */
export interface ExchangeQueuePort {
  enqueue(jobId: string): Promise<void>;
  schedule(subscription: Subscription): Promise<void>;
  unschedule(subscriptionId: string): Promise<void>;
}

export interface ExchangeDeps {
  redis: RedisClient;
  /** GOVSHARE_REDIS_PREFIX. */
  prefix: string;
  catalog: { publishedEntry(code: string): Promise<PublishedEntry | null> };
  grants: {
    get(id: string): Promise<Grant | undefined>;
    findActive(deptCode: string, systemId: string, resourceCode: string): Promise<Grant | undefined>;
  };
  /**
   * Data-use terms ([XY] 25, 33): the version a consumer department accepted, and whether every resource
   * must carry terms. No check when absent.
   */
  useTerms?: {
    acceptedVersion(deptCode: string, resourceCode: string, current: string): Promise<string | undefined>;
    required: boolean;
  };
  certs: { getCertificate(serial: string): Promise<CertificateRecord | null> };
  /**
   * GOVSHARE_MACHINE_CALLS: a job or subscription on a grant the bureau marked machineToMachine may omit
   * the acting official (x-user-id); every other one names it (USER_ID_REQUIRED). @defaultValue false
   */
  machineCallsAllowed?: boolean;
  /** A ConnectorRegistry. */
  connectors: { get(service: DataService, shape?: ServiceShape): Connector };
  platform: { platformSigner: Signer; signingCertX509: X509Certificate; subjectHmacKey: Buffer };
  /** Durable audit write (the gateway's AuditWriter.append with its instance id). */
  audit(record: ExchangeAuditRecord): Promise<unknown>;
  queue: ExchangeQueuePort;
  /** Epoch ms. @defaultValue Date.now */
  now?: () => number;
  settings: Partial<ExchangeSettings> & Pick<ExchangeSettings, 'exchangeDir'>;
}

export function settingsOf(deps: Pick<ExchangeDeps, 'settings'>): ExchangeSettings {
  const settings = { ...DEFAULT_SETTINGS, ...deps.settings };
  const positive: (keyof ExchangeSettings)[] = [
    'pageSize',
    'segmentPages',
    'fileTtlMs',
    'providerConcurrency',
    'providerLeaseMs',
    'partRows',
  ];
  for (const name of positive) {
    const value = settings[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new RangeError(`exchange setting ${name} must be a positive integer`);
    }
  }
  return settings;
}

export const nowOf = (deps: Pick<ExchangeDeps, 'now'>): number => (deps.now ?? Date.now)();
