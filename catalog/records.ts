/**
 * What the catalog stores beside each entry and returns from its API: the resource record (versions in
 * force, status declarations, history) and one record per version. Dates are ISO 8601 date-times in
 * UTC, except `publishedDate`, the calendar date in China Standard Time that the national guide asks for.
 */
import { type SchemaOptions, type Static, type TLiteral, type TUnion, Type } from '@sinclair/typebox';
import { RESOURCE_CODE_PATTERN, ResourceEntry, USCC_PATTERN } from './schema.js';

const ResourceCode = Type.String({ pattern: RESOURCE_CODE_PATTERN, description: '信息资源代码' });

type Literals<T extends readonly string[]> = { -readonly [K in keyof T]: TLiteral<T[K]> };

/** A union of string literals whose static type is the union of the strings (not `string`). */
export function literalUnion<const T extends readonly string[]>(
  values: T,
  options?: SchemaOptions,
): TUnion<Literals<T>> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as unknown as TUnion<Literals<T>>;
}

export const ActorRole = literalUnion(['bureau', 'dept-admin', 'auditor', 'security-admin', 'system'], {
  description: 'bureau = platform operator; dept-admin acts for one department; system = the platform itself',
});
export type ActorRole = Static<typeof ActorRole>;

/** Who performs an action: taken from the caller's token by the gateway. */
export const ActorRef = Type.Object(
  {
    role: ActorRole,
    dept: Type.Optional(
      Type.String({ pattern: USCC_PATTERN, description: 'Department (USCC) a dept-admin acts for' }),
    ),
    name: Type.String({ minLength: 1, maxLength: 200, description: 'Person or process acting' }),
  },
  { additionalProperties: false },
);
export type ActorRef = Static<typeof ActorRef>;

export const VersionState = literalUnion(['draft', 'submitted', 'published', 'rejected', 'superseded']);
export type VersionState = Static<typeof VersionState>;

export const ResourceStatus = literalUnion(['active', 'suspended', 'withdrawn']);
export type ResourceStatus = Static<typeof ResourceStatus>;

export const CatalogAction = literalUnion([
  'create',
  'update',
  'submit',
  'approve',
  'reject',
  'propose',
  'suspend',
  'resume',
  'withdraw',
  'import',
]);
export type CatalogAction = Static<typeof CatalogAction>;

const DateTime = Type.String({ format: 'date-time' });

export const StatusDeclaration = Type.Object(
  {
    status: ResourceStatus,
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
    effectiveFrom: DateTime,
    by: ActorRef,
    at: DateTime,
  },
  { additionalProperties: false },
);
export type StatusDeclaration = Static<typeof StatusDeclaration>;

export const CatalogStatus = Type.Object(
  {
    declared: ResourceStatus,
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
    effectiveFrom: DateTime,
    timeline: Type.Array(StatusDeclaration, {
      description:
        'Every status declaration in the order filed; the effective status at time t is the last one filed whose effectiveFrom ≤ t',
    }),
  },
  {
    additionalProperties: false,
    description:
      'declared, reason and effectiveFrom repeat the latest declaration; scheduled changes have a future effectiveFrom',
  },
);
export type CatalogStatus = Static<typeof CatalogStatus>;

export const HistoryRecord = Type.Object(
  {
    action: CatalogAction,
    version: Type.Optional(Type.Integer({ minimum: 1 })),
    by: ActorRef,
    at: DateTime,
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type HistoryRecord = Static<typeof HistoryRecord>;

export const CatalogResource = Type.Object(
  {
    code: ResourceCode,
    providerCode: Type.String({ pattern: USCC_PATTERN }),
    current: Type.Optional(Type.Integer({ minimum: 1, description: 'Version in force (published)' })),
    latest: Type.Integer({ minimum: 1 }),
    status: CatalogStatus,
    history: Type.Array(HistoryRecord),
  },
  { additionalProperties: false },
);
export type CatalogResource = Static<typeof CatalogResource>;

export const CatalogVersion = Type.Object(
  {
    code: ResourceCode,
    version: Type.Integer({ minimum: 1 }),
    state: VersionState,
    entry: ResourceEntry,
    createdBy: ActorRef,
    createdAt: DateTime,
    submittedAt: Type.Optional(DateTime),
    reviewedBy: Type.Optional(ActorRef),
    reviewedAt: Type.Optional(DateTime),
    reviewReason: Type.Optional(Type.String({ maxLength: 2000 })),
    publishedDate: Type.Optional(
      Type.String({ format: 'date', description: 'CCYY-MM-DD, China Standard Time' }),
    ),
    supersededAt: Type.Optional(DateTime),
  },
  { additionalProperties: false },
);
export type CatalogVersion = Static<typeof CatalogVersion>;

/** What a write returns for the caller's audit record. */
export const CatalogChange = Type.Object(
  {
    action: CatalogAction,
    code: ResourceCode,
    version: Type.Optional(Type.Integer({ minimum: 1 })),
    by: ActorRef,
    at: DateTime,
    reason: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type CatalogChange = Static<typeof CatalogChange>;

/** The view of one resource `get` returns; `latest` is the current version for readers who may not see drafts. */
export const CatalogView = Type.Object(
  {
    resource: CatalogResource,
    effectiveStatus: ResourceStatus,
    current: Type.Optional(CatalogVersion),
    latest: Type.Optional(CatalogVersion),
  },
  { additionalProperties: false },
);
export type CatalogView = Static<typeof CatalogView>;

/** The entry in force, for the data path. */
export const PublishedEntry = Type.Object(
  {
    code: ResourceCode,
    version: Type.Integer({ minimum: 1 }),
    publishedDate: Type.String({ format: 'date' }),
    status: ResourceStatus,
    entry: ResourceEntry,
  },
  { additionalProperties: false },
);
export type PublishedEntry = Static<typeof PublishedEntry>;
