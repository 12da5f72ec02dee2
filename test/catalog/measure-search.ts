/**
 * Measures catalog search over a large catalog (not a test: timings are reported, not asserted).
 * Run after compiling: `node <outDir>/test/catalog/measure-search.js [entries]` (default 20000).
 * Starts its own redis-server on a free loopback port.
 */
import type { ResourceEntry } from '../../catalog/schema.js';
import type { SearchQuery } from '../../catalog/search.js';
import { CatalogService } from '../../catalog/service.js';
import { createRedisClient } from '../../gateway/redis.js';
import { startLocalRedis } from '../../scripts/lib/local-redis.js';
import { auditor, bureau, populationEntry, uscc } from './fixtures.js';

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
const departments = Array.from({ length: 40 }, (_, i) => ({
  code: uscc(`11420100MB${String(2000000 + i).padStart(7, '0')}`),
  name: `武汉市第${i + 1}委办局`,
}));

function syntheticEntry(n: number): ResourceEntry {
  const category = CATEGORIES[n % 3]!;
  const classification = `${n % 3 === 0 ? 1 : n % 3 === 1 ? 2 : 3}${String(10 + (n % 50)).padStart(2, '0')}${String(n % 997).padStart(3, '0')}`;
  const topic = TOPICS[n % TOPICS.length]!;
  const kind = KINDS[Math.floor(n / TOPICS.length) % KINDS.length]!;
  const shareType = (['unconditional', 'conditional', 'none'] as const)[
    n % 7 === 0 ? 2 : n % 3 === 0 ? 1 : 0
  ];
  const base = populationEntry();
  return {
    ...base,
    code: `${classification}/${n}`,
    name: `${topic}${kind}${n}`,
    summary: `${topic}领域${kind}，第${n}号资源，按${CYCLES[n % CYCLES.length]}更新，用于跨部门共享与业务协同`,
    classification: { category, code: classification },
    provider: departments[n % departments.length]!,
    share:
      shareType === 'unconditional'
        ? { type: 'unconditional', modes: ['api'] }
        : { type: shareType, legalBasis: '《政务数据共享条例》', modes: ['api'] },
    items: base.items.map((item) =>
      category === 'base' && item.key ? { ...item, shareType: 'unconditional' } : item,
    ),
    updateCycle: CYCLES[n % CYCLES.length]!,
  };
}

async function time<T>(runs: number, fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  let result: T | undefined;
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) result = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6 / runs, result: result as T };
}

async function main() {
  const count = Number(process.argv[2] ?? 20_000);
  const server = await startLocalRedis();
  const redis = createRedisClient(server.url);
  try {
    const service = new CatalogService(redis, 'gs:measure:');
    const loadStart = Date.now();
    for (let i = 0; i < count; i += 200) {
      const batch = Array.from({ length: Math.min(200, count - i) }, (_, j) => syntheticEntry(i + j + 1));
      await Promise.all(batch.map((entry) => service.importEntry(bureau, entry)));
    }
    console.log(`loaded ${count} entries through importEntry in ${Date.now() - loadStart} ms`);

    const reader = new CatalogService(redis, 'gs:measure:');
    const cold = await time(1, () => reader.search(auditor, { q: '人口' }));
    console.log(
      `first search (full load of the index): ${cold.ms.toFixed(1)} ms, total ${cold.result.total}`,
    );
    const queries: [string, SearchQuery][] = [
      ['no filter, sort by code', {}],
      ['q=人口', { q: '人口' }],
      ['q=人口 sort by name', { q: '人口', sort: 'name' }],
      ['q=第12345号 (rare)', { q: '第12345号' }],
      ['provider + shareType', { provider: departments[3]!.code, shareType: 'conditional' }],
      ['all, sort by name desc', { sort: 'name', order: 'desc' }],
      ['all, sort by publishedDate', { sort: 'publishedDate' }],
      ['category=base, updateCycle=daily, page 5', { category: 'base', updateCycle: 'daily', page: 5 }],
    ];
    for (const [label, query] of queries) {
      const { ms, result } = await time(50, () => reader.search(auditor, query));
      console.log(`warm search ${label}: ${ms.toFixed(2)} ms (total ${result.total})`);
    }
    const changed = syntheticEntry(7);
    changed.summary = '修订后的摘要 关键字甲乙丙';
    await service.importEntry(bureau, changed);
    const afterWrite = await time(1, () => reader.search(auditor, { q: '甲乙丙' }));
    console.log(
      `first search after one write (incremental reload): ${afterWrite.ms.toFixed(2)} ms, total ${afterWrite.result.total}`,
    );
    const memory = process.memoryUsage();
    console.log(
      `heap used ${(memory.heapUsed / 2 ** 20).toFixed(0)} MiB; search hash ${await redis.memory('USAGE', 'gs:measure:{catalog}:search')} bytes`,
    );
  } finally {
    await redis.quit();
    await server.stop();
  }
}

await main();
