/**
 * No classified data ([HB-S] 3; [HC-R] 21, 39) at every path after the catalog: a grant (direct or from
 * an application), an application, a data call and a bulk job are all refused for a resource whose
 * confidentiality review says classified (涉密) — here one that was reclassified after it was published
 * and granted (written straight to the store, as the catalog itself would never publish it).
 */
import t from 'tap';
import { newVersion } from '../../catalog/record-builders.js';
import type { ResourceEntry } from '../../catalog/schema.js';
import { CatalogService } from '../../catalog/service.js';
import { resolveTerms } from '../../exchange/terms.js';
import { checkResourceOpen } from '../../policies/applications/validation.js';
import { decide } from '../../policies/decide.js';
import { GrantStore } from '../../policies/grant-store.js';
import { bureau } from '../catalog/fixtures.js';
import { useRedis } from '../helpers/redis.js';
import { BUREAU, CIVIL_AFFAIRS, POLICE_ADMIN, POPULATION, populationRequest } from './fixtures.js';

const review = (result: 'classified' | 'not-classified') => ({
  result,
  reviewedBy: '市公安局保密办',
  reviewedOn: '2026-02-20',
});

t.test('a classified resource is refused at grant, application, data call and bulk job', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const now = new Date('2026-03-02T02:00:00.000Z');
  const catalog = new CatalogService(redis, prefix, { now: () => now });
  const grants = new GrantStore(redis, prefix, { now: () => now });
  const open: ResourceEntry = {
    ...POPULATION,
    confidentiality: review('not-classified'),
    service: { connector: 'http', endpoint: 'http://127.0.0.1:9/population' },
  };
  await catalog.importEntry(bureau, open);
  const grant = await grants.create(BUREAU, open, populationRequest({ modes: ['api', 'bulk'] }));
  t.equal(grant.status, 'active', 'granted while not classified');

  const classified: ResourceEntry = { ...open, confidentiality: review('classified') };
  const loaded = (await catalog.store.load(open.code))!;
  const v2 = newVersion(classified, 2, 'published', bureau, now, '2026-03-02');
  const resource = { ...loaded.resource, latest: 2, current: 2 };
  t.equal(await catalog.store.write(loaded.raw, resource, [v2], []), 'written');
  const published = (await catalog.publishedEntry(open.code))!;
  t.equal(published.entry.confidentiality?.result, 'classified');

  await t.rejects(grants.create(BUREAU, published.entry, populationRequest()), {
    code: 'RESOURCE_CLASSIFIED',
    statusCode: 422,
  });
  await t.rejects(grants.create(POLICE_ADMIN, published.entry, populationRequest()), {
    code: 'RESOURCE_CLASSIFIED',
  });
  t.throws(() => checkResourceOpen(published), { code: 'RESOURCE_CLASSIFIED', statusCode: 422 });

  const caller = { deptCode: CIVIL_AFFAIRS, systemId: 'assistance', serial: 'ab' };
  const current = await grants.findActive(CIVIL_AFFAIRS, 'assistance', open.code);
  const call = decide(caller, { entry: published.entry, status: published.status }, current, {
    purpose: 'social-assistance',
    mode: 'api',
    queryItems: ['idNumber'],
    now: now.getTime(),
  });
  t.match(call, { allow: false, code: 'RESOURCE_CLASSIFIED', status: 403 });

  await t.rejects(
    resolveTerms(
      { catalog, grants },
      caller,
      {
        resource: open.code,
        kind: 'full',
        purpose: 'social-assistance',
      },
      now.getTime(),
    ),
    { code: 'RESOURCE_CLASSIFIED', statusCode: 403 },
  );
});
