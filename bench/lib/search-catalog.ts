/**
 * The catalog half of bench/search.ts: 20 000 published entries (40 provider departments, three share
 * types, twelve topics × eight kinds of data), a seeded mix of the searches a catalog page sends, and
 * the baseline: the simplest possible search, a linear filter over the same entries held in memory.
 */
import { usccCheckCharacter } from '../../catalog/identifiers.js';
import type { ActorRef } from '../../catalog/records.js';
import type { ResourceEntry } from '../../catalog/schema.js';
import type { SearchQuery, SearchResult } from '../../catalog/search.js';
import { seededRandom } from './search-stats.js';

export const CATALOG_BUREAU: ActorRef = { role: 'bureau', name: 'bench bureau' };
export const CATALOG_READER: ActorRef = { role: 'auditor', name: 'bench reader' };

const TOPICS = [
  '人口',
  '法人',
  '社保',
  '医保',
  '教育',
  '交通',
  '住房',
  '税务',
  '环境',
  '卫生',
  '民政',
  '就业',
];
const KINDS = [
  '基础信息',
  '登记信息',
  '许可信息',
  '处罚信息',
  '缴费信息',
  '统计信息',
  '证照信息',
  '变更信息',
];
const CYCLES = ['realtime', 'daily', 'weekly', 'monthly', 'quarterly', 'yearly', 'other'] as const;
const CATEGORIES = ['base', 'theme', 'department'] as const;
const SHARE_TYPES = ['unconditional', 'conditional', 'none'] as const;

const uscc = (first17: string) => `${first17}${usccCheckCharacter(first17)}`;
export const CATALOG_DEPARTMENTS = Array.from({ length: 40 }, (_, i) => ({
  code: uscc(`11420100MB${String(3000000 + i).padStart(7, '0')}`),
  name: `武汉市第${i + 1}委办局`,
}));

/** Entry n (1-based): a resident-keyed resource whose text, provider and share type vary with n. */
export function catalogEntry(n: number): ResourceEntry {
  const category = CATEGORIES[n % 3]!;
  const classification = `${(n % 3) + 1}${String(10 + (n % 50)).padStart(2, '0')}${String(n % 997).padStart(3, '0')}`;
  const topic = TOPICS[n % TOPICS.length]!;
  const kind = KINDS[Math.floor(n / TOPICS.length) % KINDS.length]!;
  const shareType = SHARE_TYPES[n % 7 === 0 ? 2 : n % 3 === 0 ? 1 : 0]!;
  const cycle = CYCLES[n % CYCLES.length]!;
  return {
    code: `${classification}/${n}`,
    name: `${topic}${kind}${n}`,
    summary: `${topic}领域${kind}，第${n}号资源，按${cycle}更新，用于跨部门共享与业务协同`,
    classification: { category, code: classification },
    provider: CATALOG_DEPARTMENTS[n % CATALOG_DEPARTMENTS.length]!,
    confidentiality: { result: 'not-classified', reviewedBy: '本单位保密工作机构', reviewedOn: '2026-01-05' },
    format: { type: 'database', subtype: 'Dm' },
    items: [
      {
        name: 'idNumber',
        label: '公民身份号码',
        dataType: 'C',
        length: 18,
        key: true,
        sensitive: 'idNumber',
        ...(category === 'base' && { shareType: 'unconditional' as const }),
      },
      { name: 'name', label: '姓名', dataType: 'C', length: 50, required: true, sensitive: 'name' },
      { name: 'birthDate', label: '出生日期', dataType: 'D' },
      { name: 'address', label: '户籍地址', dataType: 'C', length: 200, sensitive: 'address' },
      { name: 'updatedAt', label: '更新时间', dataType: 'T' },
    ],
    share:
      shareType === 'unconditional'
        ? { type: 'unconditional', modes: ['api'] }
        : { type: shareType, legalBasis: '《政务数据共享条例》', modes: ['api'] },
    open: { type: 'none' },
    updateCycle: cycle,
    service: { connector: 'http', endpoint: `http://127.0.0.1:9/r/${n}`, timeoutMs: 3000 },
  };
}

/**
 * The searches of a catalog page: keywords (common topics, kinds, a whole name, one resource's number),
 * the provider department, the share type, combinations, browsing page after page, now and then sorted
 * by name. Seeded: every run and both contenders get the same list.
 */
export function catalogQueryMix(
  count: number,
  entries: number,
  seed = 6,
): { label: string; query: SearchQuery }[] {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const page = (most: number) => 1 + Math.floor(random() ** 2 * most);
  const provider = () => pick(CATALOG_DEPARTMENTS).code;
  const keyword = () => {
    const r = random();
    if (r < 0.45) return pick(TOPICS);
    if (r < 0.7) return pick(KINDS);
    if (r < 0.85) return `${pick(TOPICS)}${pick(KINDS)}`;
    return `第${1 + Math.floor(random() * entries)}号`;
  };
  const makers: [number, string, () => SearchQuery][] = [
    [30, 'keyword', () => ({ q: keyword(), page: page(3) })],
    [15, 'provider', () => ({ provider: provider(), page: page(3) })],
    [15, 'provider + share type', () => ({ provider: provider(), shareType: pick(SHARE_TYPES) })],
    [15, 'share type, paging', () => ({ shareType: pick(SHARE_TYPES), page: page(50) })],
    [10, 'keyword + provider', () => ({ q: pick(TOPICS), provider: provider() })],
    [15, 'browse all, paging', () => ({ page: page(100) })],
  ];
  const total = makers.reduce((sum, [weight]) => sum + weight, 0);
  return Array.from({ length: count }, () => {
    const r = random() * total;
    let upTo = 0;
    const [, label, make] =
      makers.find(([weight]) => {
        upTo += weight;
        return r < upTo;
      }) ?? makers[0]!;
    const query = make();
    if (random() < 0.15) query.sort = 'name';
    return { label, query };
  });
}

const byCode = new Intl.Collator('en', { numeric: true });
const byName = new Intl.Collator('zh-Hans-CN', { numeric: true });

/**
 * The baseline: every search filters all entries in memory, lower-casing each searchable field and
 * testing it with `includes`, then sorts the matches and slices the page. No index, no Redis.
 */
export function naiveSearch(entries: readonly ResourceEntry[], query: SearchQuery): SearchResult {
  const q = query.q?.trim().toLowerCase();
  const matches = entries.filter((entry) => {
    if (query.provider && entry.provider.code !== query.provider) return false;
    if (query.shareType && entry.share.type !== query.shareType) return false;
    if (!q) return true;
    const fields = [entry.code, entry.name, entry.summary, entry.provider.name];
    for (const item of entry.items) fields.push(item.name, item.label);
    return fields.some((field) => field.toLowerCase().includes(q));
  });
  matches.sort((a, b) => byCode.compare(a.code, b.code));
  if (query.sort === 'name') matches.sort((a, b) => byName.compare(a.name, b.name));
  const page = query.page ?? 1;
  const pageSize = query.pageSize ?? 20;
  const items = matches.slice((page - 1) * pageSize, page * pageSize).map((entry) => ({
    code: entry.code,
    name: entry.name,
    provider: entry.provider,
    category: entry.classification.category,
    classificationCode: entry.classification.code,
    shareType: entry.share.type,
    updateCycle: entry.updateCycle,
    formatType: entry.format.type,
    version: 1,
    state: 'published',
    status: 'active' as const,
  }));
  return { total: matches.length, page, pageSize, items };
}

/** Whether two answers hold the same total and the same codes in the same order. */
export function sameAnswer(a: SearchResult, b: SearchResult): boolean {
  return a.total === b.total && a.items.map((i) => i.code).join() === b.items.map((i) => i.code).join();
}
