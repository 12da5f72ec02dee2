/**
 * Grants in Redis, the system of record. One consumer (department + system) has at most one current
 * grant per resource: a new grant supersedes the previous live one atomically. Every change is
 * published on the `changed` channel so that gateway instances drop the grants they cached.
 *
 * Changes are optimistic: read the grant, decide in TypeScript, then a Lua script writes only if the
 * stored JSON is still what was read (otherwise re-read and decide again).
 */
import { randomUUID } from 'node:crypto';
import type { ResourceEntry } from '../catalog/schema.js';
import type { RedisClient } from '../platform/redis.js';
import {
  GRANT_CONFLICT,
  GRANT_FORBIDDEN,
  GRANT_ILLEGAL_TRANSITION,
  GRANT_INVALID,
  GRANT_NOT_FOUND,
} from './errors.js';
import {
  type Actor,
  type Grant,
  type GrantRequest,
  type GrantSource,
  type GrantStatus,
  validateGrantCreation,
} from './grant.js';
import { grantKeys } from './keys.js';
import { type OnwardConsentRequest, onwardConsent } from './onward.js';

/*
 * KEYS[1] data hash, KEYS[2] current hash, KEYS[3..6] index sorted sets (all, consumer, provider, resource)
 * ARGV[1] consumer key, ARGV[2] id of the current grant as read ('' = none), ARGV[3] its JSON as read,
 * ARGV[4] its new JSON ('' = unchanged), ARGV[5] new id, ARGV[6] new JSON, ARGV[7] score (grantedAt ms),
 * ARGV[8] channel, ARGV[9] change message of the new grant, ARGV[10] of the superseded one ('' = none)
 * Returns 1; 0 when the current grant changed since it was read; -1 when the new id is taken.
 */
const CREATE_LUA = `
if redis.call('HEXISTS', KEYS[1], ARGV[5]) == 1 then return -1 end
local cur = redis.call('HGET', KEYS[2], ARGV[1]) or ''
if cur ~= ARGV[2] then return 0 end
if cur ~= '' then
  if redis.call('HGET', KEYS[1], cur) ~= ARGV[3] then return 0 end
  if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], cur, ARGV[4]) end
end
redis.call('HSET', KEYS[1], ARGV[5], ARGV[6])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[5])
for i = 3, 6 do redis.call('ZADD', KEYS[i], ARGV[7], ARGV[5]) end
if ARGV[10] ~= '' then redis.call('PUBLISH', ARGV[8], ARGV[10]) end
redis.call('PUBLISH', ARGV[8], ARGV[9])
return 1
`;

/*
 * KEYS[1] data hash
 * ARGV[1] channel, then per grant 4 values: id, JSON as read, new JSON, change message
 * All or nothing: returns 0 if any grant changed since it was read, else the number of grants written.
 */
const UPDATE_LUA = `
for i = 2, #ARGV, 4 do
  if redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i + 1] then return 0 end
end
for i = 2, #ARGV, 4 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
  redis.call('PUBLISH', ARGV[1], ARGV[i + 3])
end
return (#ARGV - 1) / 4
`;

/*
 * KEYS[1] current hash, KEYS[2] data hash; ARGV[1] consumer key
 * Returns the JSON of the consumer's current grant, or nil.
 */
const CURRENT_LUA = `
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return nil end
return redis.call('HGET', KEYS[2], id)
`;

interface GrantCommands {
  govshareGrantCreate(...args: (string | number)[]): Promise<number>;
  govshareGrantUpdate(...args: string[]): Promise<number>;
  govshareGrantCurrent(current: string, data: string, consumer: string): Promise<string | null>;
}

/** The channel on which every grant change is announced, as JSON `GrantChange`. */
export const grantsChangedChannel = (prefix: string) => grantKeys(prefix).changed;

/** What a cache keys a consumer's grant by: department, system and resource. */
export const consumerKey = (deptCode: string, systemId: string, resourceCode: string) =>
  `${deptCode}:${systemId}:${resourceCode}`;

export interface GrantChange {
  id: string;
  /** `consumerKey(deptCode, systemId, resourceCode)` of the grant. */
  consumer: string;
  status: GrantStatus;
}

export function parseGrantChange(message: string): GrantChange | undefined {
  try {
    const value = JSON.parse(message) as Partial<GrantChange>;
    if (
      typeof value.id === 'string' &&
      typeof value.consumer === 'string' &&
      typeof value.status === 'string'
    ) {
      return { id: value.id, consumer: value.consumer, status: value.status };
    }
  } catch {}
  return undefined;
}

export interface GrantListQuery {
  consumerDept?: string;
  providerDept?: string;
  resourceCode?: string;
  status?: GrantStatus;
  /** 1-based. */
  page: number;
  /** 1 to 500. */
  pageSize: number;
}

export interface GrantPage {
  grants: Grant[];
  total: number;
  page: number;
  pageSize: number;
}

export interface GrantStoreOptions {
  /** @defaultValue () => new Date() */
  now?: () => Date;
}

// Optimistic retries: n concurrent writers of one consumer or grant need at most n attempts.
const MAX_ATTEMPTS = 10;
const MAX_PAGE_SIZE = 500;

/** Bureau and auditors see every grant; a dept-admin those its department consumes or provides. */
export function canView(actor: Actor, grant: Grant): boolean {
  if (actor.role === 'bureau' || actor.role === 'auditor') return true;
  if (actor.role === 'dept-admin' && actor.dept !== undefined) {
    return actor.dept === grant.deptCode || actor.dept === grant.providerCode;
  }
  return false;
}

export class GrantStore {
  /** Channel of the change announcements (see `grantsChangedChannel`). */
  readonly channel: string;
  readonly #redis: RedisClient;
  readonly #commands: GrantCommands;
  readonly #keys: ReturnType<typeof grantKeys>;
  readonly #now: () => Date;

  constructor(redis: RedisClient, prefix: string, options: GrantStoreOptions = {}) {
    this.#redis = redis;
    this.#keys = grantKeys(prefix);
    this.channel = this.#keys.changed;
    this.#now = options.now ?? (() => new Date());
    redis.defineCommand('govshareGrantCreate', { numberOfKeys: 6, lua: CREATE_LUA });
    redis.defineCommand('govshareGrantUpdate', { numberOfKeys: 1, lua: UPDATE_LUA });
    redis.defineCommand('govshareGrantCurrent', { numberOfKeys: 2, lua: CURRENT_LUA });
    this.#commands = redis as unknown as GrantCommands;
  }

  /**
   * Makes a grant after `validateGrantCreation`. A live (active or suspended) grant of the same consumer
   * system for the same resource is revoked in the same step, with reason 'superseded'.
   *
   * `beforeCommit` runs with the grant as it will be stored, after every check and before it is written
   * (e.g. its audit record and its report to the provider); when it throws, nothing is granted.
   */
  async create(
    actor: Actor,
    resource: ResourceEntry,
    input: GrantRequest,
    options: { source?: GrantSource; beforeCommit?: (grant: Grant) => Promise<void> } = {},
  ): Promise<Grant> {
    const now = this.#now();
    const source = options.source ?? { kind: 'direct' };
    validateGrantCreation(actor, resource, input, now.getTime(), source);
    const at = now.toISOString();
    const by = actorRecord(actor);
    const basis = input.basis?.trim();
    const grant: Grant = {
      id: randomUUID(),
      deptCode: input.deptCode,
      systemId: input.systemId,
      resourceCode: resource.code,
      providerCode: resource.provider.code,
      items: resource.items.filter((i) => input.items.includes(i.name)).map((i) => i.name),
      purposes: [...input.purposes],
      modes: [...input.modes],
      validFrom: input.validFrom === undefined ? at : new Date(input.validFrom).toISOString(),
      validTo: new Date(input.validTo).toISOString(),
      quota: { ...input.quota },
      masking: { ...input.masking },
      signResponses: input.signResponses ?? false,
      status: 'active',
      grantedBy: by,
      grantedAt: at,
      source,
      ...(basis ? { basis } : {}),
      ...(input.machineToMachine === true ? { machineToMachine: true } : {}),
      statusHistory: [
        {
          status: 'active',
          at,
          by,
          reason:
            source.kind === 'application'
              ? `granted on application ${source.applicationId}`
              : basis
                ? `granted directly: ${basis}`
                : 'granted',
        },
      ],
    };
    if (input.rowFilter) grant.rowFilter = { ...input.rowFilter };
    if (input.investigation) grant.investigation = true;
    const consumer = consumerKey(grant.deptCode, grant.systemId, grant.resourceCode);
    await options.beforeCommit?.(structuredClone(grant));

    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const currentJson = await this.#currentJson(consumer);
      const current = currentJson === null ? undefined : (JSON.parse(currentJson) as Grant);
      const superseded =
        current && (current.status === 'active' || current.status === 'suspended')
          ? withStatus(current, 'revoked', at, by, 'superseded')
          : undefined;
      const k = this.#keys;
      const result = await this.#commands.govshareGrantCreate(
        k.data,
        k.current,
        k.all,
        k.byConsumer(grant.deptCode),
        k.byProvider(grant.providerCode),
        k.byResource(grant.resourceCode),
        consumer,
        current?.id ?? '',
        currentJson ?? '',
        superseded ? JSON.stringify(superseded) : '',
        grant.id,
        JSON.stringify(grant),
        now.getTime(),
        this.channel,
        changeMessage(grant),
        superseded ? changeMessage(superseded) : '',
      );
      if (result === 1) return grant;
      // The id was announced by beforeCommit: it is kept, and a taken one (never seen) is a conflict.
      if (result === -1 && options.beforeCommit) break;
      if (result === -1) grant.id = randomUUID();
    }
    throw new GRANT_CONFLICT(`grants of ${consumer} changed concurrently; retry`);
  }

  async get(id: string): Promise<Grant | undefined> {
    const json = await this.#redis.hget(this.#keys.data, id);
    return json === null ? undefined : (JSON.parse(json) as Grant);
  }

  /**
   * The consumer system's current grant for the resource, in one round trip: the newest one, whatever
   * its status, so that `decide` can tell "suspended", "revoked" or "expired" apart from "never granted".
   * Undefined when the system was never granted the resource.
   */
  async findActive(deptCode: string, systemId: string, resourceCode: string): Promise<Grant | undefined> {
    const json = await this.#currentJson(consumerKey(deptCode, systemId, resourceCode));
    return json === null ? undefined : (JSON.parse(json) as Grant);
  }

  /**
   * Grants newest first. Without a status filter and with at most one of the three scope filters, a
   * page costs two range reads; otherwise the narrowest index is read whole and filtered in memory.
   */
  async list(query: GrantListQuery): Promise<GrantPage> {
    const { page, pageSize } = query;
    if (!Number.isInteger(page) || page < 1) throw new GRANT_INVALID('page must be an integer from 1');
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new GRANT_INVALID(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}`);
    }
    const k = this.#keys;
    const scopes = [
      query.resourceCode === undefined ? undefined : k.byResource(query.resourceCode),
      query.consumerDept === undefined ? undefined : k.byConsumer(query.consumerDept),
      query.providerDept === undefined ? undefined : k.byProvider(query.providerDept),
    ].filter((key) => key !== undefined);
    const index = scopes[0] ?? k.all;
    const start = (page - 1) * pageSize;

    if (scopes.length <= 1 && query.status === undefined) {
      const [total, ids] = await Promise.all([
        this.#redis.zcard(index),
        this.#redis.zrevrange(index, start, start + pageSize - 1),
      ]);
      return { grants: await this.#load(ids), total, page, pageSize };
    }
    const all = (await this.#load(await this.#redis.zrevrange(index, 0, -1))).filter(
      (g) =>
        (query.resourceCode === undefined || g.resourceCode === query.resourceCode) &&
        (query.consumerDept === undefined || g.deptCode === query.consumerDept) &&
        (query.providerDept === undefined || g.providerCode === query.providerDept) &&
        (query.status === undefined || g.status === query.status),
    );
    return { grants: all.slice(start, start + pageSize), total: all.length, page, pageSize };
  }

  /**
   * Suspends, resumes (active), revokes or expires a grant, recording who and why. The bureau and the
   * provider's dept-admin may make any change; the consumer's dept-admin may only revoke (give the grant
   * up). Revoked and expired are final; a grant can be marked expired only once its validTo has passed.
   */
  /** Throws what `setStatus` would throw for this actor and status now, without changing anything. */
  async checkStatusChange(actor: Actor, id: string, status: GrantStatus): Promise<Grant> {
    const grant = await this.get(id);
    if (!grant) throw new GRANT_NOT_FOUND(`no grant has id "${id}"`);
    checkChanger(actor, grant, status);
    checkTransition(grant, status, this.#now().getTime());
    return grant;
  }

  async setStatus(actor: Actor, id: string, status: GrantStatus, reason: string): Promise<Grant> {
    if (reason.trim() === '') throw new GRANT_INVALID('a status change needs a reason');
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const json = await this.#redis.hget(this.#keys.data, id);
      if (json === null) throw new GRANT_NOT_FOUND(`no grant has id "${id}"`);
      const grant = JSON.parse(json) as Grant;
      checkChanger(actor, grant, status);
      const now = this.#now();
      checkTransition(grant, status, now.getTime());
      const next = withStatus(grant, status, now.toISOString(), actorRecord(actor), reason);
      const written = await this.#commands.govshareGrantUpdate(
        this.#keys.data,
        this.channel,
        id,
        json,
        JSON.stringify(next),
        changeMessage(next),
      );
      if (written > 0) return next;
    }
    throw new GRANT_CONFLICT(`grant ${id} changed concurrently; retry`);
  }

  /**
   * Records the provider's written consent to pass the grant's data on (see onward.ts); the grant stays
   * as it is otherwise. Refused on a revoked or expired grant.
   */
  async addOnwardConsent(actor: Actor, id: string, request: OnwardConsentRequest): Promise<Grant> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const json = await this.#redis.hget(this.#keys.data, id);
      if (json === null) throw new GRANT_NOT_FOUND(`no grant has id "${id}"`);
      const grant = JSON.parse(json) as Grant;
      const consent = onwardConsent(actor, grant, request, this.#now());
      if (grant.status === 'revoked' || grant.status === 'expired') {
        throw new GRANT_ILLEGAL_TRANSITION(
          `grant ${id} is ${grant.status}: nothing may be passed on under it`,
        );
      }
      const next: Grant = { ...grant, onwardConsents: [...(grant.onwardConsents ?? []), consent] };
      const written = await this.#commands.govshareGrantUpdate(
        this.#keys.data,
        this.channel,
        id,
        json,
        JSON.stringify(next),
        changeMessage(next),
      );
      if (written > 0) return next;
    }
    throw new GRANT_CONFLICT(`grant ${id} changed concurrently; retry`);
  }

  /**
   * Suspends every active grant of a resource at once (when its provider suspends or withdraws it) and
   * returns them as changed. The caller has authorized the resource change; this only records it.
   */
  async suspendAllForResource(resourceCode: string, reason: string, actor: Actor): Promise<Grant[]> {
    if (reason.trim() === '') throw new GRANT_INVALID('a status change needs a reason');
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const ids = await this.#redis.zrange(this.#keys.byResource(resourceCode), 0, -1);
      const jsons = ids.length === 0 ? [] : await this.#redis.hmget(this.#keys.data, ...ids);
      const at = this.#now().toISOString();
      const by = actorRecord(actor);
      const args: string[] = [this.channel];
      const changed: Grant[] = [];
      jsons.forEach((json, i) => {
        if (json === null) return;
        const grant = JSON.parse(json) as Grant;
        if (grant.status !== 'active') return;
        const next = withStatus(grant, 'suspended', at, by, reason);
        changed.push(next);
        args.push(ids[i]!, json, JSON.stringify(next), changeMessage(next));
      });
      if (changed.length === 0) return [];
      if ((await this.#commands.govshareGrantUpdate(this.#keys.data, ...args)) > 0) return changed;
    }
    throw new GRANT_CONFLICT(`grants of resource ${resourceCode} changed concurrently; retry`);
  }

  #currentJson(consumer: string): Promise<string | null> {
    return this.#commands.govshareGrantCurrent(this.#keys.current, this.#keys.data, consumer);
  }

  async #load(ids: string[]): Promise<Grant[]> {
    if (ids.length === 0) return [];
    const jsons = await this.#redis.hmget(this.#keys.data, ...ids);
    return jsons.filter((json) => json !== null).map((json) => JSON.parse(json) as Grant);
  }
}

/** Only the fields of the schema, whatever else the caller's actor object (e.g. a JWT payload) holds. */
function actorRecord(actor: Actor): Actor {
  return actor.dept === undefined
    ? { role: actor.role, name: actor.name }
    : { role: actor.role, name: actor.name, dept: actor.dept };
}

function withStatus(grant: Grant, status: GrantStatus, at: string, by: Actor, reason: string): Grant {
  return { ...grant, status, statusHistory: [...grant.statusHistory, { status, at, by, reason }] };
}

function changeMessage(grant: Grant): string {
  const change: GrantChange = {
    id: grant.id,
    consumer: consumerKey(grant.deptCode, grant.systemId, grant.resourceCode),
    status: grant.status,
  };
  return JSON.stringify(change);
}

function checkChanger(actor: Actor, grant: Grant, status: GrantStatus): void {
  if (actor.role === 'bureau') return;
  if (actor.role === 'dept-admin' && actor.dept !== undefined) {
    if (actor.dept === grant.providerCode) return;
    if (actor.dept === grant.deptCode && status === 'revoked') return;
  }
  throw new GRANT_FORBIDDEN(
    `${actor.role} ${actor.name} may not set grant ${grant.id} to ${status}: the platform or the provider decides`,
  );
}

const ALLOWED: Record<GrantStatus, readonly GrantStatus[]> = {
  active: ['suspended', 'revoked', 'expired'],
  suspended: ['active', 'revoked', 'expired'],
  revoked: [],
  expired: [],
};

function checkTransition(grant: Grant, status: GrantStatus, now: number): void {
  if (!ALLOWED[grant.status].includes(status)) {
    const why =
      grant.status === 'revoked' || grant.status === 'expired'
        ? `${grant.status} is final; create a new grant instead`
        : `it is already ${status}`;
    throw new GRANT_ILLEGAL_TRANSITION(`grant ${grant.id} cannot become ${status}: ${why}`);
  }
  if (status === 'expired' && now < Date.parse(grant.validTo)) {
    throw new GRANT_ILLEGAL_TRANSITION(
      `grant ${grant.id} is valid until ${grant.validTo}; revoke it to end it earlier`,
    );
  }
}
