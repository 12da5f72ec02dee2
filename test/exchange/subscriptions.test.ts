import t from 'tap';
import { jobFilePath } from '../../exchange/paths.js';
import { failExportJob, runExportJob } from '../../exchange/runner.js';
import type { Subscription } from '../../exchange/schema.js';
import {
  createSubscription,
  deleteSubscription,
  getSubscriptionForCaller,
  listSubscriptionsForCaller,
  startSubscriptionRun,
  subscriptionWatermark,
} from '../../exchange/subscriptions.js';
import { exchangeWorld, openFile, POPULATION, parseJsonl } from './fixtures.js';

const world = await exchangeWorld(t, { residents: 5000 });
const scheduled: Subscription[] = [];
const unscheduled: string[] = [];
const base = world.deps({ pageSize: 1000 });
const deps = {
  ...base,
  queue: {
    ...base.queue,
    schedule: async (s: Subscription) => {
      scheduled.push(s);
    },
    unschedule: async (id: string) => {
      unscheduled.push(id);
    },
  },
};
await world.grant();
const purpose = { purpose: 'pension-check', userId: 'test.official' };
const times = world
  .residents()
  .map((r) => String(r.updatedAt))
  .sort();
const p80 = times[Math.floor(times.length * 0.8)]!;
const latest = times.at(-1)!;
const changedAfter = (since: string) => times.filter((v) => Date.parse(v) > Date.parse(since)).length;

t.test('a subscription exports what changed and advances its watermark only on completion', async (t) => {
  const sub = await createSubscription(
    deps,
    world.consumer.caller,
    { resource: POPULATION, format: 'jsonl', since: p80, items: ['idNumber', 'updatedAt'] },
    purpose,
  );
  t.same(sub.schedule, { pattern: '0 2 * * *', tz: 'Asia/Shanghai' }, 'daily at 02:00 China time by default');
  t.same(scheduled.at(-1), sub, 'the schedule is registered');
  await t.rejects(
    createSubscription(deps, world.consumer.caller, { resource: POPULATION, format: 'csv' }, purpose),
    { code: 'EXCHANGE_SUBSCRIPTION_EXISTS' },
    'one schedule per grant',
  );
  await t.rejects(getSubscriptionForCaller(deps, world.other.caller, sub.id), {
    code: 'EXCHANGE_SUBSCRIPTION_NOT_FOUND',
  });
  t.same((await listSubscriptionsForCaller(deps, world.other.caller)).length, 0);
  t.equal((await getSubscriptionForCaller(deps, world.consumer.caller, sub.id)).watermark, p80);

  const first = (await startSubscriptionRun(deps, sub.id))!;
  t.equal(first.kind, 'incremental');
  t.same(first.watermark, { item: 'updatedAt', from: p80 });
  t.equal(await startSubscriptionRun(deps, sub.id), undefined, 'no second run while one is queued');
  const done = await runExportJob(deps, first.id);
  const rows = parseJsonl(
    await openFile(jobFilePath(world.exchangeDir, done.id, 'jsonl'), world.consumer.keyPem),
  );
  t.equal(rows.length, changedAfter(p80));
  t.ok(
    rows.every((r) => Date.parse(String(r.updatedAt)) > Date.parse(p80)),
    'only changed rows',
  );
  t.equal(await subscriptionWatermark(deps, sub.id), latest, 'the watermark moved to the latest change');

  const second = (await startSubscriptionRun(deps, sub.id))!;
  t.same(second.watermark?.from, latest);
  const nothing = await runExportJob(deps, second.id);
  t.equal(nothing.progress.rows, 0, 'nothing changed since');
  t.same(nothing.manifest?.manifest.watermark, { item: 'updatedAt', from: latest, to: latest });
  t.equal(await subscriptionWatermark(deps, sub.id), latest);

  await deleteSubscription(deps, world.consumer.caller, sub.id);
  t.same(unscheduled, [sub.id]);
  t.equal(await startSubscriptionRun(deps, sub.id), undefined, 'a deleted subscription does not run');
  t.same(
    world.audits
      .filter((a) => a.detail?.subscriptionId === sub.id && a.action.startsWith('exchange.s'))
      .map((a) => a.action),
    ['exchange.subscribe', 'exchange.submit', 'exchange.start', 'exchange.submit', 'exchange.start'],
  );
});

t.test('a failed run leaves the watermark where it was', async (t) => {
  const sub = await createSubscription(
    deps,
    world.consumer.caller,
    { resource: POPULATION, format: 'csv', since: p80 },
    purpose,
  );
  const run = (await startSubscriptionRun(deps, sub.id))!;
  world.sim.setFault({ kind: 'status', status: 500, times: 1 });
  const error = await runExportJob(deps, run.id, { token: 'r1' }).catch((e) => e);
  t.equal(error.code, 'UPSTREAM_UNAVAILABLE');
  await failExportJob(deps, run.id, 'r1', error, true);
  t.equal(await subscriptionWatermark(deps, sub.id), p80, 'unchanged after the failure');

  const retry = (await startSubscriptionRun(deps, sub.id))!;
  t.not(retry.id, run.id, 'the next run starts (the failed one is no longer active)');
  t.same(retry.watermark?.from, p80, 'and covers the same changes');
  const done = await runExportJob(deps, retry.id);
  t.equal(done.progress.rows, changedAfter(p80));
  t.equal(await subscriptionWatermark(deps, sub.id), latest);
  await t.rejects(
    createSubscription(
      deps,
      world.consumer.caller,
      { resource: POPULATION, format: 'csv', schedule: { pattern: 'every day' } },
      purpose,
    ),
    { code: 'EXCHANGE_REQUEST_INVALID' },
    'a schedule that is not a cron pattern',
  );
});

t.test(
  'a subscription whose record the trail refuses is undone; an unsubscription refused keeps it',
  async (t) => {
    for (const s of await listSubscriptionsForCaller(deps, world.consumer.caller))
      await deleteSubscription(deps, world.consumer.caller, s.id);
    const refused = new Error('audit down');
    const refusing = (action: string) => ({
      ...deps,
      audit: async (record: Parameters<typeof deps.audit>[0]) =>
        record.action === action ? Promise.reject(refused) : deps.audit(record),
    });
    const request = { resource: POPULATION, format: 'csv' };
    const scheduledBefore = scheduled.length;
    await t.rejects(
      createSubscription(refusing('exchange.subscribe'), world.consumer.caller, request, purpose),
      refused,
    );
    t.same(await listSubscriptionsForCaller(deps, world.consumer.caller), [], 'no subscription is left');
    t.equal(unscheduled.at(-1), scheduled.at(-1)?.id, 'and its schedule is removed');
    t.equal(scheduled.length, scheduledBefore + 1);

    const sub = await createSubscription(deps, world.consumer.caller, request, purpose);
    await t.rejects(
      deleteSubscription(refusing('exchange.unsubscribe'), world.consumer.caller, sub.id),
      refused,
    );
    t.same(
      (await listSubscriptionsForCaller(deps, world.consumer.caller)).map((s) => s.id),
      [sub.id],
      'an unsubscription the trail refuses changes nothing',
    );
    t.not(unscheduled.at(-1), sub.id, 'its schedule stays');
    await deleteSubscription(deps, world.consumer.caller, sub.id);
    t.same(await listSubscriptionsForCaller(deps, world.consumer.caller), []);
  },
);
