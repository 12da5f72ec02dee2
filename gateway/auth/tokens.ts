/**
 * Issues people's tokens with the platform token key (RS256), so a fresh install can bootstrap its
 * first users. Verification lives in the auth plugin (@fastify/jwt), which can also trust an external
 * identity provider's JWKS instead.
 */
import { Value } from '@sinclair/typebox/value';
import { createSigner } from 'fast-jwt';
import { type Person, PersonClaims } from './people.js';

export interface TokenSettings {
  issuer: string;
  audience: string;
  privateKeyPem: string;
}

export function issueToken(settings: TokenSettings, person: Person, ttlSeconds: number): string {
  if (!Value.Check(PersonClaims, person)) {
    const first = [...Value.Errors(PersonClaims, person)][0];
    throw new Error(`invalid token claims: ${first?.path || '/'} ${first?.message ?? ''}`.trim());
  }
  if (person.role === 'dept-admin' && !person.dept) {
    throw new Error('a dept-admin token needs --dept (the unified social credit code of its department)');
  }
  if (person.role !== 'dept-admin' && person.dept) {
    throw new Error(`--dept is only for dept-admin tokens; a ${person.role} acts for the platform`);
  }
  const sign = createSigner({
    key: settings.privateKeyPem,
    algorithm: 'RS256',
    iss: settings.issuer,
    aud: settings.audience,
    expiresIn: ttlSeconds * 1000,
  });
  return sign({ ...person });
}
