/**
 * Bulk jobs and the obligations that travel with the data: a job is refused until the consumer
 * department accepted the resource's data-use terms in force ([XY] 25, 33), and the signed manifest of
 * every file states that it is for the consumer's own use, naming the recipients the provider consented
 * to ([HB-S] 14; [HC-R] 37).
 */
import t from 'tap';
import { verifyManifest } from '../../exchange/manifest.js';
import { runExportJob } from '../../exchange/runner.js';
import { submitExchangeJob } from '../../exchange/service.js';
import type { GrantStore } from '../../policies/grant-store.js';
import { UseTermsStore } from '../../policies/use-terms.js';
import { DEMO_DEPARTMENTS } from '../../scripts/lib/demo-catalog.js';
import { CONSUMER, exchangeWorld, NO_WATERMARK, POPULATION } from './fixtures.js';

const world = await exchangeWorld(t, { residents: 1_000 });
const useTerms = new UseTermsStore(world.redis, world.prefix, { now: () => new Date(world.clock.now) });
const deps = {
  ...world.deps(),
  useTerms: { acceptedVersion: useTerms.acceptedVersion.bind(useTerms), required: false },
};
const purpose = { purpose: 'pension-check', userId: 'test.official' };
const bureau = { role: 'bureau' as const, name: 'exchange test' };
const consumerAdmin = { role: 'dept-admin' as const, name: '人社局 刘管理', dept: CONSUMER.code };
const provider = DEMO_DEPARTMENTS.publicSecurity;

t.test('own use only, then with the provider’s consent, in the signed manifest', async (t) => {
  const grant = await world.grant();
  const first = await runExportJob(
    deps,
    (
      await submitExchangeJob(
        deps,
        world.consumer.caller,
        { resource: POPULATION, kind: 'full', format: 'jsonl' },
        purpose,
      )
    ).id,
  );
  t.same(first.manifest?.manifest.useRestriction, {
    ownUseOnly: true,
    onwardDisclosure: 'forbidden',
    recipients: [],
  });
  const grants = world.grants as GrantStore;
  await grants.addOnwardConsent(
    { role: 'dept-admin', name: '公安局 王管理', dept: provider.code },
    grant.id,
    {
      recipientDept: DEMO_DEPARTMENTS.marketRegulation.code,
      recipientName: DEMO_DEPARTMENTS.marketRegulation.name,
      purpose: '企业法定代表人身份核验',
      document: '武公函〔2026〕12号',
    },
  );
  const second = await runExportJob(
    deps,
    (
      await submitExchangeJob(
        deps,
        world.consumer.caller,
        { resource: POPULATION, kind: 'full', format: 'jsonl' },
        purpose,
      )
    ).id,
  );
  t.same(second.manifest?.manifest.useRestriction, {
    ownUseOnly: true,
    onwardDisclosure: 'consented',
    recipients: [DEMO_DEPARTMENTS.marketRegulation.code],
  });
  t.ok(verifyManifest(second.manifest, world.platform.signingCertPem).ok, 'the restriction is signed');
  const altered = {
    ...second.manifest!,
    manifest: { ...second.manifest!.manifest, useRestriction: first.manifest!.manifest.useRestriction },
  };
  t.notOk(verifyManifest(altered, world.platform.signingCertPem).ok, 'and cannot be altered');
});

t.test('a bulk job waits for the acceptance of the terms in force', async (t) => {
  await world.grant();
  const population = (await world.catalog.publishedEntry(POPULATION))!.entry;
  const withTerms = {
    ...population,
    useTerms: { version: '2026-1', terms: '仅用于养老金资格核验', undertaking: '不向第三方提供，妥善保管' },
  };
  await world.catalog.importEntry(bureau, withTerms);
  await world.grant();
  await t.rejects(
    submitExchangeJob(
      deps,
      world.consumer.caller,
      { resource: POPULATION, kind: 'full', format: 'jsonl' },
      purpose,
    ),
    { code: 'TERMS_NOT_ACCEPTED', statusCode: 403, message: /version 2026-1 of the data-use terms/ },
  );
  await useTerms.accept(consumerAdmin, withTerms, '2026-1');
  const job = await submitExchangeJob(
    deps,
    world.consumer.caller,
    { resource: POPULATION, kind: 'full', format: 'jsonl' },
    purpose,
  );
  t.equal(job.state, 'queued');

  // A new version: the queued job stops at its run, and new jobs wait for the new acceptance.
  await world.catalog.importEntry(bureau, {
    ...withTerms,
    useTerms: { ...withTerms.useTerms, version: '2026-2' },
  });
  await world.grant();
  await t.rejects(
    submitExchangeJob(
      deps,
      world.consumer.caller,
      { resource: POPULATION, kind: 'full', format: 'jsonl' },
      purpose,
    ),
    { code: 'TERMS_NOT_ACCEPTED', message: /version 2026-2 .*\(it accepted 2026-1\)/ },
  );
  // With terms required on the platform, a resource without any is refused.
  const bare = (await world.catalog.publishedEntry(NO_WATERMARK))!.entry;
  await (world.grants as GrantStore).create(bureau, bare, {
    deptCode: CONSUMER.code,
    systemId: CONSUMER.system,
    resourceCode: NO_WATERMARK,
    items: ['idNumber', 'name'],
    purposes: ['pension-check'],
    modes: ['bulk'],
    validTo: new Date(world.clock.now + 86400_000).toISOString(),
    basis: '《政务信息资源共享管理办法》第二十一条',
  });
  const request = { resource: NO_WATERMARK, kind: 'full', format: 'jsonl' };
  const job2 = await submitExchangeJob(deps, world.consumer.caller, request, purpose);
  t.equal(job2.state, 'queued', 'no terms, none required');
  const required = { ...deps, useTerms: { ...deps.useTerms, required: true } };
  await t.rejects(submitExchangeJob(required, world.consumer.caller, request, purpose), {
    code: 'RESOURCE_TERMS_MISSING',
    statusCode: 403,
  });
});
