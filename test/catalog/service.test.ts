import t, { type Test } from 'tap';
import { CatalogView, PublishedEntry } from '../../catalog/records.js';
import { CatalogService } from '../../catalog/service.js';
import { describeFirstError, firstErrorAjv } from '../../catalog/validation.js';
import { createRedisClient } from '../../platform/redis.js';
import { useRedis } from '../helpers/redis.js';
import {
  adminOf,
  auditor,
  bureau,
  conditionalEntry,
  enterpriseEntry,
  HUMAN_RESOURCES,
  MARKET_REGULATION,
  PUBLIC_SECURITY,
  populationEntry,
  publish,
} from './fixtures.js';

const psb = adminOf(PUBLIC_SECURITY, '公安局 王管理');
const market = adminOf(MARKET_REGULATION, '市场监管局 赵管理');

async function setup(t: Test, known?: string[]) {
  const { redis, prefix, server } = await useRedis(t);
  const clock = { now: new Date('2025-03-10T02:00:00Z') };
  const service = new CatalogService(redis, prefix, {
    now: () => clock.now,
    ...(known && { isKnownDepartment: async (code: string) => known.includes(code) }),
  });
  return { service, clock, redis, prefix, server };
}

t.test('draft → submitted → published, each write returning its audit facts', async (t) => {
  const { service } = await setup(t);
  const created = await service.createDraft(psb, populationEntry());
  t.match(created.change, { action: 'create', code: '101001/1', version: 1, by: psb });
  t.equal(created.version?.state, 'draft');
  t.equal(await service.publishedEntry('101001/1'), null, 'nothing in force yet');

  const edited = populationEntry();
  edited.summary = '全市人口基础信息（修订）';
  const updated = await service.updateDraft(psb, '101001/1', edited);
  t.match(updated.change, { action: 'update', version: 1 });
  t.equal(updated.version?.entry.summary, '全市人口基础信息（修订）');

  const submitted = await service.submit(psb, '101001/1');
  t.equal(submitted.version?.state, 'submitted');
  t.equal(submitted.version?.submittedAt, '2025-03-10T02:00:00.000Z');

  const approved = await service.approve(bureau, '101001/1', '符合编目要求');
  t.match(approved.change, {
    action: 'approve',
    code: '101001/1',
    version: 1,
    by: bureau,
    reason: '符合编目要求',
  });
  t.match(approved.version, { state: 'published', publishedDate: '2025-03-10', reviewedBy: bureau });
  t.equal(approved.resource.current, 1);
  t.same(
    approved.resource.history.map((h) => h.action),
    ['create', 'update', 'submit', 'approve'],
  );

  const inForce = await service.publishedEntry('101001/1');
  t.match(inForce, { code: '101001/1', version: 1, status: 'active', publishedDate: '2025-03-10' });
  t.equal(inForce?.entry.summary, '全市人口基础信息（修订）');
});

t.test('a rejection needs a reason and sends the version back for editing', async (t) => {
  const { service } = await setup(t);
  await service.createDraft(psb, populationEntry());
  await service.submit(psb, '101001/1');
  await t.rejects(service.reject(bureau, '101001/1', '  '), {
    code: 'CATALOG_REASON_REQUIRED',
    statusCode: 422,
  });
  const rejected = await service.reject(bureau, '101001/1', '信息项说明不完整');
  t.match(rejected.version, { state: 'rejected', reviewReason: '信息项说明不完整' });
  t.match(rejected.change, { action: 'reject', reason: '信息项说明不完整' });
  await t.rejects(service.submit(psb, '101001/1'), { code: 'CATALOG_ILLEGAL_TRANSITION', statusCode: 409 });
  const redrafted = await service.updateDraft(psb, '101001/1', populationEntry());
  t.equal(redrafted.version?.state, 'draft');
  t.notOk(redrafted.version?.reviewReason, 'the old review is cleared');
  t.notOk(redrafted.version?.submittedAt, 'and the old submission');
  await service.submit(psb, '101001/1');
  t.equal((await service.approve(bureau, '101001/1')).version?.state, 'published');
});

t.test('illegal transitions are refused with the current state and the action (409)', async (t) => {
  const { service } = await setup(t);
  await service.createDraft(psb, populationEntry());
  await t.rejects(service.approve(bureau, '101001/1'), {
    code: 'CATALOG_ILLEGAL_TRANSITION',
    statusCode: 409,
    message: 'version 1 of 101001/1 is draft: cannot approve (allowed: edit, submit)',
  });
  await t.rejects(service.proposeChange(psb, '101001/1', populationEntry()), {
    message: /is draft: cannot propose/,
  });
  await service.submit(psb, '101001/1');
  await t.rejects(service.updateDraft(psb, '101001/1', populationEntry()), {
    message: /is submitted: cannot edit/,
  });
  await t.rejects(service.submit(psb, '101001/1'), { message: /is submitted: cannot submit/ });
  await service.approve(bureau, '101001/1');
  await t.rejects(service.approve(bureau, '101001/1'), { message: /is published: cannot approve/ });
  await t.rejects(service.resume(psb, '101001/1'), {
    message: /resource 101001\/1 is active: cannot resume/,
  });
});

t.test('registration: owner only, one per code, known provider, valid entry', async (t) => {
  const { service } = await setup(t, [PUBLIC_SECURITY, MARKET_REGULATION]);
  await t.rejects(service.createDraft(market, populationEntry()), {
    code: 'CATALOG_NOT_OWNER',
    statusCode: 403,
    message: new RegExp(`department ${MARKET_REGULATION} cannot register a resource`),
  });
  await t.rejects(service.createDraft(bureau, populationEntry()), {
    code: 'CATALOG_FORBIDDEN',
    statusCode: 403,
  });
  await t.rejects(service.createDraft(adminOf(HUMAN_RESOURCES), conditionalEntry()), {
    code: 'CATALOG_PROVIDER_UNKNOWN',
    statusCode: 422,
  });
  const invalid = populationEntry();
  invalid.items = [];
  await t.rejects(service.createDraft(psb, invalid), { code: 'CATALOG_ENTRY_INVALID', message: /\/items/ });
  await service.createDraft(psb, populationEntry());
  await t.rejects(service.createDraft(psb, populationEntry()), { code: 'CATALOG_EXISTS', statusCode: 409 });
  await t.rejects(service.createDraft({ role: 'dept-admin', name: 'no dept' }, populationEntry()), {
    code: 'CATALOG_FORBIDDEN',
    message: /must name its department/,
  });
});

t.test("a department administrator cannot touch another department's entries", async (t) => {
  const { service } = await setup(t);
  await publish(service, populationEntry());
  await service.createDraft(market, enterpriseEntry());
  const refusals = {
    updateDraft: () => service.updateDraft(psb, '102001/1', enterpriseEntry()),
    submit: () => service.submit(psb, '102001/1'),
    proposeChange: () => service.proposeChange(market, '101001/1', populationEntry()),
    suspend: () => service.suspend(market, '101001/1', { reason: '核查', effectiveFrom: '2025-03-11' }),
    withdraw: () => service.withdraw(market, '101001/1', { reason: '停用', effectiveFrom: '2025-04-01' }),
  };
  for (const [name, attempt] of Object.entries(refusals)) {
    await t.rejects(attempt(), { code: 'CATALOG_NOT_OWNER', statusCode: 403 }, name);
  }
  await t.rejects(
    service.approve(market, '102001/1'),
    { code: 'CATALOG_FORBIDDEN' },
    'only the bureau reviews',
  );
  await t.rejects(service.suspend(auditor, '101001/1', { reason: 'x' }), { code: 'CATALOG_FORBIDDEN' });
});

t.test('code and provider cannot change between versions', async (t) => {
  const { service } = await setup(t);
  await service.createDraft(psb, populationEntry());
  const moved = populationEntry();
  moved.code = '101001/2';
  await t.rejects(service.updateDraft(psb, '101001/1', moved), { code: 'CATALOG_CODE_IMMUTABLE' });
  const other = populationEntry();
  other.provider = { code: MARKET_REGULATION, name: '武汉市市场监督管理局' };
  await t.rejects(service.updateDraft(psb, '101001/1', other), {
    code: 'CATALOG_CODE_IMMUTABLE',
    message: /provider/,
  });
});

t.test('submission needs a mounted data service', async (t) => {
  const { service } = await setup(t);
  const entry = populationEntry();
  delete entry.service;
  await service.createDraft(psb, entry);
  await t.rejects(service.submit(psb, '101001/1'), { code: 'CATALOG_SERVICE_REQUIRED' });
});

t.test(
  'versions: v1 stays in force while v2 is drafted and reviewed; approving v2 supersedes v1',
  async (t) => {
    const { service, clock } = await setup(t);
    await publish(service, populationEntry());
    const v2 = populationEntry();
    v2.updateCycle = 'realtime';
    const proposed = await service.proposeChange(psb, '101001/1', v2);
    t.match(proposed.change, { action: 'propose', version: 2 });

    t.match(await service.publishedEntry('101001/1'), { version: 1, entry: { updateCycle: 'daily' } });
    const asOwner = await service.get(psb, '101001/1');
    t.equal(asOwner.current?.version, 1);
    t.match(asOwner.latest, { version: 2, state: 'draft' });
    const asOther = await service.get(market, '101001/1');
    t.equal(asOther.latest?.version, 1, 'others see only what is in force');
    t.equal(asOther.resource.latest, 1);
    t.notOk(
      asOther.resource.history.some((h) => h.action === 'propose'),
      'unpublished work is not in the public history',
    );
    t.same(
      (await service.listVersions(market, '101001/1')).map((v) => v.version),
      [1],
    );
    await t.rejects(service.getVersion(market, '101001/1', 2), { code: 'CATALOG_NOT_FOUND' });

    await service.submit(psb, '101001/1');
    t.equal((await service.publishedEntry('101001/1'))?.version, 1, 'still v1 while v2 is under review');

    clock.now = new Date('2025-03-12T17:00:00Z');
    const approved = await service.approve(bureau, '101001/1');
    t.match(approved.version, { version: 2, state: 'published', publishedDate: '2025-03-13' });
    t.equal(approved.resource.current, 2);
    const versions = await service.listVersions(market, '101001/1');
    t.same(
      versions.map((v) => [v.version, v.state]),
      [
        [1, 'superseded'],
        [2, 'published'],
      ],
    );
    t.equal(versions[0]?.supersededAt, '2025-03-12T17:00:00.000Z');
    t.match(await service.publishedEntry('101001/1'), { version: 2, entry: { updateCycle: 'realtime' } });
    t.match(await service.getVersion(auditor, '101001/1', 1), {
      state: 'superseded',
      entry: { updateCycle: 'daily' },
    });
  },
);

t.test('drafts are visible only to their owner and the bureau', async (t) => {
  const { service } = await setup(t);
  await service.createDraft(psb, populationEntry());
  t.equal((await service.get(psb, '101001/1')).latest?.state, 'draft');
  t.equal((await service.get(bureau, '101001/1')).latest?.state, 'draft');
  for (const reader of [market, auditor]) {
    await t.rejects(service.get(reader, '101001/1'), { code: 'CATALOG_NOT_FOUND', statusCode: 404 });
    await t.rejects(service.listVersions(reader, '101001/1'), { code: 'CATALOG_NOT_FOUND' });
    await t.rejects(service.getVersion(reader, '101001/1', 1), { code: 'CATALOG_NOT_FOUND' });
  }
  await t.rejects(service.get(bureau, '999001/1'), { code: 'CATALOG_NOT_FOUND' });
});

t.test('a suspension with a future effective date takes effect when the clock passes it', async (t) => {
  const { service, clock } = await setup(t);
  await publish(service, populationEntry());
  await t.rejects(service.suspend(psb, '101001/1', { effectiveFrom: '2025-03-15' }), {
    code: 'CATALOG_REASON_REQUIRED',
  });
  await t.rejects(service.suspend(psb, '101001/1', { reason: '系统迁移', effectiveFrom: '2025-03-01' }), {
    code: 'CATALOG_EFFECTIVE_DATE_INVALID',
  });
  const suspended = await service.suspend(psb, '101001/1', {
    reason: '系统迁移',
    effectiveFrom: '2025-03-15',
  });
  t.match(suspended.change, { action: 'suspend', version: 1, reason: '系统迁移' });
  t.match(suspended.resource.status, { declared: 'suspended', effectiveFrom: '2025-03-14T16:00:00.000Z' });

  t.equal((await service.get(market, '101001/1')).effectiveStatus, 'active', 'scheduled, not yet in effect');
  t.equal((await service.publishedEntry('101001/1'))?.status, 'active');
  clock.now = new Date('2025-03-14T16:00:00Z');
  t.equal((await service.publishedEntry('101001/1'))?.status, 'suspended', 'in effect from 00:00 CST');
  const { resource } = await service.get(bureau, '101001/1');
  t.equal(service.effectiveStatus(resource, new Date('2025-03-14T15:59:59Z')), 'active');
  t.equal(service.effectiveStatus(resource), 'suspended');

  await t.rejects(service.suspend(bureau, '101001/1', { reason: 'again', effectiveFrom: '2025-03-20' }), {
    code: 'CATALOG_ILLEGAL_TRANSITION',
  });
  const resumed = await service.resume(bureau, '101001/1');
  t.match(resumed.change, { action: 'resume', by: bureau });
  t.equal((await service.publishedEntry('101001/1'))?.status, 'active');
});

t.test('suspending needs something published', async (t) => {
  const { service } = await setup(t);
  await service.createDraft(psb, populationEntry());
  await t.rejects(service.suspend(psb, '101001/1', { reason: '暂停', effectiveFrom: '2025-03-10' }), {
    code: 'CATALOG_ILLEGAL_TRANSITION',
    message: /never published/,
  });
});

t.test('a withdrawal is filed in advance, then final', async (t) => {
  const { service, clock } = await setup(t);
  await publish(service, populationEntry());
  await t.rejects(service.suspend(psb, '101001/1', { reason: '数据核查' }), {
    code: 'CATALOG_EFFECTIVE_DATE_INVALID',
    message: /give the date/,
  });
  await service.suspend(psb, '101001/1', { reason: '数据核查', effectiveFrom: '2025-03-10' });
  t.equal((await service.publishedEntry('101001/1'))?.status, 'suspended', 'immediately');
  await t.rejects(service.withdraw(psb, '101001/1', { reason: '职能调整' }), {
    code: 'CATALOG_EFFECTIVE_DATE_INVALID',
    message: /give the date/,
  });
  await t.rejects(service.withdraw(psb, '101001/1', { reason: '职能调整', effectiveFrom: '2025-03-10' }), {
    message: /filed in advance/,
  });
  await t.rejects(service.withdraw(psb, '101001/1', { effectiveFrom: '2025-04-01' }), {
    code: 'CATALOG_REASON_REQUIRED',
  });
  const withdrawn = await service.withdraw(bureau, '101001/1', {
    reason: '职能调整',
    effectiveFrom: '2025-04-01',
  });
  t.match(withdrawn.change, { action: 'withdraw', reason: '职能调整', by: bureau });
  t.equal((await service.publishedEntry('101001/1'))?.status, 'suspended', 'still suspended until April');
  clock.now = new Date('2025-04-01T00:00:00Z');
  t.equal((await service.publishedEntry('101001/1'))?.status, 'withdrawn');
  for (const attempt of [
    () => service.resume(psb, '101001/1'),
    () => service.proposeChange(psb, '101001/1', populationEntry()),
    () => service.withdraw(psb, '101001/1', { reason: 'again', effectiveFrom: '2025-05-01' }),
  ]) {
    await t.rejects(attempt(), { code: 'CATALOG_ILLEGAL_TRANSITION', message: /withdrawn: cannot/ });
  }
});

t.test('concurrent approvals: exactly one succeeds', async (t) => {
  const { service, server, prefix } = await setup(t);
  await service.createDraft(psb, populationEntry());
  await service.submit(psb, '101001/1');
  // Separate connections, as separate gateway processes would have.
  const others = Array.from({ length: 5 }, () => createRedisClient(server.url));
  t.teardown(() => Promise.all(others.map((r) => r.quit())).then(() => undefined));
  const results = await Promise.allSettled(
    others.map((r) => new CatalogService(r, prefix).approve(bureau, '101001/1')),
  );
  const fulfilled = results.filter((r) => r.status === 'fulfilled');
  t.equal(fulfilled.length, 1, 'one approval');
  for (const r of results) {
    if (r.status === 'rejected')
      t.match(r.reason, { code: 'CATALOG_ILLEGAL_TRANSITION', message: /is published/ });
  }
  const { resource } = await service.get(bureau, '101001/1');
  t.equal(resource.history.filter((h) => h.action === 'approve').length, 1, 'recorded once');
});

t.test('concurrent registrations of one code: exactly one succeeds', async (t) => {
  const { service } = await setup(t);
  const results = await Promise.allSettled([1, 2, 3].map(() => service.createDraft(psb, populationEntry())));
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  t.equal(
    results.filter((r) => r.status === 'rejected' && (r.reason as { code: string }).code === 'CATALOG_EXISTS')
      .length,
    2,
  );
});

t.test('stored records match their published schemas', async (t) => {
  const { service } = await setup(t);
  await publish(service, populationEntry());
  await service.proposeChange(psb, '101001/1', populationEntry());
  await service.suspend(bureau, '101001/1', { reason: '核查', effectiveFrom: '2025-03-20' });
  const view = await service.get(psb, '101001/1');
  const validate = firstErrorAjv.compile(CatalogView);
  t.ok(validate(view), describeFirstError(validate.errors));
  const validateEntry = firstErrorAjv.compile(PublishedEntry);
  t.ok(validateEntry(await service.publishedEntry('101001/1')), describeFirstError(validateEntry.errors));
});

t.test('a write computed from a stale resource record is not committed', async (t) => {
  const { service } = await setup(t);
  await service.createDraft(psb, populationEntry());
  const stale = await service.store.load('101001/1');
  await service.submit(psb, '101001/1');
  const rejected = { ...stale!.latest!, state: 'rejected' as const };
  t.equal(await service.store.write(stale!.raw, stale!.resource, [rejected], []), 'conflict');
  t.equal((await service.get(bureau, '101001/1')).latest?.state, 'submitted', 'unchanged');
});
