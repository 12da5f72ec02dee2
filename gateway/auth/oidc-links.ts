/**
 * Links between OpenID Connect identities (issuer + `sub`) and console accounts. A person signs in
 * through the identity service only to an account a security administrator linked beforehand: an
 * unknown identity is refused, never given an account. One identity opens one account, and an account
 * has at most one identity (linking another replaces it).
 *
 * The identity is kept as a keyed hash (HMAC-SHA-256 under the platform subject secret): a province's
 * `sub` may well be a resident ID number, which is never stored or logged in clear.
 */
import { createHmac } from 'node:crypto';
import type { RedisClient } from '../../platform/redis.js';
import { accountKeys } from './accounts.js';
import { accountErrors } from './errors.js';

/** `sub` as OpenID Connect Core 1.0 defines it: at most 255 ASCII characters. */
export const OIDC_SUBJECT_PATTERN = '^[\\x21-\\x7e]{1,255}$';

interface StoredLink {
  issuer: string;
  identity: string;
  linkedAt: string;
}

/**
 * Links an identity to an account, atomically.
 * KEYS[1] the identity's key, KEYS[2] the account's link key, KEYS[3] the key of the identity the account
 * had (KEYS[1] when none). ARGV[1] the account name, ARGV[2] the new link (JSON), ARGV[3] the link read
 * before ('' when none). Returns 'OK', 'RETRY' when the account's link changed meanwhile, or the name of
 * the other account that holds the identity.
 */
const LINK = `
local current = redis.call('GET', KEYS[2]) or ''
if current ~= ARGV[3] then return 'RETRY' end
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return owner end
if KEYS[3] ~= KEYS[1] and redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
return 'OK'
`;

export class OidcLinks {
  private readonly keys: ReturnType<typeof accountKeys>;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly secret: Buffer,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.keys = accountKeys(prefix);
  }

  /** The keyed hash that stands for an identity, in Redis and in audit records. */
  identityHash(issuer: string, subject: string): string {
    return createHmac('sha256', this.secret).update(`oidc\0${issuer}\0${subject}`, 'utf8').digest('hex');
  }

  /**
   * Links the identity to the account (which must exist: the caller checks). Returns whether the
   * account had another identity, now replaced.
   */
  async link(name: string, issuer: string, subject: string): Promise<{ replaced: boolean }> {
    if (!new RegExp(OIDC_SUBJECT_PATTERN).test(subject)) {
      throw new accountErrors.ACCOUNT_INVALID(
        'the OpenID Connect subject must be 1 to 255 visible ASCII characters',
      );
    }
    const identity = this.identityHash(issuer, subject);
    const identityKey = this.keys.oidcSubject(identity);
    const link: StoredLink = { issuer, identity, linkedAt: this.now().toISOString() };
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = (await this.redis.get(this.keys.oidcLink(name))) ?? '';
      const previous = before ? (JSON.parse(before) as StoredLink) : undefined;
      const answer = await this.redis.eval(
        LINK,
        3,
        identityKey,
        this.keys.oidcLink(name),
        previous ? this.keys.oidcSubject(previous.identity) : identityKey,
        name,
        JSON.stringify(link),
        before,
      );
      if (answer === 'OK') return { replaced: previous !== undefined && previous.identity !== identity };
      if (answer === 'RETRY') continue;
      throw new accountErrors.OIDC_SUBJECT_LINKED(
        `this identity is linked to the account "${String(answer)}" already: one identity signs in to one account`,
      );
    }
    throw new accountErrors.OIDC_SUBJECT_LINKED(`the link of "${name}" kept changing meanwhile: retry`);
  }

  /** The account the identity signs in to, if one is linked. */
  async accountOf(issuer: string, subject: string): Promise<string | undefined> {
    return (await this.redis.get(this.keys.oidcSubject(this.identityHash(issuer, subject)))) ?? undefined;
  }
}
