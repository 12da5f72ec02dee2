/**
 * Errors of the federation. Following X-Road, a failure at the peer platform is marked
 * `source: 'peer-platform'` and names the peer, so a caller can tell the upper platform's refusal or outage
 * from this gateway's own answer.
 */
import { createError, type FastifyError, type FastifyErrorConstructor } from '@fastify/error';

export const federationErrors = {
  FEDERATION_AGREEMENT_INVALID: createError('FEDERATION_AGREEMENT_INVALID', '%s', 400),
  FEDERATION_PROFILE_MISMATCH: createError('FEDERATION_PROFILE_MISMATCH', '%s', 400),
  FEDERATION_AGREEMENT_NOT_FOUND: createError('FEDERATION_AGREEMENT_NOT_FOUND', '%s', 404),
  FEDERATION_AGREEMENT_INACTIVE: createError('FEDERATION_AGREEMENT_INACTIVE', '%s', 403),
  FEDERATION_PEER_UNKNOWN: createError('FEDERATION_PEER_UNKNOWN', '%s', 401),
  FEDERATION_ORIGIN_INVALID: createError('FEDERATION_ORIGIN_INVALID', '%s', 400),
  FEDERATION_ORIGIN_FORBIDDEN: createError('FEDERATION_ORIGIN_FORBIDDEN', '%s', 403),
  FEDERATION_RESOURCE_NOT_OFFERED: createError('FEDERATION_RESOURCE_NOT_OFFERED', '%s', 403),
  UPSTREAM_PLATFORM_UNAVAILABLE: createError('UPSTREAM_PLATFORM_UNAVAILABLE', '%s', 502),
  UPSTREAM_PLATFORM_TIMEOUT: createError('UPSTREAM_PLATFORM_TIMEOUT', '%s', 504),
  UPSTREAM_PLATFORM_REFUSED: createError('UPSTREAM_PLATFORM_REFUSED', '%s', 403),
  UPSTREAM_PLATFORM_SIGNATURE_INVALID: createError('UPSTREAM_PLATFORM_SIGNATURE_INVALID', '%s', 502),
  FEDERATION_WEBHOOK_INVALID: createError('FEDERATION_WEBHOOK_INVALID', '%s', 400),
  FEDERATION_RETURN_INVALID: createError('FEDERATION_RETURN_INVALID', '%s', 400),
  FEDERATION_APPLICATION_WITHDRAWN: createError('FEDERATION_APPLICATION_WITHDRAWN', '%s', 409),
} satisfies Record<string, FastifyErrorConstructor>;

export const federationErrorDocs: Record<keyof typeof federationErrors, string> = {
  FEDERATION_AGREEMENT_INVALID:
    'A federation agreement file is malformed, names a certificate that is not its platform signing certificate, or a signature does not verify against the CA it names.',
  FEDERATION_PROFILE_MISMATCH:
    'A federation agreement joins a gm (SM2/SM3) and an intl (RSA) platform: platforms federate only within one crypto profile, since a gm platform may trust SM2 signatures and certificates only.',
  FEDERATION_AGREEMENT_NOT_FOUND: 'No federation agreement has this id on this platform.',
  FEDERATION_AGREEMENT_INACTIVE:
    'The federation agreement is revoked, expired, not yet valid or not countersigned: nothing crosses between the two platforms.',
  FEDERATION_PEER_UNKNOWN:
    'A forwarded call was signed with a key no federation agreement of this platform names (keyid, x-federation-agreement).',
  FEDERATION_ORIGIN_FORBIDDEN:
    "The peer platform named one of this platform's own departments (or another peer's) as the original caller: a peer speaks only for its own departments, those registered here with its id as their home platform or not registered here at all.",
  FEDERATION_ORIGIN_INVALID:
    'A forwarded call lacks a signed origin header (x-origin-dept, x-origin-system, x-user-id, x-correlation-id, x-federation-agreement) or one is malformed.',
  FEDERATION_RESOURCE_NOT_OFFERED:
    'The resource is not among those the federation agreement offers to the calling platform.',
  UPSTREAM_PLATFORM_UNAVAILABLE:
    'The upper platform refused or dropped the connection, answered with a server error, or its circuit is open after repeated failures; retry after the Retry-After seconds.',
  UPSTREAM_PLATFORM_TIMEOUT: 'The upper platform did not answer the forwarded call in time.',
  UPSTREAM_PLATFORM_REFUSED:
    "The upper platform refused the forwarded call (its grant to this platform, its purpose or its agreement); the detail carries the upper platform's own code.",
  UPSTREAM_PLATFORM_SIGNATURE_INVALID:
    "The upper platform's answer to a forwarded call was not signed as asked (Accept-Signature), or its signature does not verify with the signing certificate the federation agreement names: nothing from it is released.",
  FEDERATION_WEBHOOK_INVALID:
    "A peer platform's application event is malformed, names an application this platform did not forward to it, or a transition it cannot take.",
  FEDERATION_RETURN_INVALID:
    'A data return (回流) subscription is malformed: its key is not among its items, or it names both or neither of an interval and a cron pattern.',
  FEDERATION_APPLICATION_WITHDRAWN:
    'The lower platform forwards an application it had already withdrawn here before this platform took it (the withdrawal overtook the forwarding): it is not recorded.',
};

export type FederationErrorCode = keyof typeof federationErrors;

/** An error that arose at the peer platform: which peer, and what it answered when it answered. */
export interface PeerPlatformError extends FastifyError {
  source: 'peer-platform';
  peer: string;
  /** The peer's problem code when it refused (e.g. GRANT_MISSING). */
  upstreamCode?: string;
  upstreamStatus?: number;
  retryAfterSeconds?: number;
}

export function peerError(
  code:
    | 'UPSTREAM_PLATFORM_UNAVAILABLE'
    | 'UPSTREAM_PLATFORM_TIMEOUT'
    | 'UPSTREAM_PLATFORM_REFUSED'
    | 'UPSTREAM_PLATFORM_SIGNATURE_INVALID',
  peer: string,
  message: string,
  extra: { upstreamCode?: string; upstreamStatus?: number; retryAfterSeconds?: number; cause?: unknown } = {},
): PeerPlatformError {
  const error = new federationErrors[code](`upper platform ${peer}: ${message}`) as PeerPlatformError;
  error.source = 'peer-platform';
  error.peer = peer;
  if (extra.upstreamCode !== undefined) error.upstreamCode = extra.upstreamCode;
  if (extra.upstreamStatus !== undefined) error.upstreamStatus = extra.upstreamStatus;
  if (extra.retryAfterSeconds !== undefined) error.retryAfterSeconds = extra.retryAfterSeconds;
  if (extra.cause !== undefined) error.cause = extra.cause;
  return error;
}
