import t from 'tap';
import { exportCatalog, importCatalog } from '../../catalog/io.js';
import { CatalogService } from '../../catalog/service.js';
import { useRedis } from '../helpers/redis.js';
import {
  adminOf,
  auditor,
  bureau,
  conditionalEntry,
  enterpriseEntry,
  MARKET_REGULATION,
  notSharedEntry,
  PUBLIC_SECURITY,
  platform,
  populationEntry,
  publish,
} from './fixtures.js';

const now = () => new Date('2025-03-10T02:00:00Z');

t.test('export → import round trip into an empty catalog, then again unchanged', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const source = new CatalogService(redis, prefix, { now });
  for (const entry of [populationEntry(), enterpriseEntry(), conditionalEntry(), notSharedEntry()]) {
    await publish(source, entry);
  }
  const v2 = populationEntry();
  v2.summary = '第二版草稿';
  await source.proposeChange(adminOf(PUBLIC_SECURITY), '101001/1', v2);
  await source.createDraft(adminOf(MARKET_REGULATION), { ...enterpriseEntry(), code: '102001/2' });

  const file = await exportCatalog(source, bureau);
  t.match(file, { format: 'govshare-catalog', formatVersion: 1, exportedAt: '2025-03-10T02:00:00.000Z' });
  t.equal(file.resources.length, 5);
  t.same(
    file.resources.find((r) => r.resource.code === '101001/1')?.versions.map((v) => v.state),
    ['published', 'draft'],
  );
  const publicFile = await exportCatalog(source, auditor);
  t.equal(publicFile.resources.length, 4, 'an auditor does not see a never-published draft');
  t.same(
    publicFile.resources.find((r) => r.resource.code === '101001/1')?.versions.map((v) => v.state),
    ['published'],
  );

  // Through JSON, as a file would travel.
  const data: unknown = JSON.parse(JSON.stringify(file));
  const { prefix: otherPrefix } = await useRedis(t);
  const target = new CatalogService(redis, otherPrefix, { now });
  t.same(await importCatalog(target, bureau, data), { created: 4, updated: 0, unchanged: 0, skipped: 1 });
  for (const code of ['101001/1', '102001/1', '301002/1', '301005/1']) {
    const [before, after] = [await source.publishedEntry(code), await target.publishedEntry(code)];
    t.same(after?.entry, before?.entry, code);
    t.match(after, { version: 1, status: 'active', publishedDate: '2025-03-10' });
  }
  const imported = await target.get(auditor, '101001/1');
  t.match(imported.current, { state: 'published', createdBy: bureau, reviewedBy: bureau });
  t.match(imported.resource.history, [{ action: 'import', by: bureau, version: 1 }]);
  t.equal((await target.search(auditor, { q: '人口' })).total, 1, 'imported entries are searchable');

  t.same(await importCatalog(target, platform, data), { created: 0, updated: 0, unchanged: 4, skipped: 1 });
});

t.test('a plain array of entries: a changed entry becomes a new published version', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const service = new CatalogService(redis, prefix, { now });
  await importCatalog(service, platform, [populationEntry(), enterpriseEntry()]);
  const changed = enterpriseEntry();
  changed.updateCycle = 'daily';
  t.same(await importCatalog(service, bureau, [populationEntry(), changed, conditionalEntry()]), {
    created: 1,
    updated: 1,
    unchanged: 1,
    skipped: 0,
  });
  const versions = await service.listVersions(auditor, '102001/1');
  t.same(
    versions.map((v) => [v.version, v.state]),
    [
      [1, 'superseded'],
      [2, 'published'],
    ],
  );
  t.match(await service.publishedEntry('102001/1'), { version: 2, entry: { updateCycle: 'daily' } });
});

t.test('bad files are refused before anything is written, naming the entry and the field', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const service = new CatalogService(redis, prefix, { now });
  const badType = populationEntry() as unknown as { items: { dataType: string }[] };
  badType.items[3]!.dataType = 'DATE';
  const noBasis = conditionalEntry();
  delete noBasis.share.legalBasis;
  const noService = notSharedEntry();
  delete noService.service;
  const cases: [unknown, RegExp][] = [
    ['catalog', /expected a catalog export .* or an array of catalog entries/],
    [{ format: 'other' }, /expected a catalog export/],
    [[enterpriseEntry(), badType], /^entries\[1\]: \/items\/3\/dataType must be one of "C"/],
    [[noBasis], /^entries\[0\]: share\.legalBasis/],
    [[enterpriseEntry(), noService], /^entries\[1\]: service: mount a data service/],
    [[enterpriseEntry(), enterpriseEntry()], /^entries\[1\]: code 102001\/1 already appears in entries\[0\]/],
    [
      { format: 'govshare-catalog', formatVersion: 1, exportedAt: '2025-03-10T02:00:00Z', resources: [{}] },
      /^file: \/resources\/0 must have required property 'resource'/,
    ],
    [
      { format: 'govshare-catalog', formatVersion: 2, exportedAt: '2025-03-10T02:00:00Z', resources: [] },
      /^file: \/formatVersion must be 1$/,
    ],
  ];
  for (const [data, message] of cases) {
    await t.rejects(importCatalog(service, bureau, data), {
      code: 'CATALOG_IMPORT_INVALID',
      statusCode: 422,
      message,
    });
  }
  t.equal((await service.search(bureau, {})).total, 0, 'nothing was imported');
  await t.rejects(importCatalog(service, adminOf(PUBLIC_SECURITY), [populationEntry()]), {
    code: 'CATALOG_FORBIDDEN',
  });
});

t.test('an import does not overtake a version under way, nor an unknown provider', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const service = new CatalogService(redis, prefix, {
    now,
    isKnownDepartment: async (code) => code === PUBLIC_SECURITY,
  });
  await service.createDraft(adminOf(PUBLIC_SECURITY), populationEntry());
  await t.rejects(importCatalog(service, bureau, [populationEntry()]), {
    code: 'CATALOG_IMPORT_INVALID',
    message: /^entries\[0\] \(101001\/1\): version 1 of 101001\/1 is draft: approve, reject or finish it/,
  });
  await t.rejects(importCatalog(service, bureau, [enterpriseEntry()]), {
    code: 'CATALOG_IMPORT_INVALID',
    message: /is not a department registered on the platform/,
  });
});
