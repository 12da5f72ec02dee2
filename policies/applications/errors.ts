/**
 * Errors of the application workflow (申请 → 规范性检查 → 授权). Codes are stable; every message says what
 * to change (which item, which department, which state) so a department's administrator can act on it.
 */
import { createError } from '@fastify/error';

export const APPLICATION_INVALID = createError('APPLICATION_INVALID', '%s', 422);
export const APPLICATION_NOT_FOUND = createError('APPLICATION_NOT_FOUND', '%s', 404);
export const APPLICATION_FORBIDDEN = createError('APPLICATION_FORBIDDEN', '%s', 403);
export const APPLICATION_ILLEGAL_TRANSITION = createError('APPLICATION_ILLEGAL_TRANSITION', '%s', 409);
export const APPLICATION_CONFLICT = createError('APPLICATION_CONFLICT', '%s', 409);
export const APPLICATION_DUPLICATE = createError('APPLICATION_DUPLICATE', '%s', 409);
export const APPLICATION_REASON_REQUIRED = createError('APPLICATION_REASON_REQUIRED', '%s', 422);
export const APPLICATION_RESOURCE_UNKNOWN = createError('APPLICATION_RESOURCE_UNKNOWN', '%s', 404);
export const APPLICATION_RESOURCE_NOT_SHARED = createError('APPLICATION_RESOURCE_NOT_SHARED', '%s', 422);
export const APPLICATION_RESOURCE_UNAVAILABLE = createError('APPLICATION_RESOURCE_UNAVAILABLE', '%s', 422);
export const APPLICATION_ITEM_UNKNOWN = createError('APPLICATION_ITEM_UNKNOWN', '%s', 422);
export const APPLICATION_ITEM_NOT_SHARED = createError('APPLICATION_ITEM_NOT_SHARED', '%s', 422);
export const APPLICATION_SYSTEM_UNKNOWN = createError('APPLICATION_SYSTEM_UNKNOWN', '%s', 422);
export const APPLICATION_TERMS_INVALID = createError('APPLICATION_TERMS_INVALID', '%s', 422);
export const APPLICATION_ALREADY_DECIDED = createError('APPLICATION_ALREADY_DECIDED', '%s', 409);

export const applicationsErrors = {
  APPLICATION_INVALID,
  APPLICATION_NOT_FOUND,
  APPLICATION_FORBIDDEN,
  APPLICATION_ILLEGAL_TRANSITION,
  APPLICATION_CONFLICT,
  APPLICATION_DUPLICATE,
  APPLICATION_REASON_REQUIRED,
  APPLICATION_RESOURCE_UNKNOWN,
  APPLICATION_RESOURCE_NOT_SHARED,
  APPLICATION_RESOURCE_UNAVAILABLE,
  APPLICATION_ITEM_UNKNOWN,
  APPLICATION_ITEM_NOT_SHARED,
  APPLICATION_SYSTEM_UNKNOWN,
  APPLICATION_TERMS_INVALID,
  APPLICATION_ALREADY_DECIDED,
} as const;

export type ApplicationsErrorCode = keyof typeof applicationsErrors;

export const applicationsErrorDocs: Record<ApplicationsErrorCode, string> = {
  APPLICATION_INVALID:
    'The application is inconsistent with the resource (share modes not offered, validity in the past or reversed, a renewal of a grant that is not yours).',
  APPLICATION_NOT_FOUND: 'No application has this id.',
  APPLICATION_FORBIDDEN:
    'The acting person is neither the consumer, the provider nor the platform for this application, or names a system of another department.',
  APPLICATION_ILLEGAL_TRANSITION:
    'The action is not allowed in the application’s current state (e.g. authorizing an application that was withdrawn); the message lists what is allowed.',
  APPLICATION_CONFLICT: 'The application changed concurrently too many times; retry the request.',
  APPLICATION_DUPLICATE:
    'The same system already has a pending application for this resource; wait for its decision or withdraw it.',
  APPLICATION_REASON_REQUIRED: 'A rejection, refusal or withdrawal must state a reason ([HB-S] 19–21).',
  APPLICATION_RESOURCE_UNKNOWN: 'No published catalog entry has this resource code.',
  APPLICATION_RESOURCE_NOT_SHARED:
    'The resource is classified 不予共享 (not shared): nobody can apply for it.',
  APPLICATION_RESOURCE_UNAVAILABLE:
    'The resource is suspended or withdrawn by its provider; applications are refused until it is active.',
  APPLICATION_ITEM_UNKNOWN: 'The application names an item the catalog entry does not have.',
  APPLICATION_ITEM_NOT_SHARED: 'The application names an item classified 不予共享 (not shared).',
  APPLICATION_SYSTEM_UNKNOWN: 'The system is not registered under the applying department.',
  APPLICATION_TERMS_INVALID:
    'The provider’s authorization widens the application (items, modes or validity not applied for) or is otherwise inconsistent.',
  APPLICATION_ALREADY_DECIDED:
    'A lower platform withdrew an application it forwarded after this platform had decided it (granted, refused, rejected or closed): the application stays as decided; a grant it made is revoked, since nobody wants it any more.',
};
