import t from 'tap';
import {
  cstDate,
  effectiveStatus,
  nextResourceStatus,
  nextVersionState,
  parseEffectiveFrom,
  type StatusAction,
  type VersionAction,
} from '../../catalog/lifecycle.js';
import type { CatalogStatus, ResourceStatus, VersionState } from '../../catalog/records.js';
import { bureau } from './fixtures.js';

t.test('every allowed version transition', async (t) => {
  const allowed: [VersionState, VersionAction, VersionState][] = [
    ['draft', 'edit', 'draft'],
    ['draft', 'submit', 'submitted'],
    ['submitted', 'approve', 'published'],
    ['submitted', 'reject', 'rejected'],
    ['rejected', 'edit', 'draft'],
    ['published', 'propose', 'published'],
    ['published', 'supersede', 'superseded'],
  ];
  for (const [from, action, to] of allowed)
    t.equal(nextVersionState(from, action), to, `${from} --${action}--> ${to}`);
});

t.test('illegal version transitions name the state and the action (409)', async (t) => {
  const illegal: [VersionState, VersionAction][] = [
    ['draft', 'approve'],
    ['submitted', 'edit'],
    ['submitted', 'submit'],
    ['rejected', 'submit'],
    ['published', 'edit'],
    ['published', 'approve'],
    ['superseded', 'propose'],
  ];
  for (const [from, action] of illegal) {
    t.throws(() => nextVersionState(from, action, 'version 2 of 101001/1'), {
      code: 'CATALOG_ILLEGAL_TRANSITION',
      statusCode: 409,
      message: new RegExp(`^version 2 of 101001/1 is ${from}: cannot ${action}`),
    });
  }
});

t.test('resource status transitions; withdrawn is terminal', async (t) => {
  const allowed: [ResourceStatus, StatusAction, ResourceStatus][] = [
    ['active', 'suspend', 'suspended'],
    ['active', 'withdraw', 'withdrawn'],
    ['suspended', 'resume', 'active'],
    ['suspended', 'withdraw', 'withdrawn'],
  ];
  for (const [from, action, to] of allowed) t.equal(nextResourceStatus(from, action), to);
  const illegal: [ResourceStatus, StatusAction][] = [
    ['active', 'resume'],
    ['suspended', 'suspend'],
    ['withdrawn', 'resume'],
    ['withdrawn', 'suspend'],
    ['withdrawn', 'withdraw'],
  ];
  for (const [from, action] of illegal) {
    t.throws(() => nextResourceStatus(from, action), {
      code: 'CATALOG_ILLEGAL_TRANSITION',
      message: new RegExp(`is ${from}: cannot ${action}`),
    });
  }
});

t.test('the effective status is the last declaration in effect at the time asked', async (t) => {
  const declare = (status: ResourceStatus, effectiveFrom: string) => ({
    status,
    effectiveFrom,
    by: bureau,
    at: '2025-01-01T00:00:00.000Z',
  });
  const status: CatalogStatus = {
    declared: 'active',
    effectiveFrom: '2025-07-01T00:00:00.000Z',
    timeline: [
      declare('active', '2025-01-01T00:00:00.000Z'),
      declare('suspended', '2025-06-01T00:00:00.000Z'),
      declare('active', '2025-07-01T00:00:00.000Z'),
    ],
  };
  t.equal(effectiveStatus(status, new Date('2025-05-31T23:59:59Z')), 'active');
  t.equal(effectiveStatus(status, new Date('2025-06-01T00:00:00Z')), 'suspended');
  t.equal(effectiveStatus(status, new Date('2025-07-01T00:00:00Z')), 'active');
  // A later filing that takes effect earlier cancels a scheduled one.
  status.timeline = [status.timeline[0]!, declare('suspended', '2025-06-01T00:00:00.000Z')];
  status.timeline.push(declare('active', '2025-05-01T00:00:00.000Z'));
  t.equal(effectiveStatus(status, new Date('2025-06-15T00:00:00Z')), 'active');
});

t.test('effective dates: CST days, zones, no backdating, withdrawals in advance', async (t) => {
  const now = new Date('2025-03-10T02:00:00Z'); // 10:00 in Beijing
  t.equal(parseEffectiveFrom(undefined, now).toISOString(), now.toISOString(), 'absent means now');
  t.equal(
    parseEffectiveFrom('2025-03-12', now).toISOString(),
    '2025-03-11T16:00:00.000Z',
    'start of day in CST',
  );
  t.equal(parseEffectiveFrom('2025-03-10', now).toISOString(), now.toISOString(), 'today means now');
  t.equal(parseEffectiveFrom('2025-03-20T09:00:00+08:00', now).toISOString(), '2025-03-20T01:00:00.000Z');
  for (const bad of ['2025-02-30', '2025-03-20T09:00:00', 'next monday', '2025-3-20']) {
    t.throws(() => parseEffectiveFrom(bad, now), { code: 'CATALOG_EFFECTIVE_DATE_INVALID' }, bad);
  }
  t.throws(() => parseEffectiveFrom('2025-03-09', now), { message: /lies in the past/ });
  t.throws(() => parseEffectiveFrom('2025-03-10', now, { inAdvance: true }), { message: /filed in advance/ });
  t.throws(() => parseEffectiveFrom(undefined, now, { inAdvance: true }), { message: /give the date/ });
  t.throws(() => parseEffectiveFrom('', now, { required: true }), { message: /give the date/ });
  t.equal(
    parseEffectiveFrom('2025-04-01', now, { inAdvance: true }).toISOString(),
    '2025-03-31T16:00:00.000Z',
  );
});

t.test('publication dates are calendar dates in China Standard Time', async (t) => {
  t.equal(cstDate(new Date('2025-03-10T15:59:59Z')), '2025-03-10');
  t.equal(cstDate(new Date('2025-03-10T16:00:00Z')), '2025-03-11');
});
