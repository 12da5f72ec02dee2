/**
 * Errors of the audit trail. Writing failures map to 503: the gateway answers "try again" and releases
 * no data, because a request that cannot be recorded must not be served.
 */
import { createError } from '@fastify/error';

export const AuditWriteFailed = createError('AUDIT_WRITE_FAILED', '%s', 503);
export const AuditChainConflict = createError('AUDIT_CHAIN_CONFLICT', '%s', 503);
export const AuditChainBroken = createError('AUDIT_CHAIN_BROKEN', '%s', 503);
export const AuditWriterClosed = createError('AUDIT_WRITER_CLOSED', '%s', 503);
export const AuditRecordInvalid = createError('AUDIT_RECORD_INVALID', '%s', 500);
export const AuditSetupInvalid = createError('AUDIT_SETUP_INVALID', '%s', 500);
export const AuditQueryInvalid = createError('AUDIT_QUERY_INVALID', '%s', 400);
export const AuditBacklog = createError('AUDIT_BACKLOG', '%s', 503);
export const AuditStoreUnavailable = createError('AUDIT_STORE_UNAVAILABLE', '%s', 503);
export const AuditShippingBroken = createError('AUDIT_SHIPPING_BROKEN', '%s', 500);
export const AuditTsaUnavailable = createError('AUDIT_TSA_UNAVAILABLE', '%s', 502);
export const AuditTimestampRefused = createError('AUDIT_TIMESTAMP_REFUSED', '%s', 502);
export const AuditTimestampInvalid = createError('AUDIT_TIMESTAMP_INVALID', '%s', 422);
export const AuditRecordUnknown = createError('AUDIT_RECORD_UNKNOWN', '%s', 404);
export const AuditProofPending = createError('AUDIT_PROOF_PENDING', '%s', 409);
export const AuditProofInvalid = createError('AUDIT_PROOF_INVALID', '%s', 422);
export const TransparencySubjectInvalid = createError('TRANSPARENCY_SUBJECT_INVALID', '%s', 400);
export const TransparencyPortalOnly = createError('TRANSPARENCY_PORTAL_ONLY', '%s', 403);

export const auditErrors = {
  AUDIT_WRITE_FAILED: AuditWriteFailed,
  AUDIT_CHAIN_CONFLICT: AuditChainConflict,
  AUDIT_CHAIN_BROKEN: AuditChainBroken,
  AUDIT_WRITER_CLOSED: AuditWriterClosed,
  AUDIT_RECORD_INVALID: AuditRecordInvalid,
  AUDIT_SETUP_INVALID: AuditSetupInvalid,
  AUDIT_QUERY_INVALID: AuditQueryInvalid,
  AUDIT_BACKLOG: AuditBacklog,
  AUDIT_STORE_UNAVAILABLE: AuditStoreUnavailable,
  AUDIT_SHIPPING_BROKEN: AuditShippingBroken,
  AUDIT_TSA_UNAVAILABLE: AuditTsaUnavailable,
  AUDIT_TIMESTAMP_REFUSED: AuditTimestampRefused,
  AUDIT_TIMESTAMP_INVALID: AuditTimestampInvalid,
  AUDIT_RECORD_UNKNOWN: AuditRecordUnknown,
  AUDIT_PROOF_PENDING: AuditProofPending,
  AUDIT_PROOF_INVALID: AuditProofInvalid,
} as const;

/** Citizen transparency queries (transparency.ts and the gateway's /v1/transparency route). */
export const transparencyErrors = {
  TRANSPARENCY_SUBJECT_INVALID: TransparencySubjectInvalid,
  TRANSPARENCY_PORTAL_ONLY: TransparencyPortalOnly,
} as const;

export const auditErrorDocs: Record<keyof typeof auditErrors, string> = {
  AUDIT_WRITE_FAILED:
    'The audit record could not be written to Redis (unreachable, timed out or backlog full); no data was released. Retry later.',
  AUDIT_CHAIN_CONFLICT:
    "The instance's chain head in Redis was not what this writer expected (another process uses the same instance id, or a write was lost); the writer resynchronized, retry the request.",
  AUDIT_CHAIN_BROKEN:
    "The instance's audit stream holds entries beyond its chain head; writing stops until an auditor runs the verifier and an operator repairs the chain.",
  AUDIT_WRITER_CLOSED: 'The audit writer was closed (the process is shutting down); no data was released.',
  AUDIT_RECORD_INVALID: 'The gateway built an audit record that does not match the record schema (a bug).',
  AUDIT_SETUP_INVALID:
    'The audit trail was configured with a bad instance id, signing key, certificate or subject secret.',
  AUDIT_QUERY_INVALID: 'The audit search or export query is malformed; the message names the field.',
  AUDIT_BACKLOG:
    'More audit records wait to be shipped to the PostgreSQL audit store than the high-water mark allows (GOVSHARE_AUDIT_BACKLOG_MAX): the store is down or behind. No data is released until the shipper catches up; retry later.',
  AUDIT_STORE_UNAVAILABLE:
    'The PostgreSQL audit store could not be reached or answered with an error; audit search and shipping resume when it is back.',
  AUDIT_SHIPPING_BROKEN:
    'A record in the stream does not continue the chain already shipped to PostgreSQL (wrong seq, prev or hash): shipping of that instance stops until an operator runs `govshare audit verify`.',
  AUDIT_TSA_UNAVAILABLE:
    'The RFC 3161 time-stamping authority (GOVSHARE_AUDIT_TSA_URL) could not be reached, timed out or did not answer with a timestamp reply; the checkpoint stays signed without a timestamp.',
  AUDIT_TIMESTAMP_REFUSED:
    'The time-stamping authority answered, but did not grant a timestamp (the message gives its status and failure info); the checkpoint stays signed without a timestamp.',
  AUDIT_TIMESTAMP_INVALID:
    'An RFC 3161 timestamp token does not verify: it is malformed, covers another digest or nonce, its signature is bad, or its signer does not chain to the configured TSA trust anchor or lacks the critical timeStamping key usage.',
  AUDIT_RECORD_UNKNOWN: 'No audit record names this request id (or, with seq, none at that seq).',
  AUDIT_PROOF_PENDING:
    'The record is not covered by a signed checkpoint with a tree head yet (checkpoints follow every 1000 records or 10 s); retry shortly. Records covered only by checkpoints from before tree heads get no proof.',
  AUDIT_PROOF_INVALID:
    'An inclusion proof does not verify: malformed, a certificate that is not the platform signing certificate of the given CA, a bad checkpoint signature, or an audit path that does not lead from the record to the signed root.',
};

export const transparencyErrorDocs: Record<keyof typeof transparencyErrors, string> = {
  TRANSPARENCY_SUBJECT_INVALID:
    'A transparency query needs the signed header x-subject-id holding the resident ID number (GB 11643-1999) of the person the portal verified; it is missing or not a valid number (the message never repeats it).',
  TRANSPARENCY_PORTAL_ONLY:
    "Only a system the bureau made a citizen portal (role `portal`) may ask who used a person's record; the refusal is audited.",
};
