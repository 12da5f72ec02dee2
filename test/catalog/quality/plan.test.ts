import t from 'tap';
import { hash64, KeyHashSet } from '../../../catalog/quality/key-set.js';
import { identifierKindOf, qualityPlan } from '../../../catalog/quality/plan.js';
import { runQualityCheck } from '../../../catalog/quality/run.js';
import type { Item } from '../../../catalog/schema.js';
import { asAsync, enrolmentEntry, spread, syntheticRows } from './fixtures.js';

t.test('identifier checks are chosen by sensitive kind, then by well-known names', async (t) => {
  const item = (name: string, sensitive?: Item['sensitive']): Item => ({
    name,
    label: name,
    dataType: 'C',
    ...(sensitive ? { sensitive } : {}),
  });
  const cases: [Item, string | undefined][] = [
    [item('holder', 'idNumber'), 'idNumber'],
    [item('code', 'uscc'), 'uscc'],
    [item('contact', 'phone'), 'phone'],
    [item('idNumber'), 'idNumber'],
    [item('ownerIdNumber'), 'idNumber'],
    [item('sfzh'), 'idNumber'],
    [item('creditCode'), 'uscc'],
    [item('employerCreditCode'), 'uscc'],
    [item('tyshxydm'), 'uscc'],
    [item('divisionCode'), 'divisionCode'],
    [item('householdDivisionCode'), 'divisionCode'],
    [item('mobile'), 'phone'],
    [item('contactPhone'), 'phone'],
    [item('idNumber', 'name'), undefined],
    [item('address', 'address'), undefined],
    [item('remark'), undefined],
  ];
  for (const [it, kind] of cases) t.equal(identifierKindOf(it), kind, `${it.name} (${it.sensitive ?? '-'})`);

  const plan = qualityPlan(enrolmentEntry('weekly'), 4);
  t.same(
    plan.identifiers.map((r) => r.rule),
    ['idNumber:idNumber', 'uscc:employerCreditCode', 'divisionCode:divisionCode', 'phone:phone'],
  );
  t.same(
    plan.dates.map((d) => d.rule),
    ['date:enrolledOn', 'date:updatedAt'],
  );
  t.same(plan.key, ['idNumber']);
  t.equal(plan.watermark, 'updatedAt');
  t.equal(plan.maxAgeMs, 7 * 24 * 3_600_000);
  t.equal(plan.showValue('idNumber', '11010519491231002X'), '110105********002X');
  t.equal(
    plan.showValue('employerCreditCode', '91350100M000100Y43'),
    '91350100********43',
    'by name, masked as uscc',
  );
  t.equal(plan.showValue('monthlyBase', 3200), '3200');
  t.equal(plan.showValue('notAnItem', 'secret'), undefined, 'names outside the entry are never shown');
});

t.test('the key hash set is exact under its bound and says when it is partial', async (t) => {
  const set = new KeyHashSet(200_000);
  let duplicates = 0;
  for (let i = 0; i < 150_000; i++) {
    const [hi, lo] = hash64(`k${i}`);
    if (!set.add(hi, lo)) duplicates++;
  }
  for (let i = 0; i < 150_000; i += 3) {
    const [hi, lo] = hash64(`k${i}`);
    if (!set.add(hi, lo)) duplicates++;
  }
  t.equal(duplicates, 50_000, 'every repeat found across table growth');
  t.equal(set.size, 150_000);
  t.notOk(set.partial);

  const small = new KeyHashSet(10);
  for (let i = 0; i < 20; i++) small.add(...hash64(`k${i}`));
  t.equal(small.size, 10);
  t.ok(small.partial);
  t.equal(small.add(...hash64('k3')), false, 'remembered keys still catch duplicates');

  const report = await runQualityCheck(
    qualityPlan(enrolmentEntry(), 1),
    asAsync(syntheticRows({ rows: 100, duplicateOf: spread(3, 1, 1), newestMs: Date.now() })),
    { maxUniqueKeys: 50 },
  );
  t.match(
    report.rules.find((r) => r.rule === 'unique:key'),
    {
      violations: 3,
      partial: true,
      note: 'only the first 50 distinct keys were remembered',
    },
  );
});
