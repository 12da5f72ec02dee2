/**
 * The data-use agreement before access ([XY] 25, 33; [HC-R] 37): a resource may carry versioned terms
 * of use and a confidentiality undertaking (`useTerms` of its catalog entry). A consumer department
 * accepts the version in force — recorded with the person and the time — before its first data call or
 * bulk job on the resource; a new version needs a new acceptance. A platform setting can require every
 * resource to carry terms (a resource without them is then refused).
 *
 * Acceptances are kept per resource in a hash (department → latest acceptance) and a log of every
 * acceptance. The data path asks `acceptedVersion` only for resources that carry terms, and remembers
 * positive answers (an acceptance of a version is never taken back; a new version is a new key).
 */
import { type Static, Type } from '@sinclair/typebox';
import type { ResourceEntry } from '../catalog/schema.js';
import { USCC_PATTERN } from '../catalog/schema.js';
import { BoundedSet } from '../platform/bounded-set.js';
import type { RedisClient } from '../platform/redis.js';
import { type Deny, deny, TERMS_FORBIDDEN, TERMS_NONE, TERMS_VERSION_STALE } from './errors.js';
import { Actor } from './grant.js';
import { useTermsKeys } from './keys.js';

export const TermsAcceptance = Type.Object(
  {
    resourceCode: Type.String(),
    deptCode: Type.String({
      pattern: USCC_PATTERN,
      description: 'The consumer department bound by the terms',
    }),
    version: Type.String({ description: 'The version of the terms accepted' }),
    acceptedBy: Actor,
    acceptedAt: Type.String({ format: 'date-time', description: 'Platform record time' }),
  },
  { additionalProperties: false, description: '数据使用协议的接受记录' },
);
export type TermsAcceptance = Static<typeof TermsAcceptance>;

/**
 * Whether a call or job of `deptCode` may proceed under the entry's terms: undefined when it may, else the
 * deny (TERMS_NOT_ACCEPTED naming the version to accept; RESOURCE_TERMS_MISSING when terms are required
 * on the platform and the entry has none).
 */
export function checkUseTerms(
  entry: ResourceEntry,
  accepted: string | undefined,
  options: { required: boolean },
): Deny | undefined {
  const terms = entry.useTerms;
  if (!terms) {
    return options.required
      ? deny(
          'RESOURCE_TERMS_MISSING',
          `resource ${entry.code} carries no data-use terms, which this platform requires before any use; its provider must add them`,
        )
      : undefined;
  }
  if (accepted === terms.version) return undefined;
  return deny(
    'TERMS_NOT_ACCEPTED',
    `your department has not accepted version ${terms.version} of the data-use terms of resource ${entry.code}${accepted ? ` (it accepted ${accepted})` : ''}: a dept-admin accepts them at POST /v1/catalog/${encodeURIComponent(entry.code)}/terms/acceptances with {"version":"${terms.version}"}`,
  );
}

export class UseTermsStore {
  readonly #redis: RedisClient;
  readonly #keys: ReturnType<typeof useTermsKeys>;
  readonly #now: () => Date;
  /** `dept|resource|version` acceptances seen: never taken back, so safe to remember. */
  readonly #seen = new BoundedSet<string>(100_000);

  constructor(redis: RedisClient, prefix: string, options: { now?: () => Date } = {}) {
    this.#redis = redis;
    this.#keys = useTermsKeys(prefix);
    this.#now = options.now ?? (() => new Date());
  }

  /** Records the acceptance of the version in force by a dept-admin of the consumer department. */
  async accept(actor: Actor, entry: ResourceEntry, version: string): Promise<TermsAcceptance> {
    if (actor.role !== 'dept-admin' || actor.dept === undefined) {
      throw new TERMS_FORBIDDEN(
        `role ${actor.role} cannot accept data-use terms; an administrator of the consumer department does`,
      );
    }
    const terms = entry.useTerms;
    if (!terms) throw new TERMS_NONE(`resource ${entry.code} carries no data-use terms to accept`);
    if (version !== terms.version) {
      throw new TERMS_VERSION_STALE(
        `version ${version} is not the terms in force of resource ${entry.code}: read and accept version ${terms.version}`,
      );
    }
    const acceptance: TermsAcceptance = {
      resourceCode: entry.code,
      deptCode: actor.dept,
      version,
      acceptedBy: { role: actor.role, name: actor.name, dept: actor.dept },
      acceptedAt: this.#now().toISOString(),
    };
    const json = JSON.stringify(acceptance);
    await this.#redis
      .multi()
      .hset(this.#keys.accepted(entry.code), actor.dept, json)
      .rpush(this.#keys.log(entry.code), json)
      .exec();
    return acceptance;
  }

  /** The department's latest acceptance of the resource's terms. */
  async latest(deptCode: string, resourceCode: string): Promise<TermsAcceptance | undefined> {
    const json = await this.#redis.hget(this.#keys.accepted(resourceCode), deptCode);
    return json === null ? undefined : (JSON.parse(json) as TermsAcceptance);
  }

  /** The version the department accepted last; for the data path (remembers `current` once accepted). */
  async acceptedVersion(
    deptCode: string,
    resourceCode: string,
    current: string,
  ): Promise<string | undefined> {
    const key = `${deptCode}|${resourceCode}|${current}`;
    if (this.#seen.has(key)) return current;
    const version = (await this.latest(deptCode, resourceCode))?.version;
    if (version === current) this.#seen.add(key);
    return version;
  }

  /** Every acceptance of the resource's terms, oldest first (the provider and the bureau read it). */
  async history(resourceCode: string): Promise<TermsAcceptance[]> {
    const all = await this.#redis.lrange(this.#keys.log(resourceCode), 0, -1);
    return all.map((json) => JSON.parse(json) as TermsAcceptance);
  }
}
