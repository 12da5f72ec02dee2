import t, { type Test } from 'tap';
import { catalogKeys } from '../../catalog/keys.js';
import type { ResourceEntry } from '../../catalog/schema.js';
import type { SearchQuery } from '../../catalog/search.js';
import { CatalogService } from '../../catalog/service.js';
import { useRedis } from '../helpers/redis.js';
import {
  adminOf,
  auditor,
  bureau,
  conditionalEntry,
  enterpriseEntry,
  HUMAN_RESOURCES,
  MARKET_REGULATION,
  notSharedEntry,
  PUBLIC_SECURITY,
  populationEntry,
  publish,
} from './fixtures.js';

const market = adminOf(MARKET_REGULATION);
const psb = adminOf(PUBLIC_SECURITY);

/** A theme resource of 人社局 numbered n (for pagination and sorting). */
function themeEntry(n: number): ResourceEntry {
  return {
    ...conditionalEntry(),
    code: `201003/${n}`,
    name: `就业服务专题 ${String(n).padStart(2, '0')}`,
    summary: '就业创业服务专题资源',
    classification: { category: 'theme', code: '201003' },
    share: { type: 'unconditional', modes: ['api'] },
    items: [{ name: 'idNumber', label: '公民身份号码', dataType: 'C', length: 18, key: true }],
    updateCycle: 'weekly',
  };
}

async function catalogWithFixtures(t: Test) {
  const { redis, prefix } = await useRedis(t);
  const clock = { now: new Date('2025-03-10T02:00:00Z') };
  const service = new CatalogService(redis, prefix, { now: () => clock.now });
  const day = (d: number) => new Date(Date.UTC(2025, 2, d, 2));
  clock.now = day(11);
  await publish(service, populationEntry());
  clock.now = day(12);
  await publish(service, enterpriseEntry());
  clock.now = day(13);
  await publish(service, conditionalEntry());
  clock.now = day(14);
  await publish(service, notSharedEntry());
  clock.now = day(15);
  return { service, clock, redis, prefix };
}

const codes = async (service: CatalogService, query: SearchQuery, actor = auditor) =>
  (await service.search(actor, query)).items.map((s) => s.code);

t.test('text search: Chinese, case-insensitive, over names, summaries, providers and items', async (t) => {
  const { service } = await catalogWithFixtures(t);
  const cases: [string, string[]][] = [
    ['人口', ['101001/1']],
    ['户籍地址', ['101001/1']],
    ['缴费基数', ['301002/1']],
    ['IDNUMBER', ['101001/1', '301002/1']],
    ['ｕｓｃｃ', ['102001/1']],
    ['武汉市公安局', ['101001/1', '301005/1']],
    ['102001/', ['102001/1']],
    ['不存在的资源', []],
  ];
  for (const [q, expected] of cases) t.same(await codes(service, { q }), expected, q);
  const [summary] = (await service.search(auditor, { q: '人口' })).items;
  t.same(summary, {
    code: '101001/1',
    name: '人口基础信息',
    provider: { code: PUBLIC_SECURITY, name: '武汉市公安局' },
    category: 'base',
    classificationCode: '101001',
    shareType: 'unconditional',
    updateCycle: 'daily',
    formatType: 'database',
    version: 1,
    state: 'published',
    publishedDate: '2025-03-11',
    status: 'active',
  });
});

t.test('filters: provider, share type, category, classification, update cycle', async (t) => {
  const { service } = await catalogWithFixtures(t);
  const cases: [SearchQuery, string[]][] = [
    [{ provider: PUBLIC_SECURITY }, ['101001/1', '301005/1']],
    [{ provider: '市场监督' }, ['102001/1']],
    [{ shareType: 'none' }, ['301005/1']],
    [{ shareType: 'conditional' }, ['301002/1']],
    [{ category: 'base' }, ['101001/1', '102001/1']],
    [{ classification: '3010' }, ['301002/1', '301005/1']],
    [{ updateCycle: 'monthly' }, ['301002/1']],
    [{ category: 'department', provider: PUBLIC_SECURITY, q: '案件' }, ['301005/1']],
  ];
  for (const [query, expected] of cases) t.same(await codes(service, query), expected, JSON.stringify(query));
});

t.test('pagination and sorting', async (t) => {
  const { service, clock } = await catalogWithFixtures(t);
  for (let n = 1; n <= 12; n++) {
    clock.now = new Date(Date.UTC(2025, 3, n, 2));
    await publish(service, themeEntry(n));
  }
  const page2 = await service.search(auditor, { category: 'theme', pageSize: 5, page: 2 });
  t.match(page2, { total: 12, page: 2, pageSize: 5 });
  t.same(
    page2.items.map((s) => s.code),
    ['201003/6', '201003/7', '201003/8', '201003/9', '201003/10'],
    'codes sort naturally',
  );
  t.same((await service.search(auditor, { category: 'theme', pageSize: 5, page: 3 })).items.length, 2);
  t.same((await service.search(auditor, { category: 'theme', pageSize: 5, page: 4 })).items, []);
  t.equal((await service.search(auditor, {})).pageSize, 20, 'default page size');

  t.same(
    (await service.search(auditor, { category: 'base', sort: 'name' })).items.map((s) => s.name),
    ['企业登记信息', '人口基础信息'],
    'names in pinyin order',
  );
  t.same(await codes(service, { q: '武汉市', sort: 'name', order: 'desc', pageSize: 4 }), [
    '301005/1',
    '301002/1',
    '101001/1',
    '102001/1',
  ]);
  t.same(await codes(service, { sort: 'publishedDate', order: 'desc', pageSize: 3 }), [
    '201003/12',
    '201003/11',
    '201003/10',
  ]);
  t.same(await codes(service, { sort: 'publishedDate', pageSize: 2 }), ['101001/1', '102001/1']);
  t.same(await codes(service, { sort: 'code', order: 'desc', pageSize: 1 }), ['301005/1']);
});

t.test('bad queries are refused with the parameter named', async (t) => {
  const { service } = await catalogWithFixtures(t);
  const bad: [unknown, RegExp][] = [
    [{ pageSize: 101 }, /\/pageSize must be <= 100/],
    [{ page: 0 }, /\/page must be >= 1/],
    [{ sort: 'size' }, /\/sort must be one of "code", "name", "publishedDate"/],
    [{ shareType: 'open' }, /\/shareType must be one of/],
    [{ colour: 'red' }, /must not have the property "colour"/],
  ];
  for (const [query, message] of bad) {
    await t.rejects(service.search(auditor, query as SearchQuery), {
      code: 'CATALOG_QUERY_INVALID',
      statusCode: 422,
      message,
    });
  }
});

t.test('drafts and submitted versions show only to their owner and the bureau', async (t) => {
  const { service } = await catalogWithFixtures(t);
  await service.createDraft(market, { ...enterpriseEntry(), code: '102001/2', name: '个体工商户登记信息' });
  const v2 = populationEntry();
  v2.name = '人口基础信息（第二版）';
  await service.proposeChange(psb, '101001/1', v2);
  await service.submit(psb, '101001/1');

  t.notOk((await codes(service, {}, market)).includes('102001/2'), 'not in the default (published) search');
  t.same(await codes(service, { state: 'draft' }, market), ['102001/2']);
  t.same(await codes(service, { state: 'draft' }, bureau), ['102001/2']);
  t.same(await codes(service, { state: 'draft' }, psb), [], "another department's draft");
  t.same(await codes(service, { state: 'draft' }, auditor), []);

  const submitted = await service.search(psb, { state: 'submitted' });
  t.match(submitted.items, [
    { code: '101001/1', name: '人口基础信息（第二版）', version: 2, state: 'submitted' },
  ]);
  t.same(await codes(service, { state: 'submitted' }, market), []);
  const inForce = await service.search(market, { q: '人口' });
  t.match(
    inForce.items,
    [{ name: '人口基础信息', version: 1, state: 'published' }],
    'v1 is what is in force',
  );
});

t.test('the effective status is in each summary and can be filtered on', async (t) => {
  const { service, clock } = await catalogWithFixtures(t);
  await service.suspend(adminOf(HUMAN_RESOURCES), '301002/1', {
    reason: '系统升级',
    effectiveFrom: '2025-03-20',
  });
  t.same(await codes(service, { status: 'suspended' }), [], 'scheduled only');
  clock.now = new Date('2025-03-20T00:00:00Z');
  t.same(await codes(service, { status: 'suspended' }), ['301002/1']);
  t.match((await service.search(auditor, { q: '社会保险' })).items, [{ status: 'suspended' }]);
  t.equal((await service.search(auditor, { status: 'active' })).total, 3);
});

t.test('a write by another process is seen by the next search (generation counter)', async (t) => {
  const { service, redis, prefix } = await catalogWithFixtures(t);
  const otherProcess = new CatalogService(redis, prefix);
  t.equal((await otherProcess.search(auditor, {})).total, 4, 'cache filled');
  const entry = enterpriseEntry();
  entry.name = '企业登记信息（含分支机构）';
  await service.proposeChange(market, '102001/1', entry);
  await service.submit(market, '102001/1');
  t.same(await codes(otherProcess, { q: '分支机构' }), [], 'not in force yet');
  await service.approve(bureau, '102001/1');
  t.same(await codes(otherProcess, { q: '分支机构' }), ['102001/1'], 'reloaded the changed document');
  const keys = catalogKeys(prefix);
  await redis.del(keys.searchDocs, keys.generation, keys.changes);
  t.equal((await otherProcess.search(auditor, {})).total, 0, 'a reset counter forces a full reload');
});
