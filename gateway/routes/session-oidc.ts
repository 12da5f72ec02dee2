/**
 * Console sign-in through the province's unified identity service (OpenID Connect), beside the password
 * sign-in of session.ts. `GET /v1/session/oidc/start` sends the browser to the identity service;
 * `GET /v1/session/oidc/callback` takes its answer, and opens the same session cookie a password sign-in
 * opens for the account linked to that identity. The rules of a password sign-in hold: the lock, the
 * one-time code of the bureau, auditor and security-admin accounts (unless the identity service asserts
 * a multi-factor sign-in in `amr`; otherwise `POST /v1/session/oidc/totp` takes the code), and an audit
 * record of every sign-in, done or refused, with the account name (the identity as a keyed hash only).
 *
 * Identities are linked to accounts by the security administrator (`POST /v1/users/{name}/oidc-link`,
 * `govshare user link-oidc`), who manages accounts; an unlinked identity never gets an account.
 */
import proxyAddr from '@fastify/proxy-addr';
import rateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Accounts } from '../app/accounts.js';
import type { GatewayContext } from '../app/context.js';
import { gatewayErrors } from '../app/errors.js';
import { problemResponses } from '../app/schemas.js';
import { accountErrors } from '../auth/errors.js';
import { MULTI_FACTOR_AMR, OIDC_FLOW_COOKIE, OIDC_PENDING_COOKIE, type OidcSignIn } from '../auth/oidc.js';
import { OIDC_SUBJECT_PATTERN } from '../auth/oidc-links.js';
import type { Person } from '../auth/people.js';
import { NameParams, RoleSchema, SessionView, setSessionCookie, signedInPerson } from './session.js';

/** The OIDC cookies are sent to these routes only. */
const OIDC_PATH = '/v1/session/oidc';
/** Where the browser goes after the callback: the console, which reads `oidc=` from its hash route. */
const CONSOLE = '/console/';

/** Parameters an authorization response carries (RFC 6749 4.1.2, RFC 9207); others are let through. */
const CallbackQuery = Type.Object(
  {
    code: Type.Optional(Type.String({ maxLength: 2048 })),
    state: Type.Optional(Type.String({ maxLength: 512 })),
    iss: Type.Optional(Type.String({ maxLength: 2048 })),
    error: Type.Optional(Type.String({ maxLength: 256 })),
    error_description: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: Type.String({ maxLength: 2048 }) },
);

export const oidcSessionRoutes: FastifyPluginAsyncTypebox<{
  context: GatewayContext;
  accounts: Accounts;
}> = async (app, { context, accounts: { accounts, sessions, oidcLinks, oidc } }) => {
  const publicOrigin = context.config.GOVSHARE_PUBLIC_ORIGIN;
  const secureCookie = (request: FastifyRequest) =>
    request.protocol === 'https' || publicOrigin.startsWith('https:');

  // Each start keeps a pending sign-in (state, nonce, PKCE verifier) in Redis for 10 minutes, and the route
  // is public: starts are counted per client address in Redis, so every instance shares the count.
  // Behind a reverse proxy every start would come from the proxy's address: the client is read from
  // X-Forwarded-For, believed only as far as the hops are trusted proxies.
  const trusted = context.config.GOVSHARE_TRUSTED_PROXIES;
  const isTrustedProxy = proxyAddr.compile(trusted ? trusted.split(',') : []);
  await app.register(rateLimit, {
    global: false,
    keyGenerator: (request) => proxyAddr(request.raw, isTrustedProxy),
    redis: context.redis,
    nameSpace: `${context.prefix}oidc-start:`,
    // A Redis failure refuses the start (fail closed) rather than letting starts through uncounted.
    skipOnError: false,
    addHeadersOnExceeding: {
      'x-ratelimit-limit': false,
      'x-ratelimit-remaining': false,
      'x-ratelimit-reset': false,
    },
    addHeaders: {
      'x-ratelimit-limit': false,
      'x-ratelimit-remaining': false,
      'x-ratelimit-reset': false,
      'retry-after': false,
    },
    errorResponseBuilder: (_request, limit) =>
      Object.assign(
        new accountErrors.OIDC_START_RATE_LIMITED(
          `more than ${limit.max} sign-ins through the identity service were started from this address in a minute: retry after ${Math.ceil(limit.ttl / 1000)} s`,
        ),
        { retryAfterSeconds: Math.max(1, Math.ceil(limit.ttl / 1000)) },
      ),
  });

  function enabled(): OidcSignIn {
    if (!oidc) {
      throw new accountErrors.OIDC_DISABLED(
        'sign-in through an identity service is not configured here (GOVSHARE_OIDC_ISSUER): sign in with the account name and password',
      );
    }
    return oidc;
  }

  /** Audits a refused sign-in (fail closed: when that record cannot be written, the answer is a 503). */
  async function auditRefusal(
    request: FastifyRequest,
    err: unknown,
    detail: { name?: string; identity?: string },
  ): Promise<void> {
    const code = (err as { code?: string }).code ?? 'SIGNIN_FAILED';
    try {
      await request.auditAdmin(
        'session.signin',
        { method: 'oidc', ...detail },
        {
          decision: 'deny',
          status: (err as { statusCode?: number }).statusCode ?? 401,
          reasonCode: code,
          actor: detail.name ? { person: detail.name } : {},
        },
      );
    } catch (auditErr) {
      request.log.error({ err: auditErr }, 'audit write of a refused sign-in failed');
      throw new gatewayErrors.SERVICE_UNAVAILABLE('the sign-in could not be audited: retry shortly');
    } finally {
      // A public route has no catch-all record to pair with this one.
      context.audit.takeRecordFor(String(request.id));
    }
  }

  /** Audits the sign-in, then opens the session: nothing is opened that the trail does not show. */
  async function openSession(
    request: FastifyRequest,
    reply: FastifyReply,
    person: Person,
    displayName: string,
    detail: Record<string, unknown>,
  ) {
    request.person = person;
    try {
      await request.auditAdmin('session.signin', {
        name: person.sub,
        role: person.role,
        method: 'oidc',
        ...detail,
      });
    } catch (err) {
      request.log.error({ err }, 'audit write of a sign-in failed: no session opened');
      throw new gatewayErrors.SERVICE_UNAVAILABLE(
        'the sign-in could not be audited, so no session was opened: retry shortly',
      );
    } finally {
      context.audit.takeRecordFor(String(request.id));
    }
    const { id, session } = await sessions.create(person, displayName);
    setSessionCookie(reply, id, secureCookie(request));
    return session;
  }

  app.get(
    '/v1/session/oidc',
    {
      config: { access: 'public' },
      schema: {
        tags: ['session'],
        description:
          'Whether the console offers sign-in through the unified identity service (OpenID Connect).',
        response: { 200: Type.Object({ enabled: Type.Boolean() }), ...problemResponses },
      },
    },
    async () => ({ enabled: oidc !== undefined }),
  );

  app.get(
    '/v1/session/oidc/start',
    {
      config: {
        access: 'public',
        rateLimit: { max: context.config.GOVSHARE_OIDC_STARTS_PER_MINUTE, timeWindow: 60_000 },
      },
      schema: {
        tags: ['session'],
        description:
          'Start a sign-in through the identity service: answers 303 to its authorization endpoint (authorization code with PKCE, state and nonce) and sets a 10-minute cookie binding the sign-in to this browser. `role` chooses the role of an account that holds several. OIDC_DISABLED when not configured; OIDC_START_RATE_LIMITED past GOVSHARE_OIDC_STARTS_PER_MINUTE starts a minute from one address.',
        querystring: Type.Object({ role: Type.Optional(RoleSchema) }, { additionalProperties: false }),
        response: { 303: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const signIn = enabled();
      const { flowId, url } = await signIn.start(request.query.role);
      reply.setCookie(OIDC_FLOW_COOKIE, flowId, {
        path: OIDC_PATH,
        httpOnly: true,
        // Lax: the identity service sends the browser back with a top-level GET from its own site.
        sameSite: 'lax',
        secure: secureCookie(request),
        maxAge: signIn.flowSeconds,
      });
      return reply.redirect(url.href, 303);
    },
  );

  app.get(
    '/v1/session/oidc/callback',
    {
      config: { access: 'public' },
      schema: {
        tags: ['session'],
        description:
          "The identity service's answer (its redirect URL). Exchanges the code, validates the ID token and signs in to the linked account: 303 to the console with the session cookie, or to the console's one-time code step (`oidc=totp`) when the account needs a code the identity service did not assert. Refusals are problem details (a browser asking for HTML is sent to the console with `oidc=<code>`).",
        querystring: CallbackQuery,
        response: { 303: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const signIn = enabled();
      reply.clearCookie(OIDC_FLOW_COOKIE, { path: OIDC_PATH });
      const detail: { name?: string; identity?: string } = {};
      try {
        const identity = await signIn.finish(request.cookies[OIDC_FLOW_COOKIE], rawQuery(request.url));
        detail.identity = oidcLinks.identityHash(identity.issuer, identity.subject);
        const name = await oidcLinks.accountOf(identity.issuer, identity.subject);
        if (!name) {
          throw new accountErrors.OIDC_SUBJECT_UNLINKED(
            'no console account is linked to this identity: ask the security administrator to link it',
          );
        }
        detail.name = name;
        const multiFactor = identity.amr.some((method) => MULTI_FACTOR_AMR.has(method));
        let account: Awaited<ReturnType<typeof accounts.signInLinked>>;
        try {
          account = await accounts.signInLinked(name, undefined, multiFactor);
        } catch (err) {
          if ((err as { code?: string }).code !== 'TOTP_REQUIRED') throw err;
          const pendingId = await signIn.hold({
            name,
            ...(identity.role ? { role: identity.role } : {}),
            identityHash: detail.identity,
          });
          reply.setCookie(OIDC_PENDING_COOKIE, pendingId, {
            path: OIDC_PATH,
            httpOnly: true,
            sameSite: 'strict',
            secure: secureCookie(request),
            maxAge: signIn.pendingSeconds,
          });
          return reply.redirect(`${CONSOLE}#/?oidc=totp`, 303);
        }
        const person = signedInPerson(account, identity.role);
        await openSession(request, reply, person, account.displayName, {
          identity: detail.identity,
          amr: identity.amr,
        });
        return reply.redirect(CONSOLE, 303);
      } catch (err) {
        await auditRefusal(request, err, detail);
        const code = (err as { code?: string }).code;
        if (code && prefersHtml(request)) return reply.redirect(`${CONSOLE}#/?oidc=${code}`, 303);
        throw err;
      }
    },
  );

  app.post(
    '/v1/session/oidc/totp',
    {
      config: { access: 'public' },
      schema: {
        tags: ['session'],
        description:
          "Complete a sign-in through the identity service with the account's one-time code, when the identity service did not assert a multi-factor sign-in. Wrong codes count towards the lock. Answers like POST /v1/session.",
        body: Type.Object(
          {
            totp: Type.String({
              minLength: 1,
              maxLength: 10,
              description: 'The 6-digit code of the authenticator',
            }),
          },
          { additionalProperties: false },
        ),
        response: { 201: SessionView, ...problemResponses },
      },
    },
    async (request, reply) => {
      const signIn = enabled();
      const pendingId = request.cookies[OIDC_PENDING_COOKIE];
      const pending = await signIn.pending(pendingId);
      const detail: { name?: string; identity?: string } = pending
        ? { name: pending.name, identity: pending.identityHash }
        : {};
      let person: Person;
      let displayName: string;
      try {
        if (!pending || !pendingId) {
          throw new accountErrors.OIDC_FLOW_INVALID(
            'no sign-in through the identity service waits for a one-time code in this browser (expired or completed): start again',
          );
        }
        const account = await accounts.signInLinked(pending.name, request.body.totp, false);
        person = signedInPerson(account, pending.role);
        displayName = account.displayName;
        await signIn.release(pendingId);
      } catch (err) {
        await auditRefusal(request, err, detail);
        throw err;
      }
      reply.clearCookie(OIDC_PENDING_COOKIE, { path: OIDC_PATH });
      const session = await openSession(request, reply, person, displayName, {
        identity: detail.identity,
        secondFactor: 'totp',
      });
      reply.code(201);
      return {
        person: {
          name: person.sub,
          displayName,
          role: person.role,
          ...(person.dept ? { dept: person.dept } : {}),
        },
        csrfToken: session.csrfToken,
        idleSeconds: sessions.options.idleSeconds,
      };
    },
  );

  app.post(
    '/v1/users/:name/oidc-link',
    {
      config: { access: ['security-admin'] },
      schema: {
        tags: ['session'],
        description:
          "Link an identity of the identity service (its `sub`) to a person's account, so that they can sign in through it. One identity opens one account (OIDC_SUBJECT_LINKED otherwise); a new link replaces the account's previous one. Only the security administrator, who manages accounts.",
        params: NameParams,
        body: Type.Object(
          {
            subject: Type.String({
              pattern: OIDC_SUBJECT_PATTERN,
              description: "The person's `sub` at the identity service",
            }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ name: Type.String(), issuer: Type.String(), replaced: Type.Boolean() }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const signIn = enabled();
      const { name } = request.params;
      if (!(await accounts.get(name))) throw new accountErrors.ACCOUNT_UNKNOWN(`no account "${name}"`);
      const { replaced } = await oidcLinks.link(name, signIn.issuer, request.body.subject);
      await request.auditAdmin('user.link-oidc', {
        name,
        identity: oidcLinks.identityHash(signIn.issuer, request.body.subject),
        replaced,
      });
      return { name, issuer: signIn.issuer, replaced };
    },
  );
};

/** The query string as received: the library reads the authorization response from it. */
function rawQuery(url: string): string {
  const at = url.indexOf('?');
  return at < 0 ? '' : url.slice(at);
}

/** A browser navigating (Accept: text/html first), rather than an API client. */
function prefersHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return /^\s*text\/html\b/.test(accept);
}
