/**
 * Federation agreements in Redis: each platform stores its copy of the signed document with its own
 * status. Storing and revoking are Lua scripts that bump the generation and announce the id on the
 * channel in the same step, so every gateway instance drops its cached agreements (peers.ts).
 */
import { type Static, Type } from '@sinclair/typebox';
import type { RedisClient } from '../platform/redis.js';
import { type Side, SignedAgreement } from './agreement.js';
import { federationErrors } from './errors.js';
import { type FederationKeys, federationKeys } from './keys.js';

export const AgreementStatus = Type.Union([
  Type.Literal('offered'),
  Type.Literal('active'),
  Type.Literal('revoked'),
]);

export const StoredAgreement = Type.Object(
  {
    id: Type.String(),
    /** This platform's side of the terms. */
    side: Type.Union([Type.Literal('offerer'), Type.Literal('accepter')]),
    peerPlatformId: Type.String(),
    status: AgreementStatus,
    validFrom: Type.String(),
    validTo: Type.String(),
    document: SignedAgreement,
    storedAt: Type.String(),
    revokedAt: Type.Optional(Type.String()),
    revocationReason: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type StoredAgreement = Static<typeof StoredAgreement> & { side: Side };

/**
 * KEYS[1] agreement, KEYS[2] index, KEYS[3] generation; ARGV[1] JSON record, ARGV[2] score (ms),
 * ARGV[3] id, ARGV[4] channel. Returns 0 when the stored copy is revoked (a revoked agreement stays
 * revoked: a new one is offered instead), else the new generation.
 */
const PUT = `
local raw = redis.call('GET', KEYS[1])
if raw and cjson.decode(raw).status == 'revoked' then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[3])
local gen = redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[4], ARGV[3])
return gen
`;

/**
 * KEYS[1] agreement, KEYS[2] generation; ARGV[1] revokedAt, ARGV[2] reason, ARGV[3] channel, ARGV[4] id.
 * Returns -1 when missing, 0 when already revoked, else the new generation.
 */
const REVOKE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return -1 end
local record = cjson.decode(raw)
if record.status == 'revoked' then return 0 end
record.status = 'revoked'
record.revokedAt = ARGV[1]
record.revocationReason = ARGV[2]
redis.call('SET', KEYS[1], cjson.encode(record))
local gen = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return gen
`;

export class AgreementStore {
  readonly keys: FederationKeys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = federationKeys(prefix);
  }

  get channel(): string {
    return this.keys.channel;
  }

  async put(record: StoredAgreement): Promise<void> {
    const keys = [this.keys.agreement(record.id), this.keys.agreements, this.keys.generation];
    const result = Number(
      await this.redis.eval(
        PUT,
        keys.length,
        ...keys,
        JSON.stringify(record),
        Date.parse(record.storedAt),
        record.id,
        this.keys.channel,
      ),
    );
    if (result === 0) {
      throw new federationErrors.FEDERATION_AGREEMENT_INACTIVE(
        `agreement ${record.id} was revoked on this platform; offer a new agreement instead`,
      );
    }
  }

  async get(id: string): Promise<StoredAgreement | undefined> {
    const raw = await this.redis.get(this.keys.agreement(id));
    return raw ? (JSON.parse(raw) as StoredAgreement) : undefined;
  }

  /** Every agreement, oldest first. */
  async list(): Promise<StoredAgreement[]> {
    const ids = await this.redis.zrange(this.keys.agreements, 0, -1);
    if (ids.length === 0) return [];
    // One key at a time: on a Cluster the keys share a slot, but MGET over many keys is no faster here.
    const raws = await Promise.all(ids.map((id) => this.redis.get(this.keys.agreement(id))));
    return raws.filter((raw): raw is string => raw !== null).map((raw) => JSON.parse(raw) as StoredAgreement);
  }

  async revoke(id: string, at: Date, reason: string): Promise<void> {
    const keys = [this.keys.agreement(id), this.keys.generation];
    const result = Number(
      await this.redis.eval(
        REVOKE,
        keys.length,
        ...keys,
        at.toISOString(),
        reason.slice(0, 500),
        this.keys.channel,
        id,
      ),
    );
    if (result === -1) throw new federationErrors.FEDERATION_AGREEMENT_NOT_FOUND(`no agreement ${id}`);
    if (result === 0)
      throw new federationErrors.FEDERATION_AGREEMENT_INACTIVE(`agreement ${id} is already revoked`);
  }

  async generation(): Promise<number> {
    return Number((await this.redis.get(this.keys.generation)) ?? 0);
  }
}
