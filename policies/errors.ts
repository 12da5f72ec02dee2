/**
 * Every error code of the grants and access-decision library, with the HTTP status it maps to.
 *
 * Two groups:
 * - deny codes: what `decide` and `checkQuota` return on a data call (plain values, never thrown on the
 *   hot path; `denyError` turns one into a throwable error for the gateway's problem-details handler);
 * - grant errors: what creating or changing a grant throws.
 *
 * RESOURCE_NOT_SHARED appears in both: 403 when a data call reaches a not-shared resource, 422 when
 * someone tries to grant one (the request itself is unprocessable).
 */
import { createError } from '@fastify/error';

export const RESOURCE_WITHDRAWN = createError('RESOURCE_WITHDRAWN', '%s', 410);
export const RESOURCE_SUSPENDED = createError('RESOURCE_SUSPENDED', '%s', 403);
export const RESOURCE_NOT_SHARED = createError('RESOURCE_NOT_SHARED', '%s', 403);
export const RESOURCE_CLASSIFIED = createError('RESOURCE_CLASSIFIED', '%s', 403);
export const GRANT_MISSING = createError('GRANT_MISSING', '%s', 403);
export const GRANT_SUSPENDED = createError('GRANT_SUSPENDED', '%s', 403);
export const GRANT_REVOKED = createError('GRANT_REVOKED', '%s', 403);
export const GRANT_EXPIRED = createError('GRANT_EXPIRED', '%s', 403);
export const GRANT_NOT_YET_VALID = createError('GRANT_NOT_YET_VALID', '%s', 403);
export const MODE_NOT_GRANTED = createError('MODE_NOT_GRANTED', '%s', 403);
export const PURPOSE_MISMATCH = createError('PURPOSE_MISMATCH', '%s', 403);
export const ITEM_NOT_GRANTED = createError('ITEM_NOT_GRANTED', '%s', 403);
export const ITEM_UNKNOWN = createError('ITEM_UNKNOWN', '%s', 400);
export const CONTROL_PARAM_MISSING = createError('CONTROL_PARAM_MISSING', '%s', 400);
export const QUOTA_EXCEEDED = createError('QUOTA_EXCEEDED', '%s', 429);
export const TERMS_NOT_ACCEPTED = createError('TERMS_NOT_ACCEPTED', '%s', 403);
export const RESOURCE_TERMS_MISSING = createError('RESOURCE_TERMS_MISSING', '%s', 403);
export const USER_ID_REQUIRED = createError('USER_ID_REQUIRED', '%s', 400);

/** Thrown when someone asks for a grant on a not-shared resource (same code as the deny, status 422). */
export const RESOURCE_NOT_GRANTABLE = createError('RESOURCE_NOT_SHARED', '%s', 422);
/** A grant or application on a resource whose confidentiality review says classified (same code, 422). */
export const RESOURCE_CLASSIFIED_NOT_GRANTABLE = createError('RESOURCE_CLASSIFIED', '%s', 422);
export const ITEM_NOT_SHAREABLE = createError('ITEM_NOT_SHAREABLE', '%s', 422);
export const GRANT_FORBIDDEN = createError('GRANT_FORBIDDEN', '%s', 403);
export const GRANT_INVALID = createError('GRANT_INVALID', '%s', 422);
export const GRANT_NOT_FOUND = createError('GRANT_NOT_FOUND', '%s', 404);
export const GRANT_ILLEGAL_TRANSITION = createError('GRANT_ILLEGAL_TRANSITION', '%s', 409);
export const GRANT_CONFLICT = createError('GRANT_CONFLICT', '%s', 409);
export const TERMS_FORBIDDEN = createError('TERMS_FORBIDDEN', '%s', 403);
export const TERMS_NONE = createError('TERMS_NONE', '%s', 404);
export const TERMS_VERSION_STALE = createError('TERMS_VERSION_STALE', '%s', 409);
export const ONWARD_CONSENT_FORBIDDEN = createError('ONWARD_CONSENT_FORBIDDEN', '%s', 403);
export const ONWARD_CONSENT_INVALID = createError('ONWARD_CONSENT_INVALID', '%s', 422);
export const FEEDBACK_FORBIDDEN = createError('FEEDBACK_FORBIDDEN', '%s', 403);
export const GRANT_APPLICATION_REQUIRED = createError('GRANT_APPLICATION_REQUIRED', '%s', 403);
export const GRANT_BASIS_REQUIRED = createError('GRANT_BASIS_REQUIRED', '%s', 422);
export const NOTICE_TOO_SHORT = createError('NOTICE_TOO_SHORT', '%s', 422);

/** The deny constructors by code: `decide` and `checkQuota` return exactly these codes. */
export const denyErrors = {
  RESOURCE_WITHDRAWN,
  RESOURCE_SUSPENDED,
  RESOURCE_NOT_SHARED,
  RESOURCE_CLASSIFIED,
  GRANT_MISSING,
  GRANT_SUSPENDED,
  GRANT_REVOKED,
  GRANT_EXPIRED,
  GRANT_NOT_YET_VALID,
  MODE_NOT_GRANTED,
  PURPOSE_MISMATCH,
  ITEM_NOT_GRANTED,
  ITEM_UNKNOWN,
  CONTROL_PARAM_MISSING,
  QUOTA_EXCEEDED,
  TERMS_NOT_ACCEPTED,
  RESOURCE_TERMS_MISSING,
  USER_ID_REQUIRED,
} as const;

export type DenyCode = keyof typeof denyErrors;

/** The HTTP status of each deny code, read from the constructors so the two never disagree. */
export const DENY_STATUS = Object.fromEntries(
  Object.entries(denyErrors).map(([code, E]) => [code, new E('').statusCode ?? 500]),
) as Record<DenyCode, number>;

/** Every constructor of this folder (the gateway lists them in its error registry). */
export const policiesErrors = {
  ...denyErrors,
  RESOURCE_NOT_GRANTABLE,
  RESOURCE_CLASSIFIED_NOT_GRANTABLE,
  ITEM_NOT_SHAREABLE,
  GRANT_FORBIDDEN,
  GRANT_INVALID,
  GRANT_NOT_FOUND,
  GRANT_ILLEGAL_TRANSITION,
  GRANT_CONFLICT,
  TERMS_FORBIDDEN,
  TERMS_NONE,
  TERMS_VERSION_STALE,
  ONWARD_CONSENT_FORBIDDEN,
  ONWARD_CONSENT_INVALID,
  FEEDBACK_FORBIDDEN,
  GRANT_APPLICATION_REQUIRED,
  GRANT_BASIS_REQUIRED,
  NOTICE_TOO_SHORT,
} as const;

export type PoliciesErrorCode = (typeof policiesErrors)[keyof typeof policiesErrors]['prototype']['code'];

export const policiesErrorDocs: Record<PoliciesErrorCode, string> = {
  RESOURCE_WITHDRAWN:
    'The resource was withdrawn from the catalog (410 Gone: it will not come back under this code).',
  RESOURCE_SUSPENDED: 'The provider suspended the resource for now; calls are refused until it is resumed.',
  RESOURCE_NOT_SHARED:
    'The resource is classified 不予共享 (not shared): 403 on a data call, 422 when someone tries to grant it.',
  RESOURCE_CLASSIFIED:
    'The confidentiality review marks the resource classified (涉密): never served, granted or applied for (403 on a data call or bulk job, 422 on a grant or application; [HB-S] 3; [HC-R] 21, 39).',
  GRANT_MISSING:
    'No grant binds this department and system to this resource; a grant of another system never applies.',
  GRANT_SUSPENDED: 'The grant is suspended by the platform or the provider.',
  GRANT_REVOKED: 'The grant was revoked (or superseded by a newer grant that is itself no longer usable).',
  GRANT_EXPIRED: 'The grant has passed its validTo instant or was marked expired.',
  GRANT_NOT_YET_VALID: 'The grant starts at its validFrom instant, which is still in the future.',
  MODE_NOT_GRANTED: 'The share mode of the call (api or bulk) is not granted or no longer offered.',
  PURPOSE_MISMATCH: 'The x-purpose of the call is not one of the purposes the grant allows.',
  ITEM_NOT_GRANTED: 'The call asks for, or queries by, an item the grant does not include.',
  ITEM_UNKNOWN: 'The call names an item the catalog entry does not have.',
  CONTROL_PARAM_MISSING:
    "The query does not supply the resource's control parameters, or an API query is not keyed by the key items.",
  QUOTA_EXCEEDED: 'The per-minute or per-day call quota of the grant is used up; retry after Retry-After.',
  USER_ID_REQUIRED:
    'A data call must name the official acting through the system in a signed x-user-id header; only grants the bureau marked machine-to-machine are exempt, and only when the platform allows it (GOVSHARE_MACHINE_CALLS).',
  ITEM_NOT_SHAREABLE: 'A grant names an item that does not exist or is itself classified not shared.',
  GRANT_FORBIDDEN:
    'The acting person may not grant this resource (the bureau grants unconditional resources, the provider the rest).',
  GRANT_INVALID:
    'The grant request is malformed or inconsistent with the resource (modes, dates, quota, filter).',
  GRANT_NOT_FOUND: 'No grant has this id.',
  GRANT_ILLEGAL_TRANSITION:
    'The status change is not allowed from the current status (revoked and expired are final).',
  GRANT_CONFLICT: 'The grant changed concurrently too many times; retry the request.',
  TERMS_NOT_ACCEPTED:
    "The consumer department has not accepted the version in force of the resource's data-use terms; the message names the version to accept ([XY] 25, 33; [HC-R] 37).",
  RESOURCE_TERMS_MISSING:
    'The platform requires data-use terms on every resource (GOVSHARE_REQUIRE_USE_TERMS) and this resource has none.',
  TERMS_FORBIDDEN: "Only an administrator of the consumer department accepts a resource's data-use terms.",
  TERMS_NONE: 'The resource carries no data-use terms to accept.',
  TERMS_VERSION_STALE: 'The version accepted is not the version of the terms in force; read them again.',
  ONWARD_CONSENT_FORBIDDEN:
    "Only an administrator of the grant's provider department records consent to onward disclosure ([HB-S] 14; [HC-R] 37).",
  ONWARD_CONSENT_INVALID:
    'The onward-disclosure consent names the consumer itself, no recipient, or an invalid department code.',
  FEEDBACK_FORBIDDEN:
    "Only an administrator of the grant's consumer department reports on the use of its data.",
  GRANT_APPLICATION_REQUIRED:
    'Conditional resources and items are granted only out of an authorized application (or its renewal), never by a direct grant ([HB-S] 19-20).',
  GRANT_BASIS_REQUIRED:
    "The bureau's direct grant of an unconditional resource must state its legal basis or reason in `basis` ([HB-S] 21).",
  NOTICE_TOO_SHORT:
    'A suspension or withdrawal of a resource or a grant takes effect no earlier than the notice period (GOVSHARE_NOTICE_WORKDAYS working days, default 5) after it is filed, unless an emergency reason is stated ([XY] 13, [JY] 19).',
};

export interface Deny {
  allow: false;
  code: DenyCode;
  status: number;
  message: string;
}

export function deny(code: DenyCode, message: string): Deny {
  return { allow: false, code, status: DENY_STATUS[code], message };
}

/** A deny as a throwable error carrying the same code, status and message. */
export function denyError(d: Pick<Deny, 'code' | 'message'>) {
  return new denyErrors[d.code](d.message);
}
