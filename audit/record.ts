/**
 * One audit record: written for every data request (allowed or denied), every exchange job step and
 * every administrative action. This TypeBox object is the single source of the shape: the writer
 * validates against it, search returns it, the docs are generated from its descriptions.
 *
 * Subjects (the citizens or companies looked up) never appear in clear: only their keyed hashes
 * (see subject.ts), so "who looked up this person" can be answered without the trail holding ID numbers.
 */
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { MAX_LOOKUP_VALUES } from '../connectors/wire.js';

/** Gateway instance ids name Redis keys and index members (`<instance>|<stream id>`), hence the narrow set. */
export const INSTANCE_ID_PATTERN = '^[A-Za-z0-9._-]{1,64}$';
/** ISO 8601 UTC with milliseconds, as `Date#toISOString()` writes it. */
export const ISO_MS_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$';
const SHA256_HEX_PATTERN = '^[0-9a-f]{64}$';

const Text = (maxLength: number, description: string) =>
  Type.String({ minLength: 1, maxLength, description });

export const AuditKind = Type.Union([Type.Literal('data'), Type.Literal('admin'), Type.Literal('exchange')], {
  description: 'data = a data request, admin = an administrative action, exchange = a bulk exchange step',
});
export type AuditKind = Static<typeof AuditKind>;

export const AuditDecision = Type.Union(
  [Type.Literal('allow'), Type.Literal('deny'), Type.Literal('error')],
  {
    description: 'allow = served, deny = refused by a rule (see reasonCode), error = failed while serving',
  },
);
export type AuditDecision = Static<typeof AuditDecision>;

export const AuditActor = Type.Object(
  {
    deptCode: Type.Optional(Text(32, 'Calling department (unified social credit code)')),
    systemId: Type.Optional(Text(64, 'Calling system of that department')),
    userId: Type.Optional(Text(128, 'Official acting through the system (x-user-id)')),
    caseId: Type.Optional(Text(128, 'Case or matter the request serves (x-case-id)')),
    certSerial: Type.Optional(Text(64, 'Serial number (lowercase hex) of the certificate that signed')),
    person: Type.Optional(Text(256, 'JWT subject of the person, for administrative actions')),
    role: Type.Optional(Text(32, 'Role the person acted in (bureau, dept-admin, auditor, security-admin)')),
  },
  { additionalProperties: false, description: 'Who: department, system, person, certificate' },
);
export type AuditActor = Static<typeof AuditActor>;

export const AuditRecord = Type.Object(
  {
    time: Type.String({ pattern: ISO_MS_PATTERN, description: 'When the request arrived (UTC, ms)' }),
    requestId: Text(128, 'Request id, also in the problem details and the response headers'),
    instance: Type.String({ pattern: INSTANCE_ID_PATTERN, description: 'Gateway instance that wrote it' }),
    kind: AuditKind,
    actor: AuditActor,
    action: Type.String({
      pattern: '^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)+$',
      maxLength: 64,
      description: "What was done, e.g. 'data.lookup', 'catalog.approve', 'cert.revoke'",
    }),
    resource: Type.Optional(Text(64, 'Catalog resource code')),
    providerDept: Type.Optional(Text(32, 'Department providing the resource (unified social credit code)')),
    grantId: Type.Optional(Text(128, 'Grant the request was decided under')),
    investigation: Type.Optional(
      Type.Literal(true, {
        description:
          'The grant carried the investigation flag when the call was made: citizens see the call only after the transparency delay',
      }),
    ),
    purpose: Type.Optional(Text(256, 'Declared purpose (x-purpose)')),
    items: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
        maxItems: 500,
        description: 'Items returned',
      }),
    ),
    rowCount: Type.Optional(Type.Integer({ minimum: 0, description: 'Rows returned' })),
    subjects: Type.Optional(
      Type.Array(Type.String({ pattern: SHA256_HEX_PATTERN }), {
        // Every key of the largest batch a connector takes: each person looked up must be findable.
        maxItems: MAX_LOOKUP_VALUES,
        description: 'Key values looked up, as HMAC-SHA-256 hex under the platform subject secret',
      }),
    ),
    decision: AuditDecision,
    reasonCode: Type.Optional(
      Type.String({
        pattern: '^[A-Z][A-Z0-9_]{1,63}$',
        description: 'Stable reason code of a deny or error',
      }),
    ),
    status: Type.Integer({
      minimum: 100,
      maximum: 599,
      description:
        'HTTP status answered; 100 on a request.received record, written before an administrative change is attempted',
    }),
    latencyMs: Type.Number({ minimum: 0, description: 'Time spent serving, in milliseconds' }),
    requestSignatureHash: Type.Optional(
      Type.String({ pattern: SHA256_HEX_PATTERN, description: 'SHA-256 hex of the Signature header value' }),
    ),
    responseDigest: Type.Optional(
      Type.String({ pattern: SHA256_HEX_PATTERN, description: 'SHA-256 hex of the response body' }),
    ),
    detail: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), {
        maxProperties: 20,
        description: 'Small object for administrative actions, e.g. the target id and the reason',
      }),
    ),
    hashAlg: Type.Optional(
      Type.Literal('sm3', {
        description:
          'Set by the writer on a gm platform: the chain hash and the Merkle tree over this record use SM3 (absent: SHA-256)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type AuditRecord = Static<typeof AuditRecord>;

/** A stored record as search returns it: the record plus where it sits in its instance's chain. */
export type StoredAuditRecord = AuditRecord & { id: string; seq: number };

/** Compiled once: checking a record costs a few microseconds on the request path. */
export const auditRecordChecker = TypeCompiler.Compile(AuditRecord);
