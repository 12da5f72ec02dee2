/**
 * Error codes of people's accounts and console sessions: sign-in, second factor, lockout, session cookie,
 * CSRF and the three-officer rule (三员分立).
 */
import { createError, type FastifyErrorConstructor } from '@fastify/error';

export const accountErrors = {
  SIGNIN_FAILED: createError('SIGNIN_FAILED', '%s', 401),
  TOTP_REQUIRED: createError('TOTP_REQUIRED', '%s', 401),
  ACCOUNT_LOCKED: createError('ACCOUNT_LOCKED', '%s', 423),
  SESSION_INVALID: createError('SESSION_INVALID', '%s', 401),
  CSRF_TOKEN_INVALID: createError('CSRF_TOKEN_INVALID', '%s', 403),
  ACCOUNT_EXISTS: createError('ACCOUNT_EXISTS', '%s', 409),
  ACCOUNT_UNKNOWN: createError('ACCOUNT_UNKNOWN', '%s', 404),
  ACCOUNT_INVALID: createError('ACCOUNT_INVALID', '%s', 400),
  OFFICER_DUTY_CONFLICT: createError('OFFICER_DUTY_CONFLICT', '%s', 409),
  OIDC_DISABLED: createError('OIDC_DISABLED', '%s', 404),
  OIDC_FLOW_INVALID: createError('OIDC_FLOW_INVALID', '%s', 400),
  OIDC_REJECTED: createError('OIDC_REJECTED', '%s', 401),
  OIDC_SUBJECT_UNLINKED: createError('OIDC_SUBJECT_UNLINKED', '%s', 403),
  OIDC_SUBJECT_LINKED: createError('OIDC_SUBJECT_LINKED', '%s', 409),
  OIDC_PROVIDER_UNAVAILABLE: createError('OIDC_PROVIDER_UNAVAILABLE', '%s', 502),
  OIDC_START_RATE_LIMITED: createError('OIDC_START_RATE_LIMITED', '%s', 429),
  PASSWORD_POLICY: createError('PASSWORD_POLICY', '%s', 422),
} satisfies Record<string, FastifyErrorConstructor>;

export const accountErrorDocs: Record<keyof typeof accountErrors, string> = {
  SIGNIN_FAILED:
    'The account name, password or one-time code is wrong (the answer does not say which). Repeated failures lock the account.',
  TOTP_REQUIRED:
    'The account holds a role that signs in with a second factor (bureau, auditor, security-admin): send `totp`, the 6-digit code of its authenticator.',
  ACCOUNT_LOCKED:
    'Too many failed sign-ins: the account is locked for GOVSHARE_LOGIN_LOCK_MINUTES (see `retryAfterSeconds`), or until a security administrator unlocks it.',
  SESSION_INVALID:
    'The session cookie is unknown, was signed out, or has been idle longer than GOVSHARE_SESSION_IDLE_MINUTES: sign in again.',
  CSRF_TOKEN_INVALID:
    "A change made with the session cookie must send the session's CSRF token in `x-csrf-token` (from POST or GET /v1/session).",
  ACCOUNT_EXISTS: 'An account with this name exists already.',
  ACCOUNT_UNKNOWN: 'No account has this name.',
  ACCOUNT_INVALID:
    'The account is not consistent: a dept-admin needs its department (`dept`), the other roles act for the platform and take none.',
  OFFICER_DUTY_CONFLICT:
    'Three-officer separation (三员分立): the system (bureau), security (security-admin) and audit (auditor) duties must be held by three different people; this person already holds another of them.',
  OIDC_DISABLED:
    'OpenID Connect sign-in is not configured on this platform (GOVSHARE_OIDC_ISSUER is empty): sign in with the account name and password.',
  OIDC_FLOW_INVALID:
    'The OpenID Connect sign-in this request continues is unknown to this browser, has expired (10 minutes; 5 for the one-time code step) or was completed already: start again from the sign-in page.',
  OIDC_REJECTED:
    "The identity service's answer was refused: it reported an error, its `state` does not belong to this sign-in, its code could not be exchanged (used twice, or issued for another sign-in), or the ID token failed validation (signature, issuer, audience, nonce, expiry).",
  OIDC_SUBJECT_UNLINKED:
    'The person signed in at the identity service, but no console account is linked to that identity. A security administrator links it (`govshare user link-oidc`); accounts are never created from a sign-in.',
  OIDC_SUBJECT_LINKED:
    'This identity is linked to another console account already: one identity signs in to one account.',
  OIDC_PROVIDER_UNAVAILABLE:
    'The identity service could not be reached, or its discovery document or keys are unusable: retry later, or sign in with the password.',
  OIDC_START_RATE_LIMITED:
    'Too many sign-ins through the identity service were started from this address (GOVSHARE_OIDC_STARTS_PER_MINUTE a minute): each start keeps a pending sign-in for 10 minutes, so an anonymous caller may not start them without bound. Retry after `retryAfterSeconds`.',
  PASSWORD_POLICY:
    'The new password does not meet the policy: at least 12 characters, different from the current one, not containing the account name.',
};
