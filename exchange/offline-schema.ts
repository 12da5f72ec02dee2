/**
 * Offline (medium) exchange, [HB-S] 16: "离线文件交换须经审批". A consumer department asks for a granted
 * resource to be delivered on a medium outside the network; the bureau approves or refuses (the provider is
 * told at once and may object first); only a live approval produces a package, for one delivery. One
 * TypeBox object per shape (validation, OpenAPI, types).
 */
import { type Static, Type } from '@sinclair/typebox';
import { ActorRef } from '../catalog/records.js';
import { ITEM_NAME_PATTERN, RESOURCE_CODE_PATTERN, USCC_PATTERN } from '../catalog/schema.js';
import { SERIAL_PATTERN } from '../certs/schema.js';
import { PURPOSE_PATTERN, SYSTEM_ID_PATTERN } from '../policies/grant.js';
import { ExchangeFilter, ExchangeFormat, JOB_ID_PATTERN } from './schema.js';

/** Offline request ids: `o` and 32 lowercase hex digits. */
export const OFFLINE_ID_PATTERN = '^o[0-9a-f]{32}$';

const ISO = (description: string) =>
  Type.String({
    pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$',
    description,
  });
const Text = (max: number, description: string) =>
  Type.String({ minLength: 1, maxLength: max, pattern: '\\S', description });

export const OFFLINE_REASONS = ['volume', 'network-isolation', 'no-network-link', 'other'] as const;
export const OfflineReasonKind = Type.Union(
  OFFLINE_REASONS.map((r) => Type.Literal(r)),
  {
    description:
      'Why the data cannot go through the network: volume (too large to download in reasonable time), network-isolation (the consumer system is on an isolated network), no-network-link (no link to the platform yet), other (say which in text)',
  },
);

export const MEDIUM_KINDS = ['optical-disc', 'usb-drive', 'portable-disk', 'tape'] as const;
export const MediumKind = Type.Union(
  MEDIUM_KINDS.map((m) => Type.Literal(m)),
  { description: '光盘 optical-disc, U 盘 usb-drive, 移动硬盘 portable-disk, 磁带 tape' },
);
export type MediumKind = Static<typeof MediumKind>;

export const HandoverContact = Type.Object(
  {
    name: Text(100, 'The person of the consumer department who takes the medium over'),
    phone: Type.String({ pattern: '^[0-9+][0-9 -]{4,24}$', description: 'Office or mobile number' }),
  },
  { additionalProperties: false },
);

export const OfflineRequestBody = Type.Object(
  {
    resource: Type.String({ pattern: RESOURCE_CODE_PATTERN, description: 'Catalog resource code' }),
    systemId: Type.String({
      pattern: SYSTEM_ID_PATTERN,
      description:
        'The system of your department whose grant covers the delivery (and whose certificate the package is encrypted for)',
    }),
    certSerial: Type.Optional(
      Type.String({
        pattern: SERIAL_PATTERN,
        description:
          "Encrypt for this certificate of the system; the system's newest active one when omitted",
      }),
    ),
    purpose: Type.String({ pattern: PURPOSE_PATTERN, description: 'One of the purposes of the grant' }),
    items: Type.Optional(
      Type.Array(Type.String({ pattern: ITEM_NAME_PATTERN }), {
        minItems: 1,
        maxItems: 500,
        uniqueItems: true,
      }),
    ),
    filter: Type.Optional(ExchangeFilter),
    format: ExchangeFormat,
    reason: Type.Object(
      { kind: OfflineReasonKind, text: Text(1000, 'The reason in words') },
      { additionalProperties: false },
    ),
    medium: MediumKind,
    contact: HandoverContact,
  },
  { additionalProperties: false },
);
export type OfflineRequestBody = Static<typeof OfflineRequestBody>;

export const OfflineState = Type.Union(
  [
    'requested',
    'approved',
    'refused',
    'withdrawn',
    'producing',
    'produced',
    'handed-over',
    'received',
    'expired',
    'failed',
  ].map((s) => Type.Literal(s)),
  {
    description:
      'requested → approved | refused | withdrawn; approved → producing (once) | expired; producing → produced | failed; produced → handed-over → received',
  },
);
export type OfflineState =
  | 'requested'
  | 'approved'
  | 'refused'
  | 'withdrawn'
  | 'producing'
  | 'produced'
  | 'handed-over'
  | 'received'
  | 'expired'
  | 'failed';

export const PackageFile = Type.Object(
  {
    name: Type.String(),
    bytes: Type.Integer({ minimum: 0 }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  },
  { additionalProperties: false },
);

export const OfflineRequest = Type.Object(
  {
    id: Type.String({ pattern: OFFLINE_ID_PATTERN }),
    consumer: Type.Object(
      {
        deptCode: Type.String({ pattern: USCC_PATTERN }),
        systemId: Type.String({ pattern: SYSTEM_ID_PATTERN }),
        certSerial: Type.String({ pattern: SERIAL_PATTERN, description: 'The package is encrypted for it' }),
      },
      { additionalProperties: false },
    ),
    providerCode: Type.String({ pattern: USCC_PATTERN }),
    resource: Type.String({ pattern: RESOURCE_CODE_PATTERN }),
    grantId: Type.String({ description: 'The grant that covers the delivery; the package is pinned to it' }),
    purpose: Type.String(),
    items: Type.Array(Type.String(), { description: 'As the grant allows them, in catalog order' }),
    filter: Type.Optional(ExchangeFilter),
    format: ExchangeFormat,
    reason: Type.Object({ kind: OfflineReasonKind, text: Type.String() }, { additionalProperties: false }),
    medium: MediumKind,
    contact: HandoverContact,
    state: OfflineState,
    requestedBy: ActorRef,
    requestedAt: ISO('Platform record time of the request'),
    updatedAt: ISO('Last change'),
    objection: Type.Optional(
      Type.Object(
        { by: ActorRef, at: ISO('When the provider objected'), reason: Type.String() },
        { additionalProperties: false },
      ),
    ),
    decision: Type.Optional(
      Type.Object(
        {
          by: ActorRef,
          at: ISO('When'),
          approved: Type.Boolean(),
          reason: Type.Optional(Type.String()),
          answer: Type.Optional(
            Type.String({ description: "The bureau's answer to the provider's objection" }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    approvalExpiresAt: Type.Optional(
      ISO(
        'The approval is good for one package produced before this instant (24:00 CST of its last working day)',
      ),
    ),
    production: Type.Optional(
      Type.Object(
        {
          by: ActorRef,
          at: ISO('When the bureau ordered the package'),
          jobId: Type.String({ pattern: JOB_ID_PATTERN, description: 'The exchange job that writes it' }),
        },
        { additionalProperties: false },
      ),
    ),
    package: Type.Optional(
      Type.Object(
        {
          directory: Type.String({ description: 'Relative to the offline outbox (GOVSHARE_OFFLINE_OUTBOX)' }),
          files: Type.Array(PackageFile),
          rows: Type.Integer({ minimum: 0 }),
          producedAt: ISO('When the package was complete in the outbox'),
        },
        { additionalProperties: false },
      ),
    ),
    handover: Type.Optional(
      Type.Object(
        {
          by: ActorRef,
          at: ISO('When the medium was handed over'),
          mediumSerial: Type.String({ description: 'Serial number of the medium' }),
          handedTo: Type.String({ description: 'Who took it over' }),
        },
        { additionalProperties: false },
      ),
    ),
    receipt: Type.Optional(
      Type.Object(
        { by: ActorRef, at: ISO('When the consumer confirmed receipt'), note: Type.String() },
        { additionalProperties: false },
      ),
    ),
    error: Type.Optional(
      Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);
export type OfflineRequest = Static<typeof OfflineRequest>;

export const OfflineDecisionBody = Type.Object(
  {
    approve: Type.Boolean(),
    reason: Type.Optional(Text(1000, 'Required to refuse')),
    answer: Type.Optional(Text(1000, "Required to approve over the provider's objection")),
  },
  { additionalProperties: false },
);
export type OfflineDecisionBody = Static<typeof OfflineDecisionBody>;

export const OfflineObjectionBody = Type.Object(
  { reason: Text(1000, 'Why the provider objects to delivery on a medium') },
  { additionalProperties: false },
);

export const OfflineHandoverBody = Type.Object(
  {
    mediumSerial: Text(100, 'Serial number of the medium the package was written to'),
    handedTo: Text(100, 'Name of the person who took the medium over (the contact, or whom they sent)'),
  },
  { additionalProperties: false },
);
export type OfflineHandoverBody = Static<typeof OfflineHandoverBody>;

export const OfflineReceiptBody = Type.Object(
  { note: Type.Optional(Text(1000, 'e.g. the package decrypted and verified against its manifest')) },
  { additionalProperties: false },
);
