/**
 * Data return subscriptions (回流 on a schedule): which upper-platform resource this platform pulls, into
 * which table of its own front-end database, how often (an interval or a cron pattern, China Standard
 * Time), under which purpose of the upper platform's grant. The worker runs each as a BullMQ job
 * scheduler; each run starts from the watermark the previous one stored (data-return.ts), so a run
 * delivers only the rows changed since. The database itself is the worker's (GOVSHARE_RETURN_DATABASE_URL):
 * no credentials are stored here.
 */
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ITEM_NAME_PATTERN, RESOURCE_CODE_PATTERN } from '../catalog/schema.js';
import type { RedisClient } from '../platform/redis.js';
import { PLATFORM_ID_PATTERN } from './agreement.js';
import { federationErrors } from './errors.js';

export const ReturnSubscription = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$', description: 'e.g. population-daily' }),
    peer: Type.String({ pattern: PLATFORM_ID_PATTERN }),
    code: Type.String({ pattern: RESOURCE_CODE_PATTERN }),
    items: Type.Array(Type.String({ pattern: ITEM_NAME_PATTERN }), {
      minItems: 1,
      maxItems: 500,
      uniqueItems: true,
    }),
    key: Type.String({ pattern: ITEM_NAME_PATTERN }),
    table: Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$' }),
    purpose: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$' }),
    pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })),
    everyMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 31 * 86_400_000 })),
    cron: Type.Optional(Type.String({ minLength: 9, maxLength: 100, pattern: '^[0-9*/,\\- ]+$' })),
  },
  { additionalProperties: false },
);
export type ReturnSubscription = Static<typeof ReturnSubscription>;

const checker = TypeCompiler.Compile(ReturnSubscription);

/** Checks a subscription: its shape, the key among the items, and exactly one of everyMs and cron. */
export function checkSubscription(value: unknown): ReturnSubscription {
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First();
    throw new federationErrors.FEDERATION_RETURN_INVALID(
      `data return subscription: ${first ? `${first.path || '/'} ${first.message}` : 'bad shape'}`,
    );
  }
  if (!value.items.includes(value.key)) {
    throw new federationErrors.FEDERATION_RETURN_INVALID(
      `the key item ${value.key} must be one of the items`,
    );
  }
  if ((value.everyMs === undefined) === (value.cron === undefined)) {
    throw new federationErrors.FEDERATION_RETURN_INVALID(
      'a data return runs either every N ms or on a cron pattern',
    );
  }
  return value;
}

/** The subscriptions in Redis, one hash under the {federation} tag. */
export class ReturnSubscriptions {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.key = `${prefix}{federation}:returns`;
  }

  async put(subscription: ReturnSubscription): Promise<void> {
    await this.redis.hset(this.key, subscription.id, JSON.stringify(checkSubscription(subscription)));
  }

  async get(id: string): Promise<ReturnSubscription | undefined> {
    const raw = await this.redis.hget(this.key, id);
    return raw ? (JSON.parse(raw) as ReturnSubscription) : undefined;
  }

  async list(): Promise<ReturnSubscription[]> {
    const all = await this.redis.hgetall(this.key);
    return Object.values(all)
      .map((raw) => JSON.parse(raw) as ReturnSubscription)
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  async remove(id: string): Promise<boolean> {
    return (await this.redis.hdel(this.key, id)) === 1;
  }
}
