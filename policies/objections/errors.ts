/**
 * Errors of objections to shared records (疑义与纠错). Codes are stable; messages say what to change and
 * never repeat the key value of the record (it is usually a citizen's ID number).
 */
import { createError } from '@fastify/error';

export const OBJECTION_INVALID = createError('OBJECTION_INVALID', '%s', 422);
export const OBJECTION_NOT_FOUND = createError('OBJECTION_NOT_FOUND', '%s', 404);
export const OBJECTION_FORBIDDEN = createError('OBJECTION_FORBIDDEN', '%s', 403);
export const OBJECTION_NO_GRANT = createError('OBJECTION_NO_GRANT', '%s', 403);
export const OBJECTION_ILLEGAL_TRANSITION = createError('OBJECTION_ILLEGAL_TRANSITION', '%s', 409);
export const OBJECTION_DUPLICATE = createError('OBJECTION_DUPLICATE', '%s', 409);
export const OBJECTION_CONFLICT = createError('OBJECTION_CONFLICT', '%s', 409);
export const OBJECTION_RESOURCE_UNKNOWN = createError('OBJECTION_RESOURCE_UNKNOWN', '%s', 404);
export const OBJECTION_ITEM_UNKNOWN = createError('OBJECTION_ITEM_UNKNOWN', '%s', 422);

export const objectionsErrors = {
  OBJECTION_INVALID,
  OBJECTION_NOT_FOUND,
  OBJECTION_FORBIDDEN,
  OBJECTION_NO_GRANT,
  OBJECTION_ILLEGAL_TRANSITION,
  OBJECTION_DUPLICATE,
  OBJECTION_CONFLICT,
  OBJECTION_RESOURCE_UNKNOWN,
  OBJECTION_ITEM_UNKNOWN,
} as const;

export type ObjectionsErrorCode = keyof typeof objectionsErrors;

export const objectionsErrorDocs: Record<ObjectionsErrorCode, string> = {
  OBJECTION_INVALID:
    'The objection or answer is inconsistent (a key item that is not a key of the resource, a corrected value with the outcome data-correct, a bad page).',
  OBJECTION_NOT_FOUND:
    'No objection has this id that your department raised or must answer (the bureau sees all).',
  OBJECTION_FORBIDDEN:
    'The acting person is not the party for this step: only the provider’s dept-admin answers, only the consumer’s withdraws.',
  OBJECTION_NO_GRANT:
    'The objecting department holds no live (active or suspended) grant on the resource, for the named system or any of its systems.',
  OBJECTION_ILLEGAL_TRANSITION:
    'The action is not allowed in the objection’s current state (e.g. answering a withdrawn objection); the message lists what is allowed.',
  OBJECTION_DUPLICATE:
    'The department already has an open objection to the same item of the same record; wait for its answer or withdraw it.',
  OBJECTION_CONFLICT: 'The objection changed concurrently too many times; retry the request.',
  OBJECTION_RESOURCE_UNKNOWN: 'No published catalog entry has this resource code.',
  OBJECTION_ITEM_UNKNOWN: 'The objection names an item the resource’s catalog entry does not have.',
};
