import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSigner } from 'fast-jwt';
import t from 'tap';
import { buildTestApp } from '../helpers/app.js';

t.test("people's tokens can be verified with an external identity provider's JWKS", async (t) => {
  const idp = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...idp.publicKey.export({ format: 'jwk' }), kid: 'idp-key-1', alg: 'RS256', use: 'sig' };
  let fetched = 0;
  const server = createServer((req, res) => {
    fetched++;
    if (req.url !== '/realms/gov/jwks') {
      res.statusCode = 404;
      return res.end();
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { app } = await buildTestApp(t, {
    env: {
      GOVSHARE_JWT_JWKS_URL: `${origin}/realms/gov/jwks`,
      GOVSHARE_JWT_ISSUER: 'https://idp.gov.example',
      GOVSHARE_JWT_AUDIENCE: 'govshare',
    },
  });
  const sign = (key: string, kid = 'idp-key-1') =>
    createSigner({
      key,
      algorithm: 'RS256',
      kid,
      iss: 'https://idp.gov.example',
      aud: 'govshare',
      expiresIn: 60_000,
    })({
      sub: 'auditor-1',
      role: 'auditor',
    });
  const ok = await app.inject({
    method: 'GET',
    url: '/v1/departments',
    headers: {
      authorization: `Bearer ${sign(idp.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())}`,
    },
  });
  t.equal(ok.statusCode, 200, 'a token of the identity provider is accepted');
  t.ok(fetched >= 1, 'the JWKS was fetched');
  const forged = await app.inject({
    method: 'GET',
    url: '/v1/departments',
    headers: {
      authorization: `Bearer ${sign(stranger.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())}`,
    },
  });
  t.equal(forged.statusCode, 401, 'a token signed with another key is refused');
  t.equal(forged.json().code, 'AUTH_TOKEN_INVALID');
});
