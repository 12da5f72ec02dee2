/**
 * A grant (授权): the decision that lets one system of one consumer department use some items of one
 * resource, for stated purposes, in stated modes, for a time ([HB-S] 24; [HC-R] 27, 32).
 * The TypeBox objects here are the single source of the shape: API validation, OpenAPI and types.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { checkUscc } from '../catalog/identifiers.js';
import {
  ITEM_NAME_PATTERN,
  RESOURCE_CODE_PATTERN,
  type ResourceEntry,
  USCC_PATTERN,
} from '../catalog/schema.js';
import { parseInstant } from '../platform/instant.js';
import {
  GRANT_APPLICATION_REQUIRED,
  GRANT_BASIS_REQUIRED,
  GRANT_FORBIDDEN,
  GRANT_INVALID,
  ITEM_NOT_SHAREABLE,
  RESOURCE_CLASSIFIED_NOT_GRANTABLE,
  RESOURCE_NOT_GRANTABLE,
} from './errors.js';

/** Purposes travel in the `x-purpose` header, so they are short ASCII tokens. */
export const PURPOSE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$';
/** System ids appear in `urn:govshare:<deptCode>:<systemId>`, so no colon. */
export const SYSTEM_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
/** An ISO 8601 instant with an explicit offset; `Date.parse` then checks that the date is real. */
export const INSTANT_PATTERN =
  '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$';

const Instant = (description: string) => Type.String({ pattern: INSTANT_PATTERN, description });

export const Role = Type.Union(
  [
    Type.Literal('bureau'),
    Type.Literal('dept-admin'),
    Type.Literal('auditor'),
    Type.Literal('security-admin'),
  ],
  { description: 'Role of a person (JWT); dept-admin is bound to one department' },
);
export type Role = Static<typeof Role>;

/** A person acting on grants. */
export const Actor = Type.Object(
  {
    role: Role,
    name: Type.String({ minLength: 1, maxLength: 100 }),
    dept: Type.Optional(Type.String({ pattern: USCC_PATTERN, description: 'Department of a dept-admin' })),
  },
  { additionalProperties: false },
);
export type Actor = Static<typeof Actor>;

export const GrantMode = Type.Union([Type.Literal('api'), Type.Literal('bulk')], {
  description: 'api: keyed queries through the gateway; bulk: library-table or bulk exchange jobs',
});
export type GrantMode = Static<typeof GrantMode>;

export const CustomMask = Type.Object(
  {
    keepStart: Type.Integer({ minimum: 0, maximum: 64, description: 'Characters kept at the start' }),
    keepEnd: Type.Integer({ minimum: 0, maximum: 64, description: 'Characters kept at the end' }),
    char: Type.Optional(
      Type.String({ minLength: 1, maxLength: 1, description: 'Mask character; default *' }),
    ),
  },
  { additionalProperties: false },
);
export type CustomMask = Static<typeof CustomMask>;

export const MaskSetting = Type.Union([Type.Literal('default'), Type.Literal('none'), CustomMask], {
  description:
    "'default': the item's sensitive kind decides (unmasked if not sensitive); 'none': lift masking; or a custom rule",
});
export type MaskSetting = Static<typeof MaskSetting>;

export const Quota = Type.Object(
  {
    perMinute: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    perDay: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100_000_000, description: 'Calendar day in CST' }),
    ),
  },
  { additionalProperties: false },
);
export type Quota = Static<typeof Quota>;

export const RowFilter = Type.Object(
  {
    item: Type.String({ pattern: ITEM_NAME_PATTERN }),
    equals: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'Rows pass when String(value) equals this',
    }),
  },
  { additionalProperties: false, description: 'Only rows whose item equals the value, e.g. a division code' },
);
export type RowFilter = Static<typeof RowFilter>;

export const GrantStatus = Type.Union([
  Type.Literal('active'),
  Type.Literal('suspended'),
  Type.Literal('revoked'),
  Type.Literal('expired'),
]);
export type GrantStatus = Static<typeof GrantStatus>;

export const GrantSource = Type.Union([
  Type.Object({ kind: Type.Literal('direct') }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('application'),
      applicationId: Type.String({ minLength: 1, maxLength: 100 }),
      peerPlatformId: Type.Optional(
        Type.String({
          pattern: '^[a-z0-9][a-z0-9-]{1,62}$',
          description:
            'The peer platform that forwarded the application: the grant serves only calls that peer forwards',
        }),
      ),
    },
    { additionalProperties: false },
  ),
]);
export type GrantSource = Static<typeof GrantSource>;

export const StatusChange = Type.Object(
  {
    status: GrantStatus,
    at: Instant('When'),
    by: Actor,
    reason: Type.String({ minLength: 1, maxLength: 2000 }),
  },
  { additionalProperties: false },
);
export type StatusChange = Static<typeof StatusChange>;

/**
 * The provider's written consent to pass the granted data on to another department or unit
 * ([HB-S] 14; [HC-R] 37): without one, a grant is for the consumer's own use only.
 */
export const OnwardConsent = Type.Object(
  {
    recipientDept: Type.String({
      pattern: USCC_PATTERN,
      description: 'USCC of the department or unit it may go to',
    }),
    recipientName: Type.String({ minLength: 1, maxLength: 200 }),
    purpose: Type.String({ minLength: 1, maxLength: 500, description: 'What the recipient may use it for' }),
    document: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'Reference of the written consent (e.g. the provider’s letter number 文号)',
    }),
    consentedBy: Actor,
    consentedAt: Instant('Platform record time of the consent'),
  },
  { additionalProperties: false },
);
export type OnwardConsent = Static<typeof OnwardConsent>;

const scope = {
  deptCode: Type.String({ pattern: USCC_PATTERN, description: 'USCC of the consumer department' }),
  systemId: Type.String({
    pattern: SYSTEM_ID_PATTERN,
    description: 'The consumer system the data may be used by',
  }),
  resourceCode: Type.String({ pattern: RESOURCE_CODE_PATTERN }),
  items: Type.Array(Type.String({ pattern: ITEM_NAME_PATTERN }), {
    minItems: 1,
    maxItems: 500,
    uniqueItems: true,
  }),
  purposes: Type.Array(Type.String({ pattern: PURPOSE_PATTERN }), {
    minItems: 1,
    maxItems: 50,
    uniqueItems: true,
  }),
  modes: Type.Array(GrantMode, { minItems: 1, uniqueItems: true }),
};

/**
 * The grant serves a confidential investigation: every call under it is flagged in its audit record, and
 * a citizen's transparency query shows those calls only after the platform's delay
 * (GOVSHARE_TRANSPARENCY_DELAY_DAYS), so that the person looked into is not warned while it runs.
 */
const InvestigationFlag = Type.Boolean({
  description:
    "Calls under this grant serve a confidential investigation: citizens see them only after the platform's transparency delay",
});

/** What an API caller posts to create a grant. */
export const GrantRequest = Type.Object(
  {
    ...scope,
    validFrom: Type.Optional(Instant('Start of validity; now when omitted')),
    validTo: Instant('End of validity (exclusive)'),
    quota: Type.Optional(Quota),
    masking: Type.Optional(Type.Record(Type.String({ pattern: ITEM_NAME_PATTERN }), MaskSetting)),
    rowFilter: Type.Optional(RowFilter),
    signResponses: Type.Optional(Type.Boolean({ description: 'Every data response must be signed' })),
    investigation: Type.Optional(InvestigationFlag),
    machineToMachine: Type.Optional(
      Type.Boolean({
        description:
          'Machine-to-machine use: data calls may omit x-user-id when the platform allows it (GOVSHARE_MACHINE_CALLS); only the bureau may set it',
      }),
    ),
    basis: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2000,
        description:
          'Legal basis or reason of a direct grant, recorded on the grant and sent to the provider; required of the bureau ([HB-S] 21)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type GrantRequest = Static<typeof GrantRequest>;

export const Grant = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64 }),
    ...scope,
    providerCode: Type.String({ pattern: USCC_PATTERN, description: 'USCC of the provider department' }),
    validFrom: Instant('Start of validity'),
    validTo: Instant('End of validity (exclusive)'),
    quota: Quota,
    masking: Type.Record(Type.String({ pattern: ITEM_NAME_PATTERN }), MaskSetting),
    rowFilter: Type.Optional(RowFilter),
    signResponses: Type.Boolean(),
    investigation: Type.Optional(InvestigationFlag),
    status: GrantStatus,
    grantedBy: Actor,
    grantedAt: Instant('When the grant was made'),
    source: GrantSource,
    machineToMachine: Type.Optional(
      Type.Boolean({
        description:
          'Machine-to-machine use: data calls may omit x-user-id when the platform allows it (GOVSHARE_MACHINE_CALLS); only the bureau may set it',
      }),
    ),
    basis: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2000,
        description:
          'Legal basis or reason of a direct grant, recorded on the grant and sent to the provider; required of the bureau ([HB-S] 21)',
      }),
    ),
    statusHistory: Type.Array(StatusChange),
    onwardConsents: Type.Optional(
      Type.Array(OnwardConsent, {
        maxItems: 100,
        description: 'Written consents of the provider to pass the data on; none: own use only',
      }),
    ),
  },
  { additionalProperties: false },
);
export type Grant = Static<typeof Grant>;

/** The share type that applies to one item: its own, else the resource's ([HB-S] 7). */
export function itemShareType(resource: ResourceEntry, itemName: string) {
  const item = resource.items.find((i) => i.name === itemName);
  return item ? (item.shareType ?? resource.share.type) : undefined;
}

/**
 * Who may grant what ([HB-S] 11, 12, 19-21): the bureau grants unconditional resources without control
 * parameters, and only their unconditional items, stating the legal basis or reason; the provider's
 * dept-admin grants its own shareable resources. Conditional resources and items are granted only out of
 * an authorized application (`source` kind application, which is also how a renewal is granted): a
 * direct grant would skip the bureau's normative check and the statutory clocks. Everything else about
 * the request must be consistent with the catalog entry. Throws the first problem found; returns nothing
 * when the grant may be made.
 */
export function validateGrantCreation(
  actor: Actor,
  resource: ResourceEntry,
  input: GrantRequest,
  now: number = Date.now(),
  source: GrantSource = { kind: 'direct' },
): void {
  const shapeError = Value.Errors(GrantRequest, input).First();
  if (shapeError) {
    throw new GRANT_INVALID(`grant request${shapeError.path || ''}: ${shapeError.message}`);
  }
  if (input.resourceCode !== resource.code) {
    throw new GRANT_INVALID(
      `resourceCode "${input.resourceCode}" does not match the resource "${resource.code}"`,
    );
  }
  if (resource.share.type === 'none') {
    throw new RESOURCE_NOT_GRANTABLE(
      `resource ${resource.code} is classified not shared (不予共享) and can never be granted`,
    );
  }
  if (resource.confidentiality?.result === 'classified') {
    throw new RESOURCE_CLASSIFIED_NOT_GRANTABLE(
      `resource ${resource.code} is classified (涉密) by its confidentiality review and can never be granted ([HB-S] 3; [HC-R] 21, 39)`,
    );
  }
  checkGrantor(actor, resource);

  for (const name of input.items) {
    const type = itemShareType(resource, name);
    if (type === undefined) {
      throw new ITEM_NOT_SHAREABLE(
        `item "${name}" is not in resource ${resource.code}; its items are ${resource.items.map((i) => i.name).join(', ')}`,
      );
    }
    if (type === 'none') throw new ITEM_NOT_SHAREABLE(`item "${name}" is classified not shared (不予共享)`);
  }
  if (actor.role === 'bureau') {
    const conditional = input.items.filter((name) => itemShareType(resource, name) !== 'unconditional');
    if (conditional.length > 0) {
      throw new GRANT_FORBIDDEN(
        `items ${conditional.join(', ')} are shared on conditions: the provider ${resource.provider.code} authorizes them`,
      );
    }
  }
  if (source.kind === 'direct') checkDirectGrant(actor, resource, input);
  if (input.machineToMachine === true && actor.role !== 'bureau') {
    throw new GRANT_FORBIDDEN(
      'machineToMachine: only the bureau may exempt a grant from naming the acting official (x-user-id)',
    );
  }

  for (const mode of input.modes) {
    if (!resource.share.modes.includes(mode)) {
      throw new GRANT_INVALID(
        `resource ${resource.code} is not offered in mode "${mode}"; it offers ${resource.share.modes.join(', ')}`,
      );
    }
  }
  const itemNames = new Set(resource.items.map((i) => i.name));
  if (input.rowFilter && !itemNames.has(input.rowFilter.item)) {
    throw new GRANT_INVALID(`rowFilter item "${input.rowFilter.item}" is not in resource ${resource.code}`);
  }
  for (const name of Object.keys(input.masking ?? {})) {
    if (!input.items.includes(name)) {
      throw new GRANT_INVALID(`masking names "${name}", which is not among the granted items`);
    }
  }

  const validTo = parseInstant(input.validTo);
  const validFrom = input.validFrom === undefined ? now : parseInstant(input.validFrom);
  if (Number.isNaN(validFrom) || Number.isNaN(validTo)) {
    throw new GRANT_INVALID(
      'validFrom and validTo must be real ISO 8601 instants, e.g. 2026-01-01T00:00:00+08:00',
    );
  }
  if (validTo <= validFrom) throw new GRANT_INVALID('validTo must be after validFrom');
  if (validTo <= now) throw new GRANT_INVALID('validTo is in the past: the grant would never be usable');

  for (const [name, limit] of Object.entries(input.quota ?? {})) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new GRANT_INVALID(`quota.${name} must be a positive integer`);
    }
  }
  const dept = checkUscc(input.deptCode);
  if (!dept.ok) throw new GRANT_INVALID(`deptCode is not a valid unified social credit code: ${dept.reason}`);
}

function checkDirectGrant(actor: Actor, resource: ResourceEntry, input: GrantRequest): void {
  const conditional = input.items.filter((name) => itemShareType(resource, name) === 'conditional');
  if (conditional.length > 0) {
    const what =
      resource.share.type === 'conditional'
        ? `resource ${resource.code} is shared on conditions`
        : `items ${conditional.join(', ')} of resource ${resource.code} are shared on conditions`;
    throw new GRANT_APPLICATION_REQUIRED(
      `${what}: the consumer applies (POST /v1/applications), the bureau checks the application and the provider authorizes it; a direct grant cannot skip that procedure`,
    );
  }
  if (actor.role === 'bureau' && (input.basis ?? '').trim() === '') {
    throw new GRANT_BASIS_REQUIRED(
      'basis: state the legal basis or reason of this direct grant; it is recorded on the grant and reported to the provider',
    );
  }
}

function checkGrantor(actor: Actor, resource: ResourceEntry): void {
  if (actor.role === 'bureau') {
    if (resource.share.type !== 'unconditional') {
      throw new GRANT_FORBIDDEN(
        `resource ${resource.code} is shared on conditions: an application must be authorized by the provider ${resource.provider.code}`,
      );
    }
    if ((resource.share.controlParams ?? []).length > 0) {
      throw new GRANT_FORBIDDEN(
        `resource ${resource.code} has control parameters: the provider ${resource.provider.code} authorizes its use`,
      );
    }
    return;
  }
  if (actor.role === 'dept-admin' && actor.dept !== undefined && actor.dept === resource.provider.code)
    return;
  throw new GRANT_FORBIDDEN(
    actor.role === 'dept-admin'
      ? `only the provider department ${resource.provider.code} or the platform may grant resource ${resource.code}`
      : `role ${actor.role} may not grant resources`,
  );
}
