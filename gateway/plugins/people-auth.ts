/**
 * Authenticates people (JWT bearer tokens, or the console's session cookie) and enforces each route's declared access. Every route under
 * /v1 must declare `config.access`; a route without one is refused at start-up, so forgetting it cannot
 * silently make a route public.
 */
import fastifyJwt from '@fastify/jwt';
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import buildGetJwks from 'get-jwks';
import { gatewayErrors } from '../app/errors.js';
import { accountErrors } from '../auth/errors.js';
import { type Access, type Person, PersonClaims, type Role } from '../auth/people.js';
import { csrfMatches, SESSION_COOKIE, type Session, type SessionStore } from '../auth/sessions.js';

export interface RouteAccess {
  method: string;
  url: string;
  access: Access;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyInstance {
    /** Every route with its declared access, for the authorization matrix test and the docs. */
    routeAccess: readonly RouteAccess[];
  }
  interface FastifyRequest {
    person?: Person;
    /** The console session the person signed in with (absent for bearer tokens). */
    consoleSession?: { id: string; session: Session };
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: Person;
    user: Person;
  }
}

export interface PeopleAuthOptions {
  issuer: string;
  audience: string;
  /** PEM of the platform token key's public half; used unless `jwksUrl` is set. */
  publicKeyPem: string;
  jwksUrl?: string;
  /** Console sessions: a request without a bearer token may authenticate with the session cookie. */
  sessions?: SessionStore;
}

const CHANGING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

async function peopleAuth(app: FastifyInstance, options: PeopleAuthOptions) {
  if (options.jwksUrl) {
    const url = new URL(options.jwksUrl);
    const getJwks = buildGetJwks({
      jwksPath: url.pathname,
      issuersWhitelist: [url.origin],
      providerDiscovery: false,
    });
    await app.register(fastifyJwt, {
      decode: { complete: true },
      secret: (_request: FastifyRequest, token: unknown) => {
        const { header } = token as { header: { kid: string; alg: string } };
        return getJwks.getPublicKey({ kid: header.kid, alg: header.alg, domain: url.origin });
      },
      verify: {
        allowedIss: options.issuer,
        allowedAud: options.audience,
        algorithms: ['RS256', 'ES256', 'PS256'],
      },
    });
  } else {
    await app.register(fastifyJwt, {
      secret: { public: options.publicKeyPem },
      verify: { allowedIss: options.issuer, allowedAud: options.audience, algorithms: ['RS256'] },
    });
  }

  const declared: RouteAccess[] = [];
  app.decorate('routeAccess', declared);
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/v1/') && route.config?.access === undefined) {
      throw new Error(`route ${route.method} ${route.url} does not declare config.access`);
    }
    if (route.config?.access !== undefined) {
      for (const method of [route.method].flat()) {
        if (method !== 'HEAD') declared.push({ method, url: route.url, access: route.config.access });
      }
    }
  });

  app.addHook('onRequest', async function authorizePerson(request) {
    const access = request.routeOptions.config.access;
    if (access === undefined || access === 'public' || access === 'system') return;
    const cookie = request.cookies?.[SESSION_COOKIE];
    if (options.sessions && cookie && request.headers.authorization === undefined) {
      authorizeRole(request, await sessionPerson(request, options.sessions, cookie), access);
      return;
    }
    const claims = await request.jwtVerify<Person>();
    if (!Value.Check(PersonClaims, claims) || (claims.role === 'dept-admin' && !claims.dept)) {
      throw new gatewayErrors.AUTH_TOKEN_INVALID(
        'The token must carry `sub`, a `role` of bureau, dept-admin, auditor or security-admin, and `dept` for dept-admin.',
      );
    }
    const person: Person = claims.dept
      ? { sub: claims.sub, role: claims.role, dept: claims.dept }
      : { sub: claims.sub, role: claims.role };
    authorizeRole(request, person, access);
  });
}

function authorizeRole(request: FastifyRequest, person: Person, access: readonly Role[]): void {
  // Set before the role check, so that a refusal is audited with the person refused.
  request.person = person;
  if (!access.includes(person.role)) {
    throw new gatewayErrors.ROLE_FORBIDDEN(
      `The role ${person.role} may not call ${request.method} ${request.routeOptions.url}; allowed: ${access.join(', ')}.`,
    );
  }
}

/**
 * The person of a live console session; its idle clock restarts. A change (POST, PUT, PATCH, DELETE)
 * must also carry the session's CSRF token: the cookie alone is sent by the browser on its own.
 */
async function sessionPerson(request: FastifyRequest, sessions: SessionStore, id: string): Promise<Person> {
  const session = await sessions.touch(id);
  if (!session) {
    throw new accountErrors.SESSION_INVALID(
      'The console session has expired or was signed out: sign in again.',
    );
  }
  request.consoleSession = { id, session };
  if (CHANGING_METHODS.has(request.method) && !csrfMatches(session, request.headers['x-csrf-token'])) {
    request.person = session.person;
    throw new accountErrors.CSRF_TOKEN_INVALID(
      'A change made with the session cookie must send its CSRF token in x-csrf-token.',
    );
  }
  return session.person;
}

/** The authenticated person of a route that declared people's roles. */
export function personOf(request: FastifyRequest): Person {
  if (!request.person) throw new gatewayErrors.AUTH_TOKEN_MISSING('This route needs a bearer token.');
  return request.person;
}

/** A dept-admin may act only for its own department; platform roles are not limited by department. */
export function requireOwnDepartment(person: Person, deptCode: string): void {
  if (person.role === 'dept-admin' && person.dept !== deptCode) {
    throw new gatewayErrors.DEPARTMENT_FORBIDDEN(
      `Your token is for department ${person.dept}; you may not act for department ${deptCode}.`,
    );
  }
}

export default fp(peopleAuth, { name: 'govshare-people-auth', fastify: '5.x' });
