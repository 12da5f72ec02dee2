/**
 * People's console accounts: one account per person (实名), its roles, an argon2id password hash, a TOTP
 * secret for the roles that need a second factor, and the lockout counter. Stored in Redis under the
 * `{accounts}` hash tag; every key comes from `accountKeys`.
 *
 * Roles are the ones bearer tokens carry (`people.ts`), so a signed-in person is authorized exactly like
 * a token holder. Three-officer separation (三员分立) is enforced per person here: the system (bureau),
 * security (security-admin) and audit (auditor) duties cannot be given to one account, and a
 * department's administrator is never also a platform officer.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Algorithm, hash, verify as verifyPassword } from '@node-rs/argon2';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { generateSecret, generateURI, verify as verifyTotp } from 'otplib';
import { USCC_PATTERN } from '../../catalog/schema.js';
import type { RedisClient } from '../../platform/redis.js';
import { accountErrors } from './errors.js';
import { ROLES, type Role } from './people.js';

/** The three officer duties (三员) and the role that carries each. */
export const OFFICER_DUTIES: Readonly<Partial<Record<Role, string>>> = {
  bureau: 'system administration (系统管理员)',
  'security-admin': 'security administration (安全保密管理员)',
  auditor: 'audit administration (安全审计员)',
};

/** Roles that sign in with a second factor (等保 level 3). */
export const TOTP_ROLES: ReadonlySet<Role> = new Set<Role>(['bureau', 'auditor', 'security-admin']);

export const ACCOUNT_NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{1,63}$';
export const MIN_PASSWORD_LENGTH = 12;

/** Stands for a second factor the identity service asserted (OpenID Connect `amr`), so no code is asked. */
const SECOND_FACTOR_ASSERTED = Symbol('second factor asserted');

export const NewAccount = Type.Object(
  {
    name: Type.String({ pattern: ACCOUNT_NAME_PATTERN, description: 'Sign-in name of the person' }),
    displayName: Type.String({
      minLength: 1,
      maxLength: 100,
      description: 'Full name, as shown and audited',
    }),
    role: Type.Union(
      ROLES.map((r) => Type.Literal(r)),
      { description: 'Role given to the person' },
    ),
    dept: Type.Optional(Type.String({ pattern: USCC_PATTERN, description: "A dept-admin's department" })),
    password: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 256 }),
    /** Enrol a second factor although the role does not require one. */
    totp: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type NewAccount = Static<typeof NewAccount>;

/** What is stored per account (JSON). */
interface StoredAccount {
  name: string;
  displayName: string;
  dept?: string;
  passwordHash: string;
  /** The TOTP secret sealed with AES-256-GCM under the platform's key (see `sealTotpSecret`). */
  totpSealed?: string;
  /** A TOTP secret in clear, as written by a store without a seal key (tests, tools). */
  totpSecret?: string;
  createdAt: string;
}

/**
 * The key TOTP secrets are sealed with: HKDF-SHA256 of a platform secret with its own label, so a copy of
 * Redis alone does not give anyone the codes of the bureau's, the auditors' or the security officer's
 * authenticators.
 */
export function totpSealKey(platformSecret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', platformSecret, Buffer.alloc(0), 'govshare:totp-secret:v1', 32));
}

/** AES-256-GCM, the account name as associated data (a sealed secret cannot be moved to another account). */
export function sealTotpSecret(key: Buffer, name: string, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(name));
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return `v1.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
}

export function openTotpSecret(key: Buffer, name: string, sealed: string): string {
  const raw = Buffer.from(sealed.slice(3), 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12)).setAAD(Buffer.from(name));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString(
    'utf8',
  );
}

/** An account as shown to administrators: never the hash or the secret. */
export const AccountView = Type.Object({
  name: Type.String(),
  displayName: Type.String(),
  roles: Type.Array(Type.String()),
  dept: Type.Optional(Type.String()),
  totp: Type.Boolean(),
  createdAt: Type.String(),
  lockedForSeconds: Type.Optional(Type.Integer()),
});
export type AccountView = Static<typeof AccountView>;

export interface SignedInAccount {
  name: string;
  displayName: string;
  roles: Role[];
  dept?: string;
}

export function accountKeys(prefix: string) {
  const base = `${prefix}{accounts}:`;
  return {
    /** String, JSON StoredAccount. */
    account: (name: string) => `${base}acct:${name}`,
    /** Set of the account's roles. */
    roles: (name: string) => `${base}roles:${name}`,
    /** Set of account names. */
    names: `${base}names`,
    /** Counter of failed sign-ins, expiring GOVSHARE_LOGIN_LOCK_MINUTES after the first. */
    failures: (name: string) => `${base}failures:${name}`,
    /** The last TOTP time step accepted, so a code is never accepted twice. */
    totpStep: (name: string) => `${base}totp-step:${name}`,
    /** String, JSON session, expiring after the idle timeout (see sessions.ts). */
    session: (idHash: string) => `${base}session:${idHash}`,
    /** String, the account name an OpenID Connect identity signs in to (see oidc-links.ts). */
    oidcSubject: (identityHash: string) => `${base}oidc-subject:${identityHash}`,
    /** String, JSON link of an account to its OpenID Connect identity. */
    oidcLink: (name: string) => `${base}oidc-link:${name}`,
    /** String, JSON OpenID Connect sign-in under way (state, nonce, PKCE verifier), see oidc.ts. */
    oidcFlow: (idHash: string) => `${base}oidc-flow:${idHash}`,
    /** String, JSON OpenID Connect sign-in waiting for the one-time code. */
    oidcPending: (idHash: string) => `${base}oidc-pending:${idHash}`,
    /** Set of the id hashes of a person's sessions (some may have expired), to end them all at once. */
    sessionsOf: (name: string) => `${base}sessions-of:${name}`,
  };
}

/**
 * Adds a role to an account atomically, refusing a second officer duty.
 * KEYS[1] the account's role set. ARGV[1] the role, ARGV[2..] the officer roles.
 * Returns 1 when added, 0 when already held, or the conflicting role.
 */
const ADD_ROLE = `
local role = ARGV[1]
if redis.call('SISMEMBER', KEYS[1], role) == 1 then return 0 end
local isOfficer = false
for i = 2, #ARGV do if ARGV[i] == role then isOfficer = true end end
if isOfficer then
  for i = 2, #ARGV do
    if ARGV[i] ~= role and redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 1 then return ARGV[i] end
  end
end
redis.call('SADD', KEYS[1], role)
return 1
`;

export interface AccountStoreOptions {
  /** Failed sign-ins before the account locks. @defaultValue 5 */
  maxFailures?: number;
  /** How long a lock (and the failure count) lasts. @defaultValue 900 */
  lockSeconds?: number;
  /** Seal TOTP secrets at rest with this key (`totpSealKey`); the gateway and the CLI always give it. */
  sealKey?: Buffer;
  now?: () => Date;
}

export class AccountStore {
  private readonly keys: ReturnType<typeof accountKeys>;
  private readonly maxFailures: number;
  private readonly lockSeconds: number;
  private readonly now: () => Date;
  private readonly sealKey: Buffer | undefined;
  /** Verified against when the account does not exist, so the answer takes as long either way. */
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    options: AccountStoreOptions = {},
  ) {
    this.keys = accountKeys(prefix);
    this.maxFailures = options.maxFailures ?? 5;
    this.lockSeconds = options.lockSeconds ?? 900;
    this.now = options.now ?? (() => new Date());
    this.sealKey = options.sealKey;
  }

  /** What is stored for a new TOTP secret: sealed when the store has the key. */
  private totpField(name: string, secret: string): Pick<StoredAccount, 'totpSealed' | 'totpSecret'> {
    return this.sealKey ? { totpSealed: sealTotpSecret(this.sealKey, name, secret) } : { totpSecret: secret };
  }

  private totpSecretOf(account: StoredAccount): string | undefined {
    if (account.totpSealed) {
      if (!this.sealKey)
        throw new Error(`the TOTP secret of "${account.name}" is sealed: this store has no seal key`);
      return openTotpSecret(this.sealKey, account.name, account.totpSealed);
    }
    return account.totpSecret;
  }

  /**
   * Creates the account, or gives an existing person one more role (checked against the three-officer
   * rule). Returns the TOTP secret once, when one was enrolled now.
   */
  async add(input: NewAccount): Promise<{ account: AccountView; created: boolean; totpSecret?: string }> {
    if (!Value.Check(NewAccount, input)) {
      const first = [...Value.Errors(NewAccount, input)][0];
      throw new accountErrors.ACCOUNT_INVALID(
        `account ${first?.path || '/'}: ${first?.message ?? 'invalid'}`,
      );
    }
    if (input.role === 'dept-admin' && !input.dept) {
      throw new accountErrors.ACCOUNT_INVALID(
        'a dept-admin needs its department (--dept, a unified social credit code)',
      );
    }
    if (input.role !== 'dept-admin' && input.dept) {
      throw new accountErrors.ACCOUNT_INVALID(
        `--dept is only for dept-admin; a ${input.role} acts for the platform`,
      );
    }
    const existing = await this.stored(input.name);
    if (existing) return this.addRole(existing, input);
    const wantsTotp = TOTP_ROLES.has(input.role) || input.totp === true;
    const totpSecret = wantsTotp ? generateSecret() : undefined;
    const account: StoredAccount = {
      name: input.name,
      displayName: input.displayName,
      ...(input.dept ? { dept: input.dept } : {}),
      passwordHash: await hashPassword(input.password),
      ...(totpSecret ? this.totpField(input.name, totpSecret) : {}),
      createdAt: this.now().toISOString(),
    };
    const created = await this.redis.set(this.keys.account(input.name), JSON.stringify(account), 'NX');
    if (created !== 'OK')
      throw new accountErrors.ACCOUNT_EXISTS(`account "${input.name}" was created meanwhile`);
    await this.redis.sadd(this.keys.roles(input.name), input.role);
    await this.redis.sadd(this.keys.names, input.name);
    return { account: await this.view(account), created: true, ...(totpSecret ? { totpSecret } : {}) };
  }

  private async addRole(existing: StoredAccount, input: NewAccount) {
    const roles = await this.roles(existing.name);
    if (roles.includes(input.role)) {
      throw new accountErrors.ACCOUNT_EXISTS(
        `account "${input.name}" exists and already holds ${input.role}`,
      );
    }
    if ((input.role === 'dept-admin') !== roles.includes('dept-admin') || input.dept !== existing.dept) {
      throw new accountErrors.ACCOUNT_INVALID(
        `account "${input.name}" is ${roles.join(', ')}${existing.dept ? ` of ${existing.dept}` : ''}: a department's administrator cannot also act for the platform, nor for another department`,
      );
    }
    const answer = await this.redis.eval(
      ADD_ROLE,
      1,
      this.keys.roles(existing.name),
      input.role,
      ...Object.keys(OFFICER_DUTIES),
    );
    if (typeof answer === 'string') {
      throw new accountErrors.OFFICER_DUTY_CONFLICT(
        `"${input.name}" holds ${OFFICER_DUTIES[answer as Role]} (${answer}); ${OFFICER_DUTIES[input.role]} (${input.role}) must be held by another person`,
      );
    }
    let totpSecret: string | undefined;
    if (TOTP_ROLES.has(input.role) && !existing.totpSecret && !existing.totpSealed) {
      totpSecret = generateSecret();
      Object.assign(existing, this.totpField(existing.name, totpSecret));
      await this.redis.set(this.keys.account(existing.name), JSON.stringify(existing), 'XX');
    }
    return { account: await this.view(existing), created: false, ...(totpSecret ? { totpSecret } : {}) };
  }

  async get(name: string): Promise<AccountView | undefined> {
    const account = await this.stored(name);
    return account ? this.view(account) : undefined;
  }

  async list(): Promise<AccountView[]> {
    const names = (await this.redis.smembers(this.keys.names)).sort();
    const views = await Promise.all(names.map((name) => this.get(name)));
    return views.filter((v): v is AccountView => v !== undefined);
  }

  /**
   * Checks a sign-in: lock first (a locked account is not even checked), then password and, where the
   * account has one, the TOTP code. Every failure counts towards the lock, whether or not the name exists.
   */
  async signIn(name: string, password: string, totp: string | undefined): Promise<SignedInAccount> {
    await this.refuseWhenLocked(name);
    const account = await this.stored(name);
    const passwordOk = await verifyPassword(account?.passwordHash ?? (await this.dummy()), password);
    if (!account || !passwordOk) return this.fail(name, 'wrong account name or password');
    return this.secondFactor(account, totp);
  }

  /**
   * Sign-in of an account whose person proved who they are at a linked identity service (OpenID Connect)
   * instead of with the password. The lock holds as for a password; the second factor is asked for
   * unless the identity service asserted a multi-factor sign-in (`secondFactorAsserted`).
   */
  async signInLinked(
    name: string,
    totp: string | undefined,
    secondFactorAsserted: boolean,
  ): Promise<SignedInAccount> {
    await this.refuseWhenLocked(name);
    const account = await this.stored(name);
    if (!account) throw new accountErrors.ACCOUNT_UNKNOWN(`no account "${name}"`);
    return this.secondFactor(account, secondFactorAsserted ? SECOND_FACTOR_ASSERTED : totp);
  }

  private async refuseWhenLocked(name: string): Promise<void> {
    const failures = Number((await this.redis.get(this.keys.failures(name))) ?? 0);
    if (failures >= this.maxFailures) throw await this.locked(name);
  }

  /** The TOTP check where the account has a secret (wrong codes count towards the lock), then success. */
  private async secondFactor(
    account: StoredAccount,
    totp: string | undefined | typeof SECOND_FACTOR_ASSERTED,
  ): Promise<SignedInAccount> {
    const name = account.name;
    const secret = this.totpSecretOf(account);
    if (secret && totp !== SECOND_FACTOR_ASSERTED) {
      if (totp === undefined || totp === '') {
        // Not counted: the first factor was right, the client asks for the code next.
        throw new accountErrors.TOTP_REQUIRED('this account signs in with a one-time code: send `totp`');
      }
      const last = await this.redis.get(this.keys.totpStep(name));
      const result = /^\d{6}$/.test(totp)
        ? await verifyTotp({
            secret,
            token: totp,
            epoch: Math.floor(this.now().getTime() / 1000),
            epochTolerance: 30,
            ...(last ? { afterTimeStep: Number(last) } : {}),
          })
        : { valid: false as const };
      if (!result.valid) return this.fail(name, 'wrong or already used one-time code');
      if ('timeStep' in result) await this.redis.set(this.keys.totpStep(name), String(result.timeStep));
    }
    await this.redis.del(this.keys.failures(name));
    return {
      name: account.name,
      displayName: account.displayName,
      roles: await this.roles(name),
      ...(account.dept ? { dept: account.dept } : {}),
    };
  }

  /**
   * Changes a person's password: the current one is checked like a sign-in (a wrong one counts towards
   * the lock, a locked account changes nothing), the new one against the policy (at least
   * MIN_PASSWORD_LENGTH characters, not the current one, not containing the account name).
   */
  async changePassword(name: string, current: string, next: string): Promise<void> {
    const failures = Number((await this.redis.get(this.keys.failures(name))) ?? 0);
    if (failures >= this.maxFailures) throw await this.locked(name);
    const account = await this.stored(name);
    const currentOk = await verifyPassword(account?.passwordHash ?? (await this.dummy()), current);
    if (!account || !currentOk) return this.fail(name, 'wrong current password');
    await this.redis.del(this.keys.failures(name));
    const why = passwordPolicyViolation(name, current, next);
    if (why) throw new accountErrors.PASSWORD_POLICY(why);
    const updated: StoredAccount = { ...account, passwordHash: await hashPassword(next) };
    await this.redis.set(this.keys.account(name), JSON.stringify(updated), 'XX');
  }

  async unlock(name: string): Promise<void> {
    if (!(await this.stored(name))) throw new accountErrors.ACCOUNT_UNKNOWN(`no account "${name}"`);
    await this.redis.del(this.keys.failures(name));
  }

  /** The secret's otpauth:// URI, for an authenticator app (shown once, at enrolment). */
  static totpUri(issuer: string, name: string, secret: string): string {
    return generateURI({ issuer, label: name, secret });
  }

  private async fail(name: string, why: string): Promise<never> {
    const key = this.keys.failures(name);
    const [[, count]] = (await this.redis.multi().incr(key).expire(key, this.lockSeconds, 'NX').exec()) as [
      [unknown, number],
    ];
    if (count >= this.maxFailures) {
      // The lock lasts its full time from the failure that set it, not from the first failure counted.
      if (count === this.maxFailures) await this.redis.expire(key, this.lockSeconds);
      throw await this.locked(name);
    }
    throw new accountErrors.SIGNIN_FAILED(
      `${why}; ${this.maxFailures - count} attempt(s) left before the lock`,
    );
  }

  private async locked(name: string) {
    const ttl = await this.redis.ttl(this.keys.failures(name));
    const error = new accountErrors.ACCOUNT_LOCKED(
      `too many failed sign-ins: the account is locked for ${Math.max(ttl, 1)} s more, or until a security administrator unlocks it`,
    );
    return Object.assign(error, { retryAfterSeconds: Math.max(ttl, 1) });
  }

  private async stored(name: string): Promise<StoredAccount | undefined> {
    if (!new RegExp(ACCOUNT_NAME_PATTERN).test(name)) return undefined;
    const raw = await this.redis.get(this.keys.account(name));
    return raw ? (JSON.parse(raw) as StoredAccount) : undefined;
  }

  private async roles(name: string): Promise<Role[]> {
    const held = await this.redis.smembers(this.keys.roles(name));
    return ROLES.filter((r) => held.includes(r));
  }

  private async view(account: StoredAccount): Promise<AccountView> {
    const [roles, failures, ttl] = await Promise.all([
      this.roles(account.name),
      this.redis.get(this.keys.failures(account.name)),
      this.redis.ttl(this.keys.failures(account.name)),
    ]);
    return {
      name: account.name,
      displayName: account.displayName,
      roles,
      ...(account.dept ? { dept: account.dept } : {}),
      totp: account.totpSecret !== undefined || account.totpSealed !== undefined,
      createdAt: account.createdAt,
      ...(Number(failures ?? 0) >= this.maxFailures ? { lockedForSeconds: Math.max(ttl, 1) } : {}),
    };
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
    return this.dummyHash;
  }
}

/** Why `next` may not be `name`'s new password (replacing `current`), or undefined when it may. */
export function passwordPolicyViolation(name: string, current: string, next: string): string | undefined {
  if ([...next].length < MIN_PASSWORD_LENGTH)
    return `the new password needs at least ${MIN_PASSWORD_LENGTH} characters`;
  if (next.length > 256) return 'the new password may have at most 256 characters';
  if (next === current) return 'the new password must differ from the current one';
  if (next.toLowerCase().includes(name.toLowerCase()))
    return 'the new password must not contain the account name';
  return undefined;
}

/** argon2id with the library's defaults (m=19 MiB, t=2, p=1: OWASP's minimum profile). */
export function hashPassword(password: string): Promise<string> {
  return hash(password, { algorithm: Algorithm.Argon2id });
}

/** A random initial password (a person changes it at first sign-in in a later version). */
export function randomPassword(): string {
  return randomBytes(15).toString('base64url');
}
