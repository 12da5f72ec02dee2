/**
 * No classified data ([HB-S] 3; [HC-R] 21, 39): an entry whose confidentiality review says classified
 * (涉密) can be drafted but never submitted, published or imported.
 */
import t from 'tap';
import type { ResourceEntry } from '../../catalog/schema.js';
import { CatalogService } from '../../catalog/service.js';
import { useRedis } from '../helpers/redis.js';
import { adminOf, bureau, PUBLIC_SECURITY, populationEntry } from './fixtures.js';

const psb = adminOf(PUBLIC_SECURITY, '公安局 王管理');

function reviewed(result: 'classified' | 'not-classified'): ResourceEntry {
  return {
    ...populationEntry(),
    confidentiality: { result, reviewedBy: '市公安局保密办', reviewedOn: '2026-02-20' },
  };
}

t.test('a classified entry is never submitted, imported or published', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const service = new CatalogService(redis, prefix, { now: () => new Date('2026-03-10T02:00:00Z') });
  const classified = reviewed('classified');
  await service.createDraft(psb, classified);
  await t.rejects(service.submit(psb, classified.code), {
    code: 'CATALOG_CLASSIFIED',
    statusCode: 422,
    message: /classified \(涉密\) by the review of 市公安局保密办 on 2026-02-20/,
  });
  await t.rejects(service.importEntry(bureau, { ...classified, code: '101001/2' }), {
    code: 'CATALOG_CLASSIFIED',
  });
  t.equal(await service.publishedEntry(classified.code), null);
  t.equal(await service.publishedEntry('101001/2'), null);

  // The same entry reviewed as not classified goes through.
  await service.updateDraft(psb, classified.code, reviewed('not-classified'));
  await service.submit(psb, classified.code);
  await service.approve(bureau, classified.code);
  t.match(await service.publishedEntry(classified.code), {
    entry: { confidentiality: { result: 'not-classified' } },
  });
  // A later version marked classified cannot replace it.
  await service.proposeChange(psb, classified.code, reviewed('classified'));
  await t.rejects(service.submit(psb, classified.code), { code: 'CATALOG_CLASSIFIED' });
});

t.test('an entry without a confidentiality review is drafted but never submitted or imported', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const service = new CatalogService(redis, prefix, { now: () => new Date('2026-03-10T02:00:00Z') });
  const { confidentiality: _, ...unreviewed } = populationEntry();
  await service.createDraft(psb, unreviewed);
  await t.rejects(service.submit(psb, unreviewed.code), {
    code: 'CATALOG_CONFIDENTIALITY_REVIEW_REQUIRED',
    statusCode: 422,
    message: /confidentiality review \(保密审查\) of 101001\/1/,
  });
  await t.rejects(service.importEntry(bureau, { ...unreviewed, code: '101001/2' }), {
    code: 'CATALOG_CONFIDENTIALITY_REVIEW_REQUIRED',
  });
  t.equal(await service.publishedEntry('101001/2'), null);
  await service.updateDraft(psb, unreviewed.code, reviewed('not-classified'));
  await service.submit(psb, unreviewed.code);
  await service.approve(bureau, unreviewed.code);
  t.ok(await service.publishedEntry(unreviewed.code), 'reviewed, it is published');
});
