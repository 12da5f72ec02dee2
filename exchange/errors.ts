/**
 * Errors of bulk exchange jobs and subscriptions. The deny codes of `decide` (GRANT_MISSING,
 * MODE_NOT_GRANTED, …) are thrown as the policies constructors, not redefined here.
 *
 * `permanent` in the docs below means: a worker marks the job failed at once (BullMQ UnrecoverableError)
 * instead of retrying, because trying again cannot succeed.
 */
import { createError, type FastifyErrorConstructor } from '@fastify/error';

export const exchangeErrors = {
  EXCHANGE_REQUEST_INVALID: createError('EXCHANGE_REQUEST_INVALID', '%s', 422),
  EXCHANGE_FILTER_CONFLICT: createError('EXCHANGE_FILTER_CONFLICT', '%s', 422),
  EXCHANGE_RESOURCE_NOT_FOUND: createError('EXCHANGE_RESOURCE_NOT_FOUND', '%s', 404),
  EXCHANGE_RESOURCE_NO_SERVICE: createError('EXCHANGE_RESOURCE_NO_SERVICE', '%s', 422),
  EXCHANGE_INCREMENTAL_UNSUPPORTED: createError('EXCHANGE_INCREMENTAL_UNSUPPORTED', '%s', 422),
  EXCHANGE_CERT_UNUSABLE: createError('EXCHANGE_CERT_UNUSABLE', '%s', 422),
  EXCHANGE_JOB_NOT_FOUND: createError('EXCHANGE_JOB_NOT_FOUND', '%s', 404),
  EXCHANGE_JOB_NOT_READY: createError('EXCHANGE_JOB_NOT_READY', '%s', 409),
  EXCHANGE_FILE_EXPIRED: createError('EXCHANGE_FILE_EXPIRED', '%s', 410),
  EXCHANGE_PART_NOT_FOUND: createError('EXCHANGE_PART_NOT_FOUND', '%s', 404),
  EXCHANGE_TERMS_CHANGED: createError('EXCHANGE_TERMS_CHANGED', '%s', 409),
  EXCHANGE_RUN_SUPERSEDED: createError('EXCHANGE_RUN_SUPERSEDED', '%s', 409),
  EXCHANGE_FILE_CORRUPT: createError('EXCHANGE_FILE_CORRUPT', '%s', 500),
  EXCHANGE_KEY_LOST: createError('EXCHANGE_KEY_LOST', '%s', 500),
  EXCHANGE_SUBSCRIPTION_NOT_FOUND: createError('EXCHANGE_SUBSCRIPTION_NOT_FOUND', '%s', 404),
  EXCHANGE_SUBSCRIPTION_EXISTS: createError('EXCHANGE_SUBSCRIPTION_EXISTS', '%s', 409),
  EXCHANGE_JOB_NOT_FAILED: createError('EXCHANGE_JOB_NOT_FAILED', '%s', 409),
  EXCHANGE_JOB_OFFLINE: createError('EXCHANGE_JOB_OFFLINE', '%s', 409),
  OFFLINE_REQUEST_NOT_FOUND: createError('OFFLINE_REQUEST_NOT_FOUND', '%s', 404),
  OFFLINE_REQUEST_INVALID: createError('OFFLINE_REQUEST_INVALID', '%s', 422),
  OFFLINE_DECISION_INVALID: createError('OFFLINE_DECISION_INVALID', '%s', 422),
  OFFLINE_STATE_CONFLICT: createError('OFFLINE_STATE_CONFLICT', '%s', 409),
  OFFLINE_APPROVAL_REQUIRED: createError('OFFLINE_APPROVAL_REQUIRED', '%s', 403),
} satisfies Record<string, FastifyErrorConstructor>;

export type ExchangeErrorCode = keyof typeof exchangeErrors;

export const exchangeErrorDocs: Record<ExchangeErrorCode, string> = {
  EXCHANGE_REQUEST_INVALID:
    'The job or subscription request is malformed (resource, items, filter, kind, format, since, schedule); permanent.',
  EXCHANGE_FILTER_CONFLICT:
    "The request's filter contradicts the grant's row filter (same item, another value): the file would be empty.",
  EXCHANGE_RESOURCE_NOT_FOUND: 'No published catalog entry has this resource code.',
  EXCHANGE_RESOURCE_NO_SERVICE:
    'The catalog entry mounts no data service, so there is nothing to export; permanent.',
  EXCHANGE_INCREMENTAL_UNSUPPORTED:
    "Incremental exports need a watermark item in the entry's data service (e.g. an update time); this one has none.",
  EXCHANGE_CERT_UNUSABLE:
    "The calling system's certificate (the file is encrypted for it) is unknown, revoked, expired or not its own; permanent.",
  EXCHANGE_JOB_NOT_FOUND:
    'No exchange job with this id is visible to the calling system (jobs of other systems are never revealed).',
  EXCHANGE_JOB_NOT_READY: 'The job has not completed (or it failed): there is no file to download yet.',
  EXCHANGE_FILE_EXPIRED: 'The file passed its retention time and was deleted: submit a new job.',
  EXCHANGE_PART_NOT_FOUND:
    'The job has no such part: a job cut into parts is downloaded part by part (its manifest lists them), a job of one file only as a whole.',
  EXCHANGE_TERMS_CHANGED:
    'The catalog entry or the grant changed since the job was submitted, so the file would mix two sets of rules; permanent.',
  EXCHANGE_RUN_SUPERSEDED:
    'Another worker took the job over (this one was presumed dead); this run stops and leaves the job to it.',
  EXCHANGE_FILE_CORRUPT:
    'The finished file did not decrypt and verify on the platform; the job is rebuilt from the start.',
  EXCHANGE_KEY_LOST:
    "The platform's sealed copy of the job's data key is gone (or no longer opens), so the file cannot be continued; permanent.",
  EXCHANGE_SUBSCRIPTION_NOT_FOUND: 'No subscription with this id is visible to the calling system.',
  EXCHANGE_SUBSCRIPTION_EXISTS:
    'The grant already has a subscription (one schedule per grant): change or delete it.',
  EXCHANGE_JOB_NOT_FAILED:
    'Only a failed job is retried; this one is queued, running, completed or expired (or was retried already).',
  EXCHANGE_JOB_OFFLINE:
    'The job produced an offline package ([HB-S] 16): it is delivered on a medium, never downloaded over the network.',
  OFFLINE_REQUEST_NOT_FOUND:
    'No offline request with this id is visible to you (those of other departments are never revealed).',
  OFFLINE_REQUEST_INVALID:
    "The offline request cannot be made as asked: the system or its certificate is not the department's own, or it has no active certificate to encrypt for.",
  OFFLINE_DECISION_INVALID:
    "A refusal needs a reason, and an approval over the provider's objection needs an answer to it ([HB-S] 16, 19–21).",
  OFFLINE_STATE_CONFLICT:
    'The offline request is not in a state that allows this step (e.g. decided already, objected twice, not produced yet, handed over already).',
  OFFLINE_APPROVAL_REQUIRED:
    'An offline package is produced only under a live approval of the bureau, once ([HB-S] 16): this request was not approved, its approval expired, or it was used already. The attempt is audited.',
};

/** Error codes after which a job is failed at once rather than retried. */
export const PERMANENT_CODES: ReadonlySet<string> = new Set([
  'EXCHANGE_REQUEST_INVALID',
  'EXCHANGE_FILTER_CONFLICT',
  'EXCHANGE_RESOURCE_NOT_FOUND',
  'EXCHANGE_RESOURCE_NO_SERVICE',
  'EXCHANGE_INCREMENTAL_UNSUPPORTED',
  'EXCHANGE_CERT_UNUSABLE',
  'EXCHANGE_JOB_NOT_FOUND',
  'EXCHANGE_TERMS_CHANGED',
  'EXCHANGE_KEY_LOST',
  'OFFLINE_APPROVAL_REQUIRED',
  // the provider's database refused a value of the job (e.g. its since): a retry sends the same value
  'SQL_PARAMETER_INVALID',
  // deny codes of policies/decide.ts
  'RESOURCE_WITHDRAWN',
  'RESOURCE_SUSPENDED',
  'RESOURCE_NOT_SHARED',
  'GRANT_MISSING',
  'GRANT_SUSPENDED',
  'GRANT_REVOKED',
  'GRANT_EXPIRED',
  'GRANT_NOT_YET_VALID',
  'MODE_NOT_GRANTED',
  'PURPOSE_MISMATCH',
  'ITEM_NOT_GRANTED',
  'ITEM_UNKNOWN',
  'CONTROL_PARAM_MISSING',
  // connectors: the provider refuses the request itself, or the data service cannot be used
  'UPSTREAM_REJECTED',
  'CONNECTOR_CONFIG_INVALID',
  // the envelope: the recipient key cannot be used
  'ENVELOPE_RECIPIENT_INVALID',
]);

export function isPermanentError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && PERMANENT_CODES.has(code);
}

/** A stable code and a message for the job record, from any error. */
export function errorSummary(error: unknown): { code: string; message: string } {
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(e.code) ? e.code : 'INTERNAL';
  const message = typeof e?.message === 'string' && e.message ? e.message : 'unexpected failure';
  return { code, message: message.slice(0, 500) };
}
