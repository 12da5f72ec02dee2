/**
 * Console sign-in and people's accounts. `POST /v1/session` checks the password (argon2id) and, for the
 * roles that need it, the TOTP code; it sets an HttpOnly, SameSite=Strict session cookie (Secure behind
 * TLS) and answers the CSRF token the console sends back on every change. Every sign-in, failed or not,
 * and every sign-out is audited with the account name.
 *
 * Accounts are managed by the security administrator (安全保密管理员): create a person's account or give
 * one more role (refused when it would give one person two officer duties), unlock after a lockout.
 * Sign-in through the unified identity service (OpenID Connect) is in session-oidc.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { USCC_PATTERN } from '../../catalog/schema.js';
import type { Accounts } from '../app/accounts.js';
import type { GatewayContext } from '../app/context.js';
import { problemResponses } from '../app/schemas.js';
import {
  ACCOUNT_NAME_PATTERN,
  AccountStore,
  AccountView,
  randomPassword,
  type SignedInAccount,
} from '../auth/accounts.js';
import { accountErrors } from '../auth/errors.js';
import { type Person, ROLES, type Role } from '../auth/people.js';
import { SESSION_COOKIE } from '../auth/sessions.js';
import { personOf } from '../plugins/people-auth.js';

export const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));

const SignIn = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
    totp: Type.Optional(Type.String({ maxLength: 10, description: 'The 6-digit code of the authenticator' })),
    role: Type.Optional(RoleSchema),
  },
  { additionalProperties: false },
);

export const SessionView = Type.Object({
  person: Type.Object({
    name: Type.String(),
    displayName: Type.String(),
    role: Type.String(),
    dept: Type.Optional(Type.String()),
  }),
  csrfToken: Type.Optional(Type.String({ description: 'Send it in x-csrf-token on every change' })),
  idleSeconds: Type.Optional(Type.Integer()),
});

export const NameParams = Type.Object({ name: Type.String({ pattern: ACCOUNT_NAME_PATTERN }) });
const EVERY_ROLE: readonly Role[] = ROLES;

export const sessionRoutes: FastifyPluginAsyncTypebox<{
  context: GatewayContext;
  accounts: Accounts;
}> = async (app, { context, accounts: { accounts, sessions } }) => {
  const publicOrigin = context.config.GOVSHARE_PUBLIC_ORIGIN;
  const secureCookie = (request: FastifyRequest) =>
    request.protocol === 'https' || publicOrigin.startsWith('https:');

  app.post(
    '/v1/session',
    {
      config: { access: 'public' },
      schema: {
        tags: ['session'],
        description:
          'Sign in to the console with the account name, password and (bureau, auditor, security-admin) the TOTP code. Sets the HttpOnly session cookie and answers its CSRF token. Failures count towards a lock (ACCOUNT_LOCKED).',
        body: SignIn,
        response: { 201: SessionView, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { name, password, totp, role } = request.body;
      let person: Person;
      let displayName: string;
      try {
        const account = await accounts.signIn(name, password, totp);
        person = signedInPerson(account, role);
        displayName = account.displayName;
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'SIGNIN_FAILED';
        await request.auditAdmin(
          'session.signin',
          { name },
          {
            decision: 'deny',
            status: (err as { statusCode?: number }).statusCode ?? 401,
            reasonCode: code,
            actor: { person: name },
          },
        );
        // A public route has no catch-all record to pair with this one.
        context.audit.takeRecordFor(String(request.id));
        throw err;
      }
      request.person = person;
      await request.auditAdmin('session.signin', { name, role: person.role });
      context.audit.takeRecordFor(String(request.id));
      const { id, session } = await sessions.create(person, displayName);
      setSessionCookie(reply, id, secureCookie(request));
      reply.code(201);
      return {
        person: { name, displayName, role: person.role, ...(person.dept ? { dept: person.dept } : {}) },
        csrfToken: session.csrfToken,
        idleSeconds: sessions.options.idleSeconds,
      };
    },
  );

  app.get(
    '/v1/session',
    {
      config: { access: EVERY_ROLE },
      schema: {
        tags: ['session'],
        description: 'Who is signed in, and the CSRF token of the console session (none for a bearer token).',
        response: { 200: SessionView, ...problemResponses },
      },
    },
    async (request) => {
      const person = personOf(request);
      const current = request.consoleSession?.session;
      return {
        person: {
          name: person.sub,
          displayName: current?.displayName ?? person.sub,
          role: person.role,
          ...(person.dept ? { dept: person.dept } : {}),
        },
        ...(current ? { csrfToken: current.csrfToken, idleSeconds: sessions.options.idleSeconds } : {}),
      };
    },
  );

  app.delete(
    '/v1/session',
    {
      config: { access: EVERY_ROLE },
      schema: {
        tags: ['session'],
        description: 'Sign out: the session ends at once and its cookie is cleared.',
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const current = request.consoleSession;
      if (current) await sessions.destroy(current.id);
      await request.auditAdmin('session.signout', { name: personOf(request).sub });
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/session/password',
    {
      config: { access: EVERY_ROLE },
      schema: {
        tags: ['session'],
        description:
          "Change the signed-in person's own password: the current one is checked like a sign-in (a wrong one counts towards the lock), the new one against the policy (PASSWORD_POLICY). Every other session of the person ends; the one making the change stays.",
        body: Type.Object(
          {
            currentPassword: Type.String({ minLength: 1, maxLength: 256 }),
            newPassword: Type.String({ minLength: 1, maxLength: 256 }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            otherSessionsEnded: Type.Integer({
              minimum: 0,
              description: 'Sessions of the person ended elsewhere',
            }),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const name = personOf(request).sub;
      await accounts.changePassword(name, request.body.currentPassword, request.body.newPassword);
      const ended = await sessions.destroyAllOf(name, request.consoleSession?.id);
      // Neither password is ever recorded: only that it changed, and how many sessions ended with it.
      await request.auditAdmin('account.password', { name, otherSessionsEnded: ended });
      return { otherSessionsEnded: ended };
    },
  );

  app.get(
    '/v1/users',
    {
      config: { access: ['security-admin', 'bureau', 'auditor'] },
      schema: {
        tags: ['session'],
        description: "People's console accounts with their roles, second factor and lock state.",
        response: { 200: Type.Object({ users: Type.Array(AccountView) }), ...problemResponses },
      },
    },
    async () => ({ users: await accounts.list() }),
  );

  app.post(
    '/v1/users',
    {
      config: { access: ['security-admin'] },
      schema: {
        tags: ['session'],
        description:
          "Create a person's account, or give an existing person one more role. Refused with OFFICER_DUTY_CONFLICT when one person would hold two of the bureau (system), security-admin and auditor duties. Answers the initial password and the TOTP enrolment once.",
        body: Type.Object(
          {
            name: Type.String({ pattern: ACCOUNT_NAME_PATTERN }),
            displayName: Type.String({ minLength: 1, maxLength: 100 }),
            role: RoleSchema,
            dept: Type.Optional(Type.String({ pattern: USCC_PATTERN })),
            totp: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            user: AccountView,
            initialPassword: Type.Optional(Type.String()),
            totpUri: Type.Optional(Type.String()),
          }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const password = randomPassword();
      const result = await accounts.add({ ...request.body, password });
      await request.auditAdmin('user.add', {
        name: result.account.name,
        role: request.body.role,
        ...(request.body.dept ? { dept: request.body.dept } : {}),
        created: result.created,
      });
      reply.code(201);
      return {
        user: result.account,
        ...(result.created ? { initialPassword: password } : {}),
        ...(result.totpSecret
          ? {
              totpUri: AccountStore.totpUri(
                context.config.GOVSHARE_JWT_ISSUER,
                result.account.name,
                result.totpSecret,
              ),
            }
          : {}),
      };
    },
  );

  app.post(
    '/v1/users/:name/unlock',
    {
      config: { access: ['security-admin'] },
      schema: {
        tags: ['session'],
        description: 'Lift the lock of an account after repeated failed sign-ins.',
        params: NameParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      await accounts.unlock(request.params.name);
      await request.auditAdmin('user.unlock', { name: request.params.name });
      return reply.code(204).send(null);
    },
  );
};

/** The person a signed-in account acts as: the role asked for (which it must hold), else its first. */
export function signedInPerson(account: SignedInAccount, role: Role | undefined): Person {
  const chosen = role ?? account.roles[0];
  if (!chosen || !account.roles.includes(chosen)) {
    throw new accountErrors.SIGNIN_FAILED(`the account does not hold the role ${role}`);
  }
  return chosen === 'dept-admin'
    ? { sub: account.name, role: chosen, dept: account.dept! }
    : { sub: account.name, role: chosen };
}

export function setSessionCookie(reply: FastifyReply, id: string, secure: boolean): void {
  reply.setCookie(SESSION_COOKIE, id, { path: '/', httpOnly: true, sameSite: 'strict', secure });
}
