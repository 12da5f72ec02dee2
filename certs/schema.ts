/**
 * Shapes of the registry's records (departments, systems, certificates, revocations). These TypeBox
 * objects are the one definition used for validation, API documentation and TypeScript types.
 */
import { type Static, Type } from '@sinclair/typebox';
import { USCC_PATTERN } from '../catalog/schema.js';

/** System ids as chosen by a department: they appear in the SAN URI, Redis keys and file names. */
export const SYSTEM_ID_PATTERN = '^[a-z0-9][a-z0-9-]{1,62}$';
export const SYSTEM_ID_REGEXP = new RegExp(SYSTEM_ID_PATTERN);

/** Certificate serial numbers: lowercase hex, as openssl prints them lowercased (see issue.ts). */
export const SERIAL_PATTERN = '^[0-9a-f]{2,40}$';

/** The reason names of RFC 5280 section 5.3.1 that an operator may give (removeFromCRL is not a reason). */
export const REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'caCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'privilegeWithdrawn',
] as const;

export const RevocationReason = Type.Union(
  REVOCATION_REASONS.map((r) => Type.Literal(r)),
  { description: 'RFC 5280 CRLReason name' },
);
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601, UTC' });
const Name = Type.String({ minLength: 1, maxLength: 200 });

export const Department = Type.Object(
  {
    code: Type.String({
      pattern: USCC_PATTERN,
      description: 'Unified social credit code (统一社会信用代码)',
    }),
    name: Name,
    usccCheck: Type.Union([Type.Literal('passed'), Type.Literal('overridden')], {
      description: '"overridden" when an operator registered a code whose check character is wrong',
    }),
    usccCheckFailure: Type.Optional(Type.String({ description: 'What the check found, when overridden' })),
    homePlatform: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9][a-z0-9-]{1,62}$',
        description:
          "A department of a federated peer platform (that platform's id), registered here to be granted directly: it is reached only through calls and applications that peer forwards",
      }),
    ),
    createdAt: Timestamp,
  },
  { additionalProperties: false },
);
export type Department = Static<typeof Department>;

/**
 * What a system may do beyond the data calls its grants allow. `portal`: a citizen portal trusted to ask,
 * for a person whose identity it has verified, who used that person's record
 * (`GET /v1/transparency/uses`). Set by the bureau; absent means `standard`.
 */
export const SystemRole = Type.Union([Type.Literal('standard'), Type.Literal('portal')], {
  description:
    'standard: data calls under its grants; portal: also citizen transparency queries (set by the bureau)',
});
export type SystemRole = Static<typeof SystemRole>;

export const DepartmentSystem = Type.Object(
  {
    deptCode: Type.String({ pattern: USCC_PATTERN }),
    systemId: Type.String({ pattern: SYSTEM_ID_PATTERN }),
    name: Name,
    createdAt: Timestamp,
    role: Type.Optional(SystemRole),
  },
  { additionalProperties: false },
);
export type DepartmentSystem = Static<typeof DepartmentSystem>;

export const CertificateStatus = Type.Union([Type.Literal('active'), Type.Literal('revoked')], {
  description: 'Stored status; "expired" is computed from notAfter by the reader',
});
export type CertificateStatus = Static<typeof CertificateStatus>;

export const CertificateRecord = Type.Object(
  {
    serial: Type.String({ pattern: SERIAL_PATTERN, description: 'Lowercase hex; the keyid of signed calls' }),
    deptCode: Type.String({ pattern: USCC_PATTERN }),
    systemId: Type.String({ pattern: SYSTEM_ID_PATTERN }),
    notBefore: Timestamp,
    notAfter: Timestamp,
    fingerprint256: Type.String({ description: 'SHA-256 of the DER, "AB:CD:…" as node:crypto prints it' }),
    certPem: Type.String(),
    issuedAt: Timestamp,
    status: CertificateStatus,
    revokedAt: Type.Optional(Timestamp),
    revocationReason: Type.Optional(RevocationReason),
  },
  { additionalProperties: false },
);
export type CertificateRecord = Static<typeof CertificateRecord>;

/** One entry of the revoked set: what a CRL needs without reading every certificate record. */
export const RevokedEntry = Type.Object(
  {
    serial: Type.String({ pattern: SERIAL_PATTERN }),
    revokedAt: Timestamp,
    reason: RevocationReason,
    notAfter: Timestamp,
  },
  { additionalProperties: false },
);
export type RevokedEntry = Static<typeof RevokedEntry>;
