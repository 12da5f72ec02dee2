/**
 * People (bureau staff, department administrators, auditors, security administrators) authenticate with
 * JWT bearer tokens. The three duties of administration, security and audit (三员分立) are separate roles:
 * no role includes another.
 */
import { type Static, Type } from '@sinclair/typebox';
import { USCC_PATTERN } from '../../catalog/schema.js';

export const ROLES = ['bureau', 'dept-admin', 'auditor', 'security-admin'] as const;
export type Role = (typeof ROLES)[number];

export const PersonClaims = Type.Object({
  sub: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\s]' }),
  role: Type.Union(ROLES.map((r) => Type.Literal(r))),
  dept: Type.Optional(Type.String({ pattern: USCC_PATTERN })),
});
export type Person = Static<typeof PersonClaims>;

/** Who may call a route: `public` (no credentials), a list of people's roles, or signed department systems. */
export type Access = 'public' | 'system' | readonly Role[];

/** A reference to the acting person, as stored in history entries and audit records. */
export function actorOf(person: Person): { role: Role; name: string; dept?: string } {
  return person.dept
    ? { role: person.role, name: person.sub, dept: person.dept }
    : { role: person.role, name: person.sub };
}

export function parseTtl(ttl: string): number {
  const match = /^(\d{1,6})(s|m|h|d)$/.exec(ttl);
  if (!match) throw new Error(`--ttl must look like 30m, 8h or 7d (got "${ttl}")`);
  const seconds = Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as 's' | 'm' | 'h' | 'd'];
  if (seconds < 60 || seconds > 30 * 86400) throw new Error('--ttl must be between 1 minute and 30 days');
  return seconds;
}
