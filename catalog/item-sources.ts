/**
 * 一数一源 — one authoritative source per data item ([HB-S] 14; [HC-R] 18). An item with a `semanticId`
 * and `source: true` makes its resource the source of that meaning; other resources reuse it
 * (`source` absent or false). The registry (semantic id → resource code) is claimed atomically when a
 * version is published (store.ts). A second claimant is refused, or, when its provider asks, the
 * contest goes to the bureau, which decides which resource is the source (the registry follows).
 */
import { type Static, Type } from '@sinclair/typebox';
import { assertBureau } from './access.js';
import { CatalogArbitrationNotFound, CatalogIllegalTransition, CatalogReasonRequired } from './errors.js';
import { ActorRef } from './records.js';
import { RESOURCE_CODE_PATTERN, SEMANTIC_ID_PATTERN } from './schema.js';
import type { CatalogStore } from './store.js';

export const ARBITRATION_ID_PATTERN = '^ARB-[0-9]{1,12}$';

export const ItemSourceArbitration = Type.Object(
  {
    id: Type.String({ pattern: ARBITRATION_ID_PATTERN }),
    semanticId: Type.String({ pattern: SEMANTIC_ID_PATTERN }),
    claimant: Type.String({
      pattern: RESOURCE_CODE_PATTERN,
      description: 'The resource claiming to be the source',
    }),
    holder: Type.String({ pattern: RESOURCE_CODE_PATTERN, description: 'The source on record when claimed' }),
    reason: Type.String({ description: 'Why the claimant should be the source' }),
    openedBy: ActorRef,
    openedAt: Type.String({ format: 'date-time' }),
    state: Type.Union([Type.Literal('open'), Type.Literal('decided')]),
    decision: Type.Optional(
      Type.Object(
        {
          source: Type.String({ pattern: RESOURCE_CODE_PATTERN }),
          reason: Type.String(),
          by: ActorRef,
          at: Type.String({ format: 'date-time' }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, description: '一数一源 arbitration by the bureau' },
);
export type ItemSourceArbitration = Static<typeof ItemSourceArbitration>;

export interface ArbitrationDecision {
  /** The resource that is the source from now on: the claimant or the holder. */
  source: string;
  reason: string;
}

/**
 * KEYS[1] item sources, KEYS[2] arbitrations. ARGV[1] arbitration id, ARGV[2] expected record,
 * ARGV[3] decided record, ARGV[4] semantic id, ARGV[5] source. Returns 1, or 0 when the record changed.
 */
const DECIDE_LUA = `
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[1], ARGV[4], ARGV[5])
return 1
`;

export class ItemSources {
  constructor(
    private readonly store: CatalogStore,
    private readonly now: () => Date,
  ) {}

  /** Semantic id → the resource that is its source. */
  registry(): Promise<Record<string, string>> {
    return this.store.itemSources();
  }

  /** Which of `claims` another resource than `code` is the source of. */
  async contested(code: string, claims: string[]): Promise<{ semanticId: string; holder: string }[]> {
    if (claims.length === 0) return [];
    const holders = await this.store.redis.hmget(this.store.keys.itemSources, ...claims);
    return claims.flatMap((semanticId, i) => {
      const holder = holders[i];
      return holder && holder !== code ? [{ semanticId, holder }] : [];
    });
  }

  /** Records a contest for the bureau (an open one for the same claimant and item is returned as is). */
  async open(
    by: ActorRef,
    contest: { semanticId: string; claimant: string; holder: string; reason: string | undefined },
  ): Promise<ItemSourceArbitration> {
    const reason = contest.reason?.trim() ?? '';
    if (reason === '') {
      throw new CatalogReasonRequired(
        `reason: say why ${contest.claimant} should be the source of "${contest.semanticId}" for the bureau to arbitrate`,
      );
    }
    const existing = (await this.list()).find(
      (a) => a.state === 'open' && a.semanticId === contest.semanticId && a.claimant === contest.claimant,
    );
    if (existing) return existing;
    const { keys, redis } = this.store;
    const arbitration: ItemSourceArbitration = {
      id: `ARB-${await redis.incr(keys.arbitrationSeq)}`,
      semanticId: contest.semanticId,
      claimant: contest.claimant,
      holder: contest.holder,
      reason,
      openedBy: by,
      openedAt: this.now().toISOString(),
      state: 'open',
    };
    await redis.hset(keys.arbitrations, arbitration.id, JSON.stringify(arbitration));
    return arbitration;
  }

  async list(): Promise<ItemSourceArbitration[]> {
    const all = await this.store.redis.hvals(this.store.keys.arbitrations);
    return all
      .map((raw) => JSON.parse(raw) as ItemSourceArbitration)
      .sort((a, b) => Number(a.id.slice(4)) - Number(b.id.slice(4)));
  }

  /** The bureau's decision: the registry names the chosen resource as the item's source. */
  async decide(by: ActorRef, id: string, decision: ArbitrationDecision): Promise<ItemSourceArbitration> {
    assertBureau(by, 'arbitrate item sources');
    const reason = decision.reason.trim();
    if (reason === '') throw new CatalogReasonRequired('reason: state the grounds of the decision');
    const { keys, redis } = this.store;
    const raw = await redis.hget(keys.arbitrations, id);
    if (raw === null) throw new CatalogArbitrationNotFound(`no arbitration has id "${id}"`);
    const arbitration = JSON.parse(raw) as ItemSourceArbitration;
    if (arbitration.state !== 'open') {
      throw new CatalogIllegalTransition(`arbitration ${id} was already decided`);
    }
    if (decision.source !== arbitration.claimant && decision.source !== arbitration.holder) {
      throw new CatalogIllegalTransition(
        `source: choose ${arbitration.claimant} (claimant) or ${arbitration.holder} (source on record)`,
      );
    }
    const decided: ItemSourceArbitration = {
      ...arbitration,
      state: 'decided',
      decision: { source: decision.source, reason, by, at: this.now().toISOString() },
    };
    const done = await redis.eval(
      DECIDE_LUA,
      2,
      keys.itemSources,
      keys.arbitrations,
      id,
      raw,
      JSON.stringify(decided),
      arbitration.semanticId,
      decision.source,
    );
    if (done !== 1) throw new CatalogIllegalTransition(`arbitration ${id} changed meanwhile; read it again`);
    return decided;
  }
}
