/**
 * Errors of the connectors. Following X-Road, an error that arose at the provider (its front-end processor
 * refused, failed, timed out or answered nonsense) is marked `source: 'provider'` and names the provider's
 * host, so that a consumer can tell a provider failure from the gateway's own. Messages never carry
 * credentials or the values that were looked up.
 */
import { createError, type FastifyError, type FastifyErrorConstructor } from '@fastify/error';

export const connectorErrors = {
  UPSTREAM_UNAVAILABLE: createError('UPSTREAM_UNAVAILABLE', '%s', 502),
  UPSTREAM_TIMEOUT: createError('UPSTREAM_TIMEOUT', '%s', 504),
  UPSTREAM_BAD_RESPONSE: createError('UPSTREAM_BAD_RESPONSE', '%s', 502),
  UPSTREAM_REJECTED: createError('UPSTREAM_REJECTED', '%s', 502),
  UPSTREAM_CIRCUIT_OPEN: createError('UPSTREAM_CIRCUIT_OPEN', '%s', 503),
  CONNECTOR_CONFIG_INVALID: createError('CONNECTOR_CONFIG_INVALID', '%s', 500),
} satisfies Record<string, FastifyErrorConstructor>;

export const connectorErrorDocs: Record<keyof typeof connectorErrors, string> = {
  UPSTREAM_UNAVAILABLE:
    "The provider's front-end processor refused or dropped the connection, or answered with a server error (5xx).",
  UPSTREAM_TIMEOUT: "The provider's front-end processor did not answer within the data service's timeout.",
  UPSTREAM_BAD_RESPONSE:
    "The provider's front-end processor answered with something that is not the expected JSON, or with a body over the size limit.",
  UPSTREAM_REJECTED:
    "The provider's front-end processor rejected the gateway's request (4xx): its data service entry or version is likely out of date.",
  UPSTREAM_CIRCUIT_OPEN:
    'Recent calls to this provider failed, so the gateway stops calling it for a short while; retry after the Retry-After seconds.',
  CONNECTOR_CONFIG_INVALID:
    "A catalog entry's data service cannot be used (unknown connector kind, or an endpoint that is not an http(s) URL without credentials).",
};

export type ConnectorErrorCode = keyof typeof connectorErrors;

/** An error that arose at a provider: where it came from, and which provider host. */
export interface ProviderError extends FastifyError {
  code: ConnectorErrorCode;
  statusCode: number;
  source: 'provider';
  providerHost: string;
  /** HTTP status the provider answered with, when it answered at all. */
  providerStatus?: number;
  /** Set on UPSTREAM_CIRCUIT_OPEN: when a call may be tried again. */
  retryAfterSeconds?: number;
}

export function providerError(
  code: Exclude<ConnectorErrorCode, 'CONNECTOR_CONFIG_INVALID'>,
  providerHost: string,
  message: string,
  extra: { providerStatus?: number; retryAfterSeconds?: number; cause?: unknown } = {},
): ProviderError {
  const error = new connectorErrors[code](`provider ${providerHost}: ${message}`) as ProviderError;
  error.source = 'provider';
  error.providerHost = providerHost;
  if (extra.providerStatus !== undefined) error.providerStatus = extra.providerStatus;
  if (extra.retryAfterSeconds !== undefined) error.retryAfterSeconds = extra.retryAfterSeconds;
  if (extra.cause !== undefined) error.cause = extra.cause;
  return error;
}

export function isProviderError(error: unknown): error is ProviderError {
  return error instanceof Error && (error as Partial<ProviderError>).source === 'provider';
}
