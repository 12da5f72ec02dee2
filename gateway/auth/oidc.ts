/**
 * OpenID Connect sign-in at a province's unified identity service (统一身份认证), with `openid-client`:
 * the authorization-code flow with PKCE (S256), `state` and `nonce`, the issuer found by discovery. The
 * library validates the authorization response (state, `iss`) and the ID token (signature against the
 * issuer's keys, issuer, audience, expiry, nonce); nothing of it is hand-written here.
 *
 * What this module keeps is the flow's state between the two browser visits: an opaque random id in a
 * cookie, the flow in Redis under the SHA-256 of the id (like sessions), for 10 minutes and for one use.
 * After the identity service, a person whose account needs a one-time code and whose sign-in there was
 * not multi-factor waits in a second, 5-minute record for that code.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import type { RedisClient } from '../../platform/redis.js';
import { accountKeys } from './accounts.js';
import { accountErrors } from './errors.js';
import type { Role } from './people.js';

export const OIDC_FLOW_COOKIE = 'govshare_oidc';
export const OIDC_PENDING_COOKIE = 'govshare_oidc_code';

/**
 * `amr` values (RFC 8176) that stand for a multi-factor sign-in at the identity service: with one of them
 * the console's own one-time code is not asked for again.
 */
export const MULTI_FACTOR_AMR: ReadonlySet<string> = new Set(['mfa', 'otp', 'hwk']);

export interface OidcSettings {
  issuer: URL;
  clientId: string;
  /** Empty: a public client (token endpoint authentication `none`), protected by PKCE. */
  clientSecret: string;
  redirectUrl: URL;
  /** Seconds a started sign-in stays valid. @defaultValue 600 */
  flowSeconds?: number;
  /** Seconds a sign-in waits for the one-time code. @defaultValue 300 */
  pendingSeconds?: number;
  /** Seconds each request to the identity service may take. @defaultValue 10 */
  timeoutSeconds?: number;
}

interface Flow {
  state: string;
  nonce: string;
  codeVerifier: string;
  role?: Role;
}

/** What the identity service proved: who the person is there, and how they signed in. */
export interface OidcIdentity {
  issuer: string;
  subject: string;
  amr: string[];
  role?: Role;
}

/** A person past the identity service, waiting to give the one-time code of their account. */
export interface PendingSignIn {
  name: string;
  role?: Role;
  identityHash: string;
}

export class OidcSignIn {
  private readonly keys: ReturnType<typeof accountKeys>;
  private configuration: Promise<client.Configuration> | undefined;
  readonly flowSeconds: number;
  readonly pendingSeconds: number;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    readonly settings: OidcSettings,
  ) {
    this.keys = accountKeys(prefix);
    this.flowSeconds = settings.flowSeconds ?? 600;
    this.pendingSeconds = settings.pendingSeconds ?? 300;
  }

  /** The issuer identifier as configured (and as links are keyed by). */
  get issuer(): string {
    return this.settings.issuer.href;
  }

  /**
   * Starts a sign-in: a new flow id (for the cookie) and the identity service's authorization URL the
   * browser is sent to.
   */
  async start(role: Role | undefined): Promise<{ flowId: string; url: URL }> {
    const config = await this.discovered();
    const flow: Flow = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      ...(role ? { role } : {}),
    };
    const flowId = randomId();
    await this.redis.set(this.keys.oidcFlow(hashId(flowId)), JSON.stringify(flow), 'EX', this.flowSeconds);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUrl.href,
      scope: 'openid',
      response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(flow.codeVerifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    return { flowId, url };
  }

  /**
   * Completes a sign-in with the identity service's answer (the callback's query string): the flow is
   * taken (used once, whatever the outcome), the code exchanged, the ID token validated.
   */
  async finish(flowId: string | undefined, query: string): Promise<OidcIdentity> {
    const raw = isId(flowId) ? await this.redis.getdel(this.keys.oidcFlow(hashId(flowId))) : null;
    if (!raw) {
      throw new accountErrors.OIDC_FLOW_INVALID(
        'no sign-in through the identity service is under way in this browser (expired, completed, or started elsewhere): start again',
      );
    }
    const flow = JSON.parse(raw) as Flow;
    const config = await this.discovered();
    const currentUrl = new URL(this.settings.redirectUrl);
    currentUrl.search = query;
    let claims: client.IDToken | undefined;
    try {
      const tokens = await client.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: flow.codeVerifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims();
    } catch (err) {
      throw refusal(err);
    }
    if (!claims) throw new accountErrors.OIDC_REJECTED('the identity service answered without an ID token');
    const amr = Array.isArray(claims.amr) ? claims.amr.filter((v): v is string => typeof v === 'string') : [];
    return {
      issuer: this.issuer,
      subject: claims.sub,
      amr,
      ...(flow.role ? { role: flow.role } : {}),
    };
  }

  /** Keeps a person who passed the identity service until they give their one-time code. */
  async hold(pending: PendingSignIn): Promise<string> {
    const id = randomId();
    await this.redis.set(
      this.keys.oidcPending(hashId(id)),
      JSON.stringify(pending),
      'EX',
      this.pendingSeconds,
    );
    return id;
  }

  async pending(id: string | undefined): Promise<PendingSignIn | undefined> {
    const raw = isId(id) ? await this.redis.get(this.keys.oidcPending(hashId(id))) : null;
    return raw ? (JSON.parse(raw) as PendingSignIn) : undefined;
  }

  async release(id: string): Promise<void> {
    if (isId(id)) await this.redis.del(this.keys.oidcPending(hashId(id)));
  }

  /**
   * The client configuration from the issuer's discovery document, fetched once; a failure is not kept,
   * so the next sign-in tries again (the gateway starts whether or not the identity service is up).
   */
  private discovered(): Promise<client.Configuration> {
    if (!this.configuration) {
      const { issuer, clientId, clientSecret } = this.settings;
      this.configuration = client
        .discovery(
          issuer,
          clientId,
          undefined,
          clientSecret ? client.ClientSecretBasic(clientSecret) : client.None(),
          {
            timeout: this.settings.timeoutSeconds ?? 10,
            // Configuration allows plain HTTP on loopback only (a local or test identity service).
            ...(issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}),
          },
        )
        .catch((err: unknown) => {
          this.configuration = undefined;
          throw new accountErrors.OIDC_PROVIDER_UNAVAILABLE(
            `discovery at ${issuer.href} failed: ${describe(err)}`,
          );
        });
    }
    return this.configuration;
  }
}

/**
 * What a failed exchange means: the identity service's or the token's fault (refused), or no usable
 * answer at all (unavailable).
 */
function refusal(err: unknown): Error {
  if (
    err instanceof client.AuthorizationResponseError ||
    err instanceof client.ResponseBodyError ||
    err instanceof client.WWWAuthenticateChallengeError
  ) {
    return new accountErrors.OIDC_REJECTED(`the identity service refused: ${describe(err)}`);
  }
  if (err instanceof client.ClientError && !UNAVAILABLE_CODES.has(err.code ?? '')) {
    return new accountErrors.OIDC_REJECTED(
      `the identity service's answer failed validation: ${describe(err)}`,
    );
  }
  return new accountErrors.OIDC_PROVIDER_UNAVAILABLE(
    `the identity service did not answer usably: ${describe(err)}`,
  );
}

/** openid-client codes for a server that answered with no usable response (not a refusal). */
const UNAVAILABLE_CODES = new Set(['OAUTH_RESPONSE_IS_NOT_CONFORM', 'OAUTH_RESPONSE_IS_NOT_JSON']);

/** The error in one line: the library's message and its cause (no token or code is ever in them). */
function describe(err: unknown): string {
  if (err instanceof client.AuthorizationResponseError || err instanceof client.ResponseBodyError) {
    return `${err.error}${err.error_description ? ` (${err.error_description})` : ''}`;
  }
  const error = err as { message?: string; cause?: { message?: string; code?: string } };
  const network = NETWORK_ERRORS[error.cause?.code ?? ''];
  if (network) return network;
  const cause = error.cause?.message;
  // System error codes are left out: the problem mapper would take them for a Redis outage.
  return `${error.message ?? String(err)}${cause && cause !== error.message ? `: ${cause}` : ''}`
    .replace(/\bE[A-Z]{4,}\b/g, 'network error')
    .slice(0, 300);
}

const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  ENOTFOUND: 'unknown host name',
  EAI_AGAIN: 'host name lookup failed',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_SOCKET: 'connection closed',
};

function randomId(): string {
  return randomBytes(32).toString('base64url');
}

function isId(id: string | undefined): id is string {
  return typeof id === 'string' && /^[A-Za-z0-9_-]{43}$/.test(id);
}

function hashId(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}
