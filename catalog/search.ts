/**
 * Catalog search over compact per-resource documents (search-document.ts) kept in one Redis hash and
 * cached in process. Every catalog write bumps a generation counter and scores the changed code with it,
 * so a search costs one GET while nothing changed, and reloads only the changed documents otherwise.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { RedisClient } from '../platform/redis.js';
import { seesUnpublished } from './access.js';
import { CatalogQueryInvalid } from './errors.js';
import { type CatalogKeys, catalogKeys } from './keys.js';
import { type ActorRef, literalUnion, ResourceStatus } from './records.js';
import { ShareType, UpdateCycle, USCC_PATTERN } from './schema.js';
import {
  effectiveFromTimeline,
  normalizeText,
  type SearchDocument,
  type SearchPart,
} from './search-document.js';
import { SearchIndex } from './search-index.js';
import { describeFirstError, firstErrorAjv } from './validation.js';

export const SearchQuery = Type.Object(
  {
    q: Type.Optional(
      Type.String({
        maxLength: 200,
        description: 'Case-insensitive substring of code, name, summary, provider name, item names or labels',
      }),
    ),
    provider: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'Provider USCC (exact) or part of its name' }),
    ),
    shareType: Type.Optional(ShareType),
    category: Type.Optional(literalUnion(['base', 'theme', 'department'])),
    classification: Type.Optional(
      Type.String({ pattern: '^[1-3][0-9]{0,15}$', description: 'Classification code prefix, e.g. 101' }),
    ),
    updateCycle: Type.Optional(UpdateCycle),
    state: Type.Optional(
      literalUnion(['published', 'draft', 'submitted', 'rejected'], {
        description:
          'published (default): entries in force; the others: unpublished latest versions, for their owner and the bureau',
      }),
    ),
    status: Type.Optional(ResourceStatus),
    page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
    pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    sort: Type.Optional(literalUnion(['code', 'name', 'publishedDate'], { default: 'code' })),
    order: Type.Optional(literalUnion(['asc', 'desc'], { default: 'asc' })),
  },
  { additionalProperties: false },
);
export type SearchQuery = Static<typeof SearchQuery>;

export const CatalogSummary = Type.Object(
  {
    code: Type.String(),
    name: Type.String(),
    provider: Type.Object({ code: Type.String(), name: Type.String() }),
    category: literalUnion(['base', 'theme', 'department']),
    classificationCode: Type.String(),
    shareType: ShareType,
    updateCycle: Type.String(),
    formatType: Type.String(),
    version: Type.Integer(),
    state: Type.String(),
    publishedDate: Type.Optional(Type.String()),
    status: ResourceStatus,
  },
  { additionalProperties: false },
);
export type CatalogSummary = Static<typeof CatalogSummary>;

export const SearchResult = Type.Object({
  total: Type.Integer(),
  page: Type.Integer(),
  pageSize: Type.Integer(),
  items: Type.Array(CatalogSummary),
});
export type SearchResult = Static<typeof SearchResult>;

const validateQuery = firstErrorAjv.compile<SearchQuery>(SearchQuery);
const usccPattern = new RegExp(USCC_PATTERN);
/** Above this many changed documents one HGETALL is cheaper than HMGET of the changes. */
const FULL_RELOAD_THRESHOLD = 2000;

interface Match {
  doc: SearchDocument;
  part: SearchPart;
  status: ResourceStatus;
}

export class CatalogSearch {
  private readonly keys: CatalogKeys;
  private readonly now: () => Date;
  private readonly index = new SearchIndex();
  private generation = -1;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    options: { now?: () => Date } = {},
  ) {
    this.keys = catalogKeys(prefix);
    this.now = options.now ?? (() => new Date());
  }

  async search(actor: ActorRef, query: SearchQuery = {}): Promise<SearchResult> {
    if (!validateQuery(query)) {
      throw new CatalogQueryInvalid(`query ${describeFirstError(validateQuery.errors)}`);
    }
    await this.refresh();
    const page = query.page ?? 1;
    const pageSize = query.pageSize ?? 20;
    const sort = query.sort ?? 'code';
    const descending = query.order === 'desc';
    // Matches come out in code order; the sorts below are stable, so equal keys stay in code order.
    const matches = this.match(actor, query);
    if (sort === 'code' && descending) matches.reverse();
    if (sort === 'name') {
      const sign = descending ? -1 : 1;
      const ranked = matches.map((m) => ({ m, rank: this.index.nameRank(m.part.name) }));
      ranked.sort((a, b) => sign * (a.rank - b.rank));
      ranked.forEach(({ m }, i) => {
        matches[i] = m;
      });
    }
    if (sort === 'publishedDate') matches.sort(byPublishedDate(descending));
    const items = matches.slice((page - 1) * pageSize, page * pageSize).map(summary);
    return { total: matches.length, page, pageSize, items };
  }

  private match(actor: ActorRef, query: SearchQuery): Match[] {
    const state = query.state ?? 'published';
    const q = query.q ? normalizeText(query.q.trim()) : '';
    const provider = query.provider;
    const providerByCode = provider !== undefined && usccPattern.test(provider);
    const providerText = provider !== undefined && !providerByCode ? normalizeText(provider) : '';
    const at = this.now().getTime();
    const matches: Match[] = [];
    const hits = q && state === 'published' ? this.index.publishedTextHits(q) : undefined;
    const docs = this.index.inCodeOrder();
    for (let i = 0; i < docs.length; i++) {
      if (hits && hits[i] === 0) continue;
      const { doc } = docs[i]!;
      let part: SearchPart | undefined;
      if (state === 'published') part = doc.current;
      else if (doc.pending?.state === state && seesUnpublished(actor, doc.providerCode)) part = doc.pending;
      if (!part) continue;
      if (providerByCode && doc.providerCode !== provider) continue;
      if (providerText && !normalizeText(part.providerName).includes(providerText)) continue;
      if (query.shareType && part.shareType !== query.shareType) continue;
      if (query.category && part.category !== query.category) continue;
      if (query.classification && !part.classificationCode.startsWith(query.classification)) continue;
      if (query.updateCycle && part.updateCycle !== query.updateCycle) continue;
      if (q && !hits && !part.text.includes(q)) continue;
      const status = effectiveFromTimeline(doc.timeline, at);
      if (query.status && status !== query.status) continue;
      matches.push({ doc, part, status });
    }
    return matches;
  }

  /** Brings the cached documents up to the stored generation; concurrent searches share one refresh. */
  private async refresh(): Promise<void> {
    if (!this.refreshing) {
      this.refreshing = this.load().finally(() => {
        this.refreshing = undefined;
      });
    }
    return this.refreshing;
  }

  private async load(): Promise<void> {
    const stored = Number((await this.redis.get(this.keys.generation)) ?? 0);
    if (stored === this.generation) return;
    if (this.generation < 0 || stored < this.generation) return this.loadAll();
    const changed = await this.redis.zrangebyscore(this.keys.changes, `(${this.generation}`, '+inf');
    if (changed.length > FULL_RELOAD_THRESHOLD) return this.loadAll();
    if (changed.length > 0) {
      const raws = await this.redis.hmget(this.keys.searchDocs, ...changed);
      changed.forEach((code, i) => {
        const raw = raws[i];
        if (raw) this.index.upsert(JSON.parse(raw) as SearchDocument);
        else this.index.remove(code);
      });
    }
    // Documents read may be newer than `stored`; they are read again next time, which is harmless.
    this.generation = stored;
  }

  private async loadAll(): Promise<void> {
    const replies = await this.redis.multi().get(this.keys.generation).hgetall(this.keys.searchDocs).exec();
    const [genReply, docsReply] = replies ?? [];
    if (!genReply || !docsReply || genReply[0] || docsReply[0]) {
      throw genReply?.[0] ?? docsReply?.[0] ?? new Error('catalog search index could not be read');
    }
    const raws = Object.values(docsReply[1] as Record<string, string>);
    this.index.replaceAll(raws.map((raw) => JSON.parse(raw) as SearchDocument));
    this.generation = Number((genReply[1] as string | null) ?? 0);
  }
}

/** Versions never published have no date: they sort last whatever the order. */
function byPublishedDate(descending: boolean) {
  const sign = descending ? -1 : 1;
  return (a: Match, b: Match) => {
    const da = a.part.publishedDate;
    const db = b.part.publishedDate;
    if (da === db) return 0;
    if (da === undefined) return 1;
    if (db === undefined) return -1;
    return sign * (da < db ? -1 : 1);
  };
}

function summary({ doc, part, status }: Match): CatalogSummary {
  const result: CatalogSummary = {
    code: doc.code,
    name: part.name,
    provider: { code: doc.providerCode, name: part.providerName },
    category: part.category,
    classificationCode: part.classificationCode,
    shareType: part.shareType,
    updateCycle: part.updateCycle,
    formatType: part.formatType,
    version: part.version,
    state: part.state,
    status,
  };
  if (part.publishedDate) result.publishedDate = part.publishedDate;
  return result;
}
