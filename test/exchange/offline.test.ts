/**
 * The pure rules of offline exchange ([HB-S] 16): who sees a request, when an approval is live, and why a
 * package may not be produced. The whole flow runs in test/gateway/routes/offline-exchange.test.ts.
 */
import t from 'tap';
import { canSee, offlineView, productionRefusal } from '../../exchange/offline.js';
import type { OfflineRequest } from '../../exchange/offline-schema.js';

const CONSUMER = '11420100010001138Y';
const PROVIDER = '11420100010000303G';
const at = Date.parse('2026-12-08T02:00:00.000Z');
const expires = '2026-12-22T16:00:00.000Z';

const requested: OfflineRequest = {
  id: `o${'a'.repeat(32)}`,
  consumer: { deptCode: CONSUMER, systemId: 'registration', certSerial: 'abcdef' },
  providerCode: PROVIDER,
  resource: '101001/000001',
  grantId: 'g1',
  purpose: 'market-supervision',
  items: ['idNumber', 'name'],
  format: 'jsonl',
  reason: { kind: 'volume', text: 'large' },
  medium: 'optical-disc',
  contact: { name: '李娜', phone: '027-85551234' },
  state: 'requested',
  requestedBy: { role: 'dept-admin', name: 'li.na', dept: CONSUMER },
  requestedAt: '2026-12-08T01:00:00.000Z',
  updatedAt: '2026-12-08T01:00:00.000Z',
};
const bureau = { role: 'bureau', name: 'zhao.lei' } as const;
const approved: OfflineRequest = {
  ...requested,
  state: 'approved',
  decision: { by: bureau, at: '2026-12-08T01:30:00.000Z', approved: true },
  approvalExpiresAt: expires,
};

t.test('the two departments, the bureau and the auditors see a request; nobody else', async (t) => {
  t.ok(canSee({ role: 'dept-admin', name: 'a', dept: CONSUMER }, requested));
  t.ok(canSee({ role: 'dept-admin', name: 'p', dept: PROVIDER }, requested));
  t.ok(canSee(bureau, requested));
  t.ok(canSee({ role: 'auditor', name: 'au' }, requested));
  t.notOk(canSee({ role: 'dept-admin', name: 'h', dept: '11420100010002234P' }, requested));
  t.notOk(canSee({ role: 'security-admin', name: 's' }, requested));
});

t.test('a package only under a live, unused approval', async (t) => {
  t.match(productionRefusal(requested, at), /not approved yet/);
  t.equal(productionRefusal(approved, at), undefined, 'approved and live');
  t.equal(productionRefusal(approved, Date.parse(expires) - 1), undefined, 'live to its last millisecond');
  t.match(productionRefusal(approved, Date.parse(expires)), /expired at 2026-12-22T16:00:00.000Z/);
  t.equal(offlineView(approved, Date.parse(expires)).state, 'expired', 'shown as expired from then');
  t.equal(offlineView(approved, at).state, 'approved');
  const ordered: OfflineRequest = {
    ...approved,
    state: 'producing',
    production: { by: bureau, at: '2026-12-08T01:40:00.000Z', jobId: `x${'b'.repeat(32)}` },
  };
  t.equal(productionRefusal(ordered, at), undefined, 'an order without a package yet may be queued again');
  const produced: OfflineRequest = {
    ...ordered,
    state: 'produced',
    package: {
      directory: ordered.production!.jobId,
      files: [],
      rows: 1,
      producedAt: '2026-12-08T01:41:00.000Z',
    },
  };
  for (const state of ['produced', 'handed-over', 'received'] as const) {
    t.match(productionRefusal({ ...produced, state }, at), /used for its one package/, state);
  }
  for (const state of ['refused', 'withdrawn', 'failed'] as const) {
    t.match(productionRefusal({ ...requested, state }, at), new RegExp(`is ${state}`), state);
  }
  const refused: OfflineRequest = {
    ...requested,
    state: 'approved',
    decision: { by: bureau, at: '2026-12-08T01:30:00.000Z', approved: false, reason: 'no' },
  };
  t.match(productionRefusal(refused, at), /expired|not/, 'a record without an approval is never live');
});
