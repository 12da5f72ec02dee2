/**
 * 一数一源 ([HB-S] 14; [HC-R] 18): one authoritative source per data item, on real Redis. A second
 * resource claiming to be the source is refused at submission and at publication, or sent to the bureau,
 * whose decision the registry follows; reusing an item is always fine.
 */
import t, { type Test } from 'tap';
import type { ResourceEntry } from '../../catalog/schema.js';
import { CatalogService } from '../../catalog/service.js';
import { useRedis } from '../helpers/redis.js';
import {
  adminOf,
  bureau,
  enterpriseEntry,
  MARKET_REGULATION,
  PUBLIC_SECURITY,
  populationEntry,
  publish,
} from './fixtures.js';

const psb = adminOf(PUBLIC_SECURITY, '公安局 王管理');
const market = adminOf(MARKET_REGULATION, '市场监管局 赵管理');

async function setup(t: Test) {
  const { redis, prefix } = await useRedis(t);
  return new CatalogService(redis, prefix, { now: () => new Date('2026-03-10T02:00:00Z') });
}

/** 人口基础信息 as the source of person.name. */
function populationSource(): ResourceEntry {
  const entry = populationEntry();
  entry.items[1] = { ...entry.items[1]!, semanticId: 'person.name', source: true };
  return entry;
}

/** 企业登记信息 with the legal representative's name, claiming (or reusing) person.name. */
function enterpriseWithName(source: boolean): ResourceEntry {
  const entry = enterpriseEntry();
  entry.items.push({
    name: 'legalRepName',
    label: '法定代表人姓名',
    dataType: 'C',
    length: 50,
    semanticId: 'person.name',
    ...(source ? { source: true } : {}),
  });
  return entry;
}

t.test(
  'the first published source holds the item; a reuse is fine; a second source is refused',
  async (t) => {
    const service = await setup(t);
    await publish(service, populationSource());
    t.same(await service.sources.registry(), { 'person.name': '101001/1' });

    const reuse = enterpriseWithName(false);
    await publish(service, reuse);
    t.same(await service.sources.registry(), { 'person.name': '101001/1' }, 'reusing claims nothing');

    const claim = enterpriseWithName(true);
    await service.proposeChange(market, claim.code, claim);
    await t.rejects(service.submit(market, claim.code), {
      code: 'CATALOG_ITEM_SOURCE_TAKEN',
      statusCode: 409,
      message: /101001\/1 is the authoritative source of "person.name"/,
    });
    // Imported directly (bypassing submission), the atomic claim at publication refuses it too.
    await t.rejects(service.importEntry(bureau, { ...claim, code: '102001/2' }), {
      code: 'CATALOG_ITEM_SOURCE_TAKEN',
    });
    t.equal(await service.publishedEntry('102001/2'), null);
    t.same(await service.sources.registry(), { 'person.name': '101001/1' });
    t.equal((await service.publishedEntry(claim.code))?.version, 1, 'the reuse version stays in force');
  },
);

t.test('source without a semantic id, or one meaning twice in an entry, is refused', async (t) => {
  const service = await setup(t);
  const noId = populationEntry();
  noId.items[1] = { ...noId.items[1]!, source: true };
  await t.rejects(service.createDraft(psb, noId), { code: 'CATALOG_ITEM_SOURCE_INVALID' });
  const twice = populationEntry();
  twice.items[1] = { ...twice.items[1]!, semanticId: 'person.name' };
  twice.items[4] = { ...twice.items[4]!, semanticId: 'person.name' };
  await t.rejects(service.createDraft(psb, twice), {
    code: 'CATALOG_ITEM_SOURCE_INVALID',
    message: /both have semanticId "person.name"/,
  });
});

t.test('with arbitrate the contest goes to the bureau; its decision moves the source', async (t) => {
  const service = await setup(t);
  await publish(service, populationSource());
  const claim = enterpriseWithName(true);
  await service.createDraft(market, claim);
  await t.rejects(service.submit(market, claim.code, { arbitrate: true }), {
    code: 'CATALOG_REASON_REQUIRED',
  });
  const submitted = await service.submit(market, claim.code, {
    arbitrate: true,
    reason: '法定代表人姓名以登记机关核准为准',
  });
  t.equal(submitted.version?.state, 'submitted');
  t.match(submitted.arbitrations, [
    { id: 'ARB-1', semanticId: 'person.name', claimant: claim.code, holder: '101001/1', state: 'open' },
  ]);
  // Until the bureau decides, the item's source stays on record and the claimant cannot be published.
  await t.rejects(service.approve(bureau, claim.code), { code: 'CATALOG_ITEM_SOURCE_TAKEN' });

  await t.rejects(service.sources.decide(market, 'ARB-1', { source: claim.code, reason: '自裁' }), {
    code: 'CATALOG_FORBIDDEN',
  });
  await t.rejects(service.sources.decide(bureau, 'ARB-1', { source: '301001/9', reason: 'x' }), {
    code: 'CATALOG_ILLEGAL_TRANSITION',
  });
  await t.rejects(service.sources.decide(bureau, 'ARB-9', { source: claim.code, reason: 'x' }), {
    code: 'CATALOG_ARBITRATION_NOT_FOUND',
  });
  const decided = await service.sources.decide(bureau, 'ARB-1', {
    source: claim.code,
    reason: '企业登记为法定代表人信息的法定来源',
  });
  t.match(decided, { state: 'decided', decision: { source: claim.code, by: bureau } });
  t.same(await service.sources.registry(), { 'person.name': claim.code });
  await service.approve(bureau, claim.code);
  t.equal((await service.publishedEntry(claim.code))?.version, 1, 'published once the bureau decided');
  await t.rejects(service.sources.decide(bureau, 'ARB-1', { source: '101001/1', reason: 'again' }), {
    code: 'CATALOG_ILLEGAL_TRANSITION',
  });

  // The former holder must now reuse the item: a new version still claiming it is refused.
  const stale = populationSource();
  stale.summary = '全市人口基础信息（修订）';
  await service.proposeChange(psb, stale.code, stale);
  await t.rejects(service.submit(psb, stale.code), { code: 'CATALOG_ITEM_SOURCE_TAKEN' });
});
