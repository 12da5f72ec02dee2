/**
 * Console sessions: an opaque random id in an HttpOnly cookie, stored in Redis under the SHA-256 of the
 * id (a leaked key list or dump does not give usable cookies), expiring after an idle period and at the
 * latest after a maximum lifetime. Each session has a CSRF token the console echoes in `x-csrf-token` on
 * every state-changing call.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisClient } from '../../platform/redis.js';
import { accountKeys } from './accounts.js';
import type { Person } from './people.js';

export const SESSION_COOKIE = 'govshare_session';

export interface Session {
  person: Person;
  displayName: string;
  csrfToken: string;
  createdAt: string;
  /** The last request made with the session: the idle clock runs from here. */
  lastSeen: string;
}

export interface SessionStoreOptions {
  idleSeconds: number;
  maxSeconds: number;
  now?: () => Date;
}

export class SessionStore {
  private readonly keys: ReturnType<typeof accountKeys>;
  private readonly now: () => Date;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    readonly options: SessionStoreOptions,
  ) {
    this.keys = accountKeys(prefix);
    this.now = options.now ?? (() => new Date());
  }

  async create(person: Person, displayName: string): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString('base64url');
    const session: Session = {
      person,
      displayName,
      csrfToken: randomBytes(24).toString('base64url'),
      createdAt: this.now().toISOString(),
      lastSeen: this.now().toISOString(),
    };
    const own = this.keys.sessionsOf(person.sub);
    await this.redis
      .multi()
      .set(this.key(id), JSON.stringify(session), 'EX', this.options.idleSeconds)
      .sadd(own, this.idHash(id))
      .expire(own, this.options.maxSeconds)
      .exec();
    return { id, session };
  }

  /** Ends every session of the person `name` but `except` (the cookie value of the one to keep). */
  async destroyAllOf(name: string, except?: string): Promise<number> {
    const own = this.keys.sessionsOf(name);
    const keep = except === undefined ? undefined : this.idHash(except);
    const others = (await this.redis.smembers(own)).filter((hash) => hash !== keep);
    if (others.length === 0) return 0;
    const [[, ended]] = (await this.redis
      .multi()
      .del(...others.map((hash) => this.keys.session(hash)))
      .srem(own, ...others)
      .exec()) as [[unknown, number], unknown];
    return ended;
  }

  /** The live session of this cookie value, its idle clock restarted; undefined when unknown or expired. */
  async touch(id: string): Promise<Session | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const key = this.key(id);
    const raw = await this.redis.get(key);
    if (!raw) return undefined;
    const session = JSON.parse(raw) as Session;
    const now = this.now();
    // Redis expires an idle session on its own; the clock check makes the rule exact (and testable).
    if (
      now.getTime() - Date.parse(session.lastSeen) > this.options.idleSeconds * 1000 ||
      now.getTime() - Date.parse(session.createdAt) > this.options.maxSeconds * 1000
    ) {
      await this.redis.del(key);
      return undefined;
    }
    session.lastSeen = now.toISOString();
    await this.redis.set(key, JSON.stringify(session), 'EX', this.options.idleSeconds, 'XX');
    return session;
  }

  async destroy(id: string): Promise<void> {
    if (/^[A-Za-z0-9_-]{43}$/.test(id)) await this.redis.del(this.key(id));
  }

  private key(id: string): string {
    return this.keys.session(this.idHash(id));
  }

  private idHash(id: string): string {
    return createHash('sha256').update(id).digest('base64url');
  }
}

export function csrfMatches(session: Session, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(session.csrfToken);
  return a.length === b.length && timingSafeEqual(a, b);
}
