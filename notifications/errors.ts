/** Errors of the webhook notifications. Codes are stable; messages say what to change. */
import { createError } from '@fastify/error';

export const WEBHOOK_URL_INVALID = createError('WEBHOOK_URL_INVALID', '%s', 422);
export const WEBHOOK_NOT_FOUND = createError('WEBHOOK_NOT_FOUND', '%s', 404);
export const WEBHOOK_FORBIDDEN = createError('WEBHOOK_FORBIDDEN', '%s', 403);
export const WEBHOOK_LIMIT_REACHED = createError('WEBHOOK_LIMIT_REACHED', '%s', 422);
export const WEBHOOK_DELIVERY_NOT_FOUND = createError('WEBHOOK_DELIVERY_NOT_FOUND', '%s', 404);

export const notificationsErrors = {
  WEBHOOK_URL_INVALID,
  WEBHOOK_NOT_FOUND,
  WEBHOOK_FORBIDDEN,
  WEBHOOK_LIMIT_REACHED,
  WEBHOOK_DELIVERY_NOT_FOUND,
} as const;

export const notificationsErrorDocs: Record<keyof typeof notificationsErrors, string> = {
  WEBHOOK_URL_INVALID:
    'The webhook URL is not an absolute http:// or https:// URL without credentials, or is longer than 2000 characters.',
  WEBHOOK_NOT_FOUND: 'No webhook endpoint has this id.',
  WEBHOOK_FORBIDDEN: 'The webhook endpoint or delivery belongs to another department.',
  WEBHOOK_LIMIT_REACHED: 'The department already has the most webhook endpoints allowed; delete one first.',
  WEBHOOK_DELIVERY_NOT_FOUND: 'No delivery has this id (deliveries are kept 30 days).',
};
