/**
 * Errors of disputes, rectification orders, catalog change events and joint verifications (policies/cases).
 * Codes are stable.
 */
import { createError } from '@fastify/error';

export const CASE_NOT_FOUND = createError('CASE_NOT_FOUND', '%s', 404);
export const CASE_FORBIDDEN = createError('CASE_FORBIDDEN', '%s', 403);
export const CASE_INVALID = createError('CASE_INVALID', '%s', 422);
export const CASE_ILLEGAL_TRANSITION = createError('CASE_ILLEGAL_TRANSITION', '%s', 409);
export const CASE_CONFLICT = createError('CASE_CONFLICT', '%s', 409);
export const CASE_CATALOG_NOT_UPDATED = createError('CASE_CATALOG_NOT_UPDATED', '%s', 409);
export const CASE_JOINT_ITEM_UNKNOWN = createError('CASE_JOINT_ITEM_UNKNOWN', '%s', 422);
export const CASE_JOINT_SAME_DEPARTMENT = createError('CASE_JOINT_SAME_DEPARTMENT', '%s', 422);
export const CASE_JOINT_VALUES_AGREE = createError('CASE_JOINT_VALUES_AGREE', '%s', 422);
export const CASE_JOINT_ANSWERED = createError('CASE_JOINT_ANSWERED', '%s', 409);
export const CASE_JOINT_SOURCE_INVALID = createError('CASE_JOINT_SOURCE_INVALID', '%s', 422);

export const casesErrors = {
  CASE_NOT_FOUND,
  CASE_FORBIDDEN,
  CASE_INVALID,
  CASE_ILLEGAL_TRANSITION,
  CASE_CONFLICT,
  CASE_CATALOG_NOT_UPDATED,
  CASE_JOINT_ITEM_UNKNOWN,
  CASE_JOINT_SAME_DEPARTMENT,
  CASE_JOINT_VALUES_AGREE,
  CASE_JOINT_ANSWERED,
  CASE_JOINT_SOURCE_INVALID,
} as const;

export const casesErrorDocs: Record<keyof typeof casesErrors, string> = {
  CASE_NOT_FOUND:
    'No dispute, rectification order, catalog change event or joint verification has this id that your department is party to.',
  CASE_FORBIDDEN:
    'The acting person is not the party for this step (the bureau decides disputes and orders rectification; the department concerned reports).',
  CASE_INVALID:
    'The request is inconsistent (a dispute with one’s own department, an unknown department, a blank text).',
  CASE_ILLEGAL_TRANSITION:
    'The action is not allowed in the current state of the case; the message lists what is allowed.',
  CASE_CONFLICT: 'The case changed concurrently too many times; retry the request.',
  CASE_CATALOG_NOT_UPDATED:
    'A catalog change event is closed only by a catalog version of the department published after the event ([HC-R] 13); the resource named has none.',
  CASE_JOINT_ITEM_UNKNOWN:
    'A joint verification names an item by its semantic id: each of the two resources must be published with an item of that id ([HB-S] 17).',
  CASE_JOINT_SAME_DEPARTMENT:
    'A joint verification is between two departments; two resources of one department are corrected by that department alone.',
  CASE_JOINT_VALUES_AGREE: 'The two values given are the same: there is no inconsistency to verify.',
  CASE_JOINT_ANSWERED:
    'Your department has already answered this joint verification; an answer is final (the bureau decides when the departments disagree).',
  CASE_JOINT_SOURCE_INVALID:
    'The decision of a joint verification names as correct source one of the two resources of the case.',
};
