/**
 * A real OpenID Connect provider on loopback (panva's `oidc-provider`) for sign-in tests, and a small
 * browser that goes through it: follows redirects, keeps the provider's cookies, and submits the
 * provider's development login and consent forms as a person would.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import type { Test } from 'tap';

export const CLIENT_ID = 'govshare-console';
export const CLIENT_SECRET = 'a-test-client-secret-of-the-console-0123456789';

export interface TestIdp {
  issuer: string;
  /**
   * Signs `login` in at the provider, starting at the authorization URL the gateway sent the browser to;
   * answers the URL the provider finally sends the browser back to (the gateway's callback, with the
   * code). `mfa`: the person signs in with a second factor, so the provider asserts `amr` mfa.
   */
  signIn(authorizationUrl: string, login: string, options?: { mfa?: boolean; abort?: boolean }): Promise<URL>;
}

export async function startIdp(t: Test, redirectUri: string): Promise<TestIdp> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['a-test-cookie-signing-key-0123456789'] },
    // The defaults, with `amr` in every ID token whose login set it (as identity services with MFA do).
    claims: { acr: null, sid: null, auth_time: null, iss: null, openid: ['sub', 'amr'] },
    async findAccount(_ctx, sub) {
      return { accountId: sub, claims: async () => ({ sub }) };
    },
  });
  // The provider's own multi-factor login page (a stand-in for its OTP step): it finishes the login
  // interaction with the methods used, which the provider then asserts in the ID token's `amr`.
  provider.use(async (ctx, next) => {
    const match = /^\/interaction\/([^/]+)\/mfa$/.exec(ctx.path);
    if (!match || ctx.method !== 'POST') return next();
    const login = new URLSearchParams(ctx.querystring).get('login') ?? '';
    const returnTo = await provider.interactionResult(
      ctx.req,
      ctx.res,
      { login: { accountId: login, amr: ['pwd', 'otp', 'mfa'] } },
      { mergeWithLastSubmission: false },
    );
    ctx.status = 303;
    ctx.redirect(returnTo);
  });
  server.on('request', provider.callback());
  t.teardown(() => new Promise<void>((done) => server.close(() => done())));

  return {
    issuer,
    async signIn(authorizationUrl, login, { mfa = false, abort = false } = {}) {
      const jar = new Map<string, string>();
      const request = async (url: URL, init: { method?: string; body?: string } = {}) => {
        const response = await fetch(url, {
          method: init.method ?? 'GET',
          redirect: 'manual',
          headers: {
            accept: 'text/html',
            cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; '),
            ...(init.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          },
          ...(init.body ? { body: init.body } : {}),
        });
        for (const line of response.headers.getSetCookie()) {
          const [pair] = line.split(';');
          const at = pair!.indexOf('=');
          const [name, value] = [pair!.slice(0, at), pair!.slice(at + 1)];
          if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') jar.delete(name);
          else jar.set(name, value);
        }
        return response;
      };
      let url = new URL(authorizationUrl);
      for (let step = 0; step < 12; step++) {
        if (url.origin !== issuer) return url; // back to the client: the callback
        const response = await request(url);
        const location = response.headers.get('location');
        if (location) {
          await response.arrayBuffer();
          url = new URL(location, url);
          continue;
        }
        const page = await response.text();
        if (response.status !== 200) throw new Error(`the provider answered ${response.status}: ${page}`);
        // A development interaction page: the login form, or the consent form.
        const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1];
        if (!action) throw new Error(`no form on the provider's page: ${page.slice(0, 500)}`);
        const fields = new URLSearchParams();
        for (const [, name, value] of page.matchAll(
          /<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g,
        )) {
          fields.set(name!, value!);
        }
        const isLogin = /name="login"/.test(page);
        if (isLogin && abort) {
          // The person cancels at the provider's login page ("[ Cancel ]").
          url = new URL(`${action}/abort`, url);
          continue;
        }
        if (isLogin && mfa) {
          const submitted = await request(new URL(`${action}/mfa?login=${encodeURIComponent(login)}`, url), {
            method: 'POST',
          });
          await submitted.arrayBuffer();
          url = new URL(submitted.headers.get('location')!, url);
          continue;
        }
        if (isLogin) {
          fields.set('login', login);
          fields.set('password', 'any password: the development login accepts it');
        }
        const submitted = await request(new URL(action, url), { method: 'POST', body: fields.toString() });
        await submitted.arrayBuffer();
        const next = submitted.headers.get('location');
        if (!next) throw new Error(`the provider's form answered ${submitted.status} without a redirect`);
        url = new URL(next, url);
      }
      throw new Error('the provider did not send the browser back');
    },
  };
}
