/**
 * Audit records of bulk exchange (kind `exchange`): every job writes one on submission (allowed or
 * denied), one per run started (resumes included), one when a run is interrupted and will be retried,
 * one on completion (rows delivered, items, file digest) or failure, and one when its file expires.
 * Subscriptions write one when created and one when deleted.
 * The request id of a job's records is the job id, so an auditor finds a job's whole history with it.
 * Each names the official the job acts for (`actor.userId`), as a data call's record does.
 */
import type { ExchangeAuditRecord } from './deps.js';
import type { ExchangeJob } from './schema.js';

export type ExchangeAction =
  | 'exchange.submit'
  | 'exchange.start'
  | 'exchange.interrupt'
  | 'exchange.complete'
  | 'exchange.fail'
  | 'exchange.expire'
  | 'exchange.subscribe'
  | 'exchange.unsubscribe';

export interface JobAuditFields {
  action: ExchangeAction;
  now: number;
  decision?: ExchangeAuditRecord['decision'];
  status?: number;
  reasonCode?: string;
  rowCount?: number;
  latencyMs?: number;
  requestId?: string;
  detail?: Record<string, unknown>;
}

export function jobAudit(
  job: Pick<ExchangeJob, 'id' | 'consumer' | 'resource' | 'grantId' | 'purpose' | 'items'> &
    Partial<Pick<ExchangeJob, 'kind' | 'format' | 'subscriptionId' | 'retryOf' | 'providerCode'>>,
  fields: JobAuditFields,
): ExchangeAuditRecord {
  const detail: Record<string, unknown> = { jobId: job.id };
  if (job.kind) detail.kind = job.kind;
  if (job.format) detail.format = job.format;
  if (job.subscriptionId) detail.subscriptionId = job.subscriptionId;
  if (job.retryOf) detail.retryOf = job.retryOf;
  Object.assign(detail, fields.detail);
  return {
    time: new Date(fields.now).toISOString(),
    requestId: fields.requestId ?? job.id,
    kind: 'exchange',
    actor: {
      deptCode: job.consumer.deptCode,
      systemId: job.consumer.systemId,
      certSerial: job.consumer.certSerial,
      // The official the job acts for (x-user-id at submission or subscription): every record names them.
      ...(job.consumer.userId ? { userId: job.consumer.userId } : {}),
    },
    action: fields.action,
    resource: job.resource,
    ...(job.providerCode ? { providerDept: job.providerCode } : {}),
    ...(job.grantId ? { grantId: job.grantId } : {}),
    purpose: job.purpose,
    ...(job.items.length > 0 ? { items: [...job.items] } : {}),
    ...(fields.rowCount === undefined ? {} : { rowCount: fields.rowCount }),
    decision: fields.decision ?? 'allow',
    ...(fields.reasonCode === undefined ? {} : { reasonCode: fields.reasonCode }),
    status: fields.status ?? 200,
    latencyMs: Math.max(0, fields.latencyMs ?? 0),
    detail,
  };
}
