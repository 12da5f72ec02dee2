import t from 'tap';
import type { QualityReport } from '../../../catalog/quality/report.js';
import { type BelowThresholdEvent, QualityStore } from '../../../catalog/quality/store.js';
import { useRedis } from '../../helpers/redis.js';

const report = (id: string, score: number, minute: number, resource = '201003/7'): QualityReport => ({
  id,
  resource,
  version: 2,
  startedAt: `2025-06-10T02:${String(minute).padStart(2, '0')}:00.000Z`,
  finishedAt: `2025-06-10T02:${String(minute).padStart(2, '0')}:30.000Z`,
  rowsRead: 100,
  rowsChecked: 100,
  rowsWithViolations: Math.round(100 - score),
  score,
  rules: [
    {
      rule: 'idNumber:idNumber',
      kind: 'identifier',
      item: 'idNumber',
      violations: Math.round(100 - score),
      examples: [],
    },
    { rule: 'unique:key', kind: 'unique', violations: 0, examples: [] },
  ],
  freshness: { checked: false, stale: false },
});

t.test('history, trend, and a correction task below the threshold', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const events: BelowThresholdEvent[] = [];
  let now = Date.parse('2025-06-10T03:00:00Z');
  const store = new QualityStore(redis, prefix, {
    historyLimit: 3,
    onBelowThreshold: (e) => {
      events.push(e);
    },
    now: () => now,
  });
  t.equal(store.threshold, 90);

  const first = await store.save(report('r1', 95.5, 1));
  t.match(first, { duplicate: false, taskAction: 'none' });
  t.notOk(first.report.trend, 'no trend for the first run');

  const second = await store.save(report('r2', 80, 2));
  t.match(second, {
    taskAction: 'opened',
    task: { state: 'open', runId: 'r2', score: 80, threshold: 90, failingRuns: 1 },
  });
  t.same(second.report.trend, {
    previousRunId: 'r1',
    previousScore: 95.5,
    previousFinishedAt: '2025-06-10T02:01:30.000Z',
    delta: -15.5,
  });
  t.same(
    second.task!.failingRules,
    [{ rule: 'idNumber:idNumber', violations: 20 }],
    'only rules with violations',
  );
  t.equal(events.length, 1);
  t.match(events[0], { opened: true, task: { id: second.task!.id }, report: { id: 'r2' } });

  now += 60_000;
  const third = await store.save(report('r3', 70.25, 3));
  t.match(third, {
    taskAction: 'updated',
    task: { id: second.task!.id, runId: 'r3', failingRuns: 2, score: 70.25 },
  });
  t.equal(third.report.trend!.delta, -9.75);
  t.match(events[1], { opened: false });
  t.equal(third.task!.openedAt, '2025-06-10T03:00:00.000Z', 'opened when first below');
  t.equal(third.task!.updatedAt, '2025-06-10T03:01:00.000Z');

  const again = await store.save(report('r3', 70.25, 3));
  t.match(
    again,
    { duplicate: true, taskAction: 'none', report: { id: 'r3' } },
    'a run saved twice is stored once',
  );
  t.equal(events.length, 2);

  const fourth = await store.save(report('r4', 99, 4));
  t.match(fourth, { taskAction: 'resolved', task: { state: 'resolved', resolvedByRun: 'r4' } });
  t.equal(await store.openTask('201003/7'), undefined);

  t.same(
    (await store.history('201003/7')).map((r) => r.id),
    ['r4', 'r3', 'r2'],
    'newest first, trimmed to the limit',
  );
  t.equal((await store.latest('201003/7'))!.id, 'r4');
  t.equal(await store.latest('999/1'), undefined);

  await store.save(report('other-1', 50, 5, '102001/1'));
  t.same(await store.scores(), [
    { resource: '102001/1', score: 50 },
    { resource: '201003/7', score: 99 },
  ]);
  t.same(await store.scores(90), [{ resource: '102001/1', score: 50 }]);
  const open = await store.listOpenTasks();
  t.same(
    open.map((task) => task.resource),
    ['102001/1'],
  );
  t.equal(await store.closeTask(open[0]!.id, 'bureau 张审核', 'provider explained the codes'), true);
  t.match(await store.task(open[0]!.id), {
    state: 'closed',
    closedBy: 'bureau 张审核',
    note: 'provider explained the codes',
  });
  t.equal(await store.closeTask(open[0]!.id, 'x', 'y'), false, 'only open tasks close');
  t.same(await store.listOpenTasks(), []);

  const keys = await redis.keys(`${prefix}*`);
  t.ok(
    keys.length > 0 && keys.every((k) => k.startsWith(`${prefix}{quality}:`)),
    'every key is under the {quality} hash tag',
  );
});

t.test('a failing notification does not lose the run', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const store = new QualityStore(redis, prefix, {
    threshold: 99,
    onBelowThreshold: () => {
      throw new Error('webhook down');
    },
  });
  const saved = await store.save(report('r1', 98, 1));
  t.match(saved, { taskAction: 'opened', notifyError: 'webhook down' });
  t.equal((await store.latest('201003/7'))!.id, 'r1');
});
