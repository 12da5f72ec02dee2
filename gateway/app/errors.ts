/**
 * The gateway's own error codes, and the single mapping from any error to an RFC 9457 problem detail.
 * Domain folders define their codes in their own errors.ts; `problemRegistry` (gateway/app/problem-registry.ts)
 * gathers them all so docs/errors.md and the OpenAPI document can be checked against the code.
 */
import { createError, type FastifyErrorConstructor } from '@fastify/error';

export const gatewayErrors = {
  VALIDATION_FAILED: createError('VALIDATION_FAILED', '%s', 400),
  BODY_INVALID_JSON: createError('BODY_INVALID_JSON', '%s', 400),
  BODY_TOO_LARGE: createError('BODY_TOO_LARGE', '%s', 413),
  URI_TOO_LONG: createError('URI_TOO_LONG', '%s', 414),
  UNSUPPORTED_MEDIA_TYPE: createError('UNSUPPORTED_MEDIA_TYPE', '%s', 415),
  NOT_FOUND: createError('NOT_FOUND', '%s', 404),
  METHOD_NOT_ALLOWED: createError('METHOD_NOT_ALLOWED', '%s', 405),
  AUTH_TOKEN_MISSING: createError('AUTH_TOKEN_MISSING', '%s', 401),
  AUTH_TOKEN_INVALID: createError('AUTH_TOKEN_INVALID', '%s', 401),
  AUTH_TOKEN_EXPIRED: createError('AUTH_TOKEN_EXPIRED', '%s', 401),
  ROLE_FORBIDDEN: createError('ROLE_FORBIDDEN', '%s', 403),
  DEPARTMENT_FORBIDDEN: createError('DEPARTMENT_FORBIDDEN', '%s', 403),
  RESOURCE_NOT_FOUND: createError('RESOURCE_NOT_FOUND', '%s', 404),
  SERVICE_UNAVAILABLE: createError('SERVICE_UNAVAILABLE', '%s', 503),
  INTERNAL: createError('INTERNAL', '%s', 500),
} satisfies Record<string, FastifyErrorConstructor>;

export const gatewayErrorDocs: Record<keyof typeof gatewayErrors, string> = {
  VALIDATION_FAILED:
    'A parameter, query string or body field does not match the route schema; `errors` lists each field.',
  BODY_INVALID_JSON: 'The body is not valid JSON (or is empty while JSON was declared).',
  BODY_TOO_LARGE: 'The body is larger than GOVSHARE_BODY_LIMIT.',
  URI_TOO_LONG: 'A path parameter is longer than any valid value (200 characters).',
  UNSUPPORTED_MEDIA_TYPE: 'The Content-Type is not one the route accepts (use application/json).',
  NOT_FOUND: 'No such route.',
  METHOD_NOT_ALLOWED: 'The route exists but not with this method.',
  AUTH_TOKEN_MISSING: 'The route needs `Authorization: Bearer <token>` (a person) and none was sent.',
  AUTH_TOKEN_INVALID:
    'The bearer token is malformed, not signed by a trusted key, or has the wrong issuer/audience/claims.',
  AUTH_TOKEN_EXPIRED: 'The bearer token has expired: get a new one.',
  ROLE_FORBIDDEN: "The token's role may not call this route.",
  DEPARTMENT_FORBIDDEN: 'A department administrator may act only on its own department.',
  RESOURCE_NOT_FOUND: 'No published catalog entry has this code (or it has no mounted data service).',
  SERVICE_UNAVAILABLE:
    'A dependency (Redis) is unavailable; retry after the Retry-After seconds. Never an identity failure.',
  INTERNAL: 'An unexpected gateway error; it is logged with the request id. Please report it.',
};

/** Problem `type` URIs are stable and point into docs/errors.md. */
export function problemType(code: string): string {
  return `https://govshare.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`;
}

/** "CATALOG_NOT_OWNER" → "Catalog not owner": a short, stable title per code as RFC 9457 asks. */
export function problemTitle(code: string): string {
  const words = code.toLowerCase().split('_');
  const title = words.join(' ');
  return title.charAt(0).toUpperCase() + title.slice(1);
}

export interface ProblemDetail {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId: string;
  instance?: string;
  errors?: { field: string; message: string }[];
  retryAfterSeconds?: number;
}

/** Identity failures of signed calls: always 401, each with its own code so the caller knows what to fix. */
export const identityErrors = {
  CERT_UNKNOWN: createError('CERT_UNKNOWN', '%s', 401),
  CERT_REVOKED: createError('CERT_REVOKED', '%s', 401),
  CERT_EXPIRED: createError('CERT_EXPIRED', '%s', 401),
  CERT_NOT_YET_VALID: createError('CERT_NOT_YET_VALID', '%s', 401),
  CERT_UNTRUSTED: createError('CERT_UNTRUSTED', '%s', 401),
  TLS_CLIENT_CERT_MISMATCH: createError('TLS_CLIENT_CERT_MISMATCH', '%s', 401),
} satisfies Record<string, FastifyErrorConstructor>;

export const identityErrorDocs: Record<keyof typeof identityErrors, string> = {
  CERT_UNKNOWN:
    'The signature `keyid` is not the serial of any certificate the platform issued (lowercase hex).',
  CERT_REVOKED: 'The certificate was revoked; ask the security administrator for a new one.',
  CERT_EXPIRED: 'The certificate has expired; ask the security administrator for a new one.',
  CERT_NOT_YET_VALID: "The certificate's validity has not started yet (check the clocks).",
  CERT_UNTRUSTED: 'The certificate on record was not issued by the platform CA.',
  TLS_CLIENT_CERT_MISMATCH:
    'Mutual TLS: the client certificate of the connection is not the certificate named by the signature keyid (or did not chain to the platform CA); connect with the same system certificate you sign with.',
};
