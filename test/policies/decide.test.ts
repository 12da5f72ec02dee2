import t from 'tap';
import { DEFAULT_MASKS } from '../../catalog/masks.js';
import type { ResourceEntry } from '../../catalog/schema.js';
import {
  type AccessRequest,
  type Caller,
  checkQuota,
  decide,
  type ResourceStatus,
} from '../../policies/decide.js';
import { DENY_STATUS, type DenyCode } from '../../policies/errors.js';
import type { Grant } from '../../policies/grant.js';
import {
  CIVIL_AFFAIRS,
  HEALTH_RECORDS,
  healthGrant,
  NOW,
  OTHER_DEPT,
  POPULATION,
  populationGrant,
  SECRET_RESOURCE,
} from './fixtures.js';

const caller: Caller = { deptCode: CIVIL_AFFAIRS, systemId: 'assistance', serial: '4f2a' };
const request: AccessRequest = {
  purpose: 'social-assistance',
  mode: 'api',
  queryItems: ['idNumber'],
  now: NOW,
};

const withItems = (entry: ResourceEntry, change: (name: string) => object): ResourceEntry => ({
  ...entry,
  items: entry.items.map((i) => ({ ...i, ...change(i.name) })),
});
const noKeys: ResourceEntry = withItems(POPULATION, () => ({ key: false }));

interface DenyCase {
  name: string;
  entry?: ResourceEntry;
  status?: ResourceStatus;
  grant?: Grant | null;
  caller?: Partial<Caller>;
  request?: Partial<AccessRequest>;
  code: DenyCode;
  message?: RegExp;
}

const denials: DenyCase[] = [
  { name: 'withdrawn resource', status: 'withdrawn', code: 'RESOURCE_WITHDRAWN', message: /withdrawn/ },
  { name: 'suspended resource', status: 'suspended', code: 'RESOURCE_SUSPENDED' },
  {
    name: 'not-shared resource, even with a grant',
    entry: SECRET_RESOURCE,
    grant: populationGrant({ resourceCode: SECRET_RESOURCE.code }),
    code: 'RESOURCE_NOT_SHARED',
  },
  {
    name: 'no grant',
    grant: null,
    code: 'GRANT_MISSING',
    message: /has no grant for resource 101001\/000001/,
  },
  {
    name: 'grant of another system of the same department',
    caller: { systemId: 'pension' },
    code: 'GRANT_MISSING',
    message: /system "pension"/,
  },
  { name: 'grant of another department', caller: { deptCode: OTHER_DEPT }, code: 'GRANT_MISSING' },
  {
    name: 'grant for another resource',
    grant: populationGrant({ resourceCode: HEALTH_RECORDS.code }),
    code: 'GRANT_MISSING',
  },
  { name: 'suspended grant', grant: populationGrant({ status: 'suspended' }), code: 'GRANT_SUSPENDED' },
  { name: 'revoked grant', grant: populationGrant({ status: 'revoked' }), code: 'GRANT_REVOKED' },
  { name: 'grant marked expired', grant: populationGrant({ status: 'expired' }), code: 'GRANT_EXPIRED' },
  {
    name: 'grant past validTo (exclusive)',
    request: { now: Date.parse('2027-01-01T00:00:00.000Z') },
    code: 'GRANT_EXPIRED',
    message: /expired at 2027-01-01T00:00:00.000Z/,
  },
  {
    name: 'grant not yet valid',
    request: { now: Date.parse('2025-12-31T23:59:59.999Z') },
    code: 'GRANT_NOT_YET_VALID',
  },
  { name: 'mode not granted', request: { mode: 'bulk' }, code: 'MODE_NOT_GRANTED', message: /allows api/ },
  {
    name: 'mode granted but no longer offered',
    entry: { ...POPULATION, share: { ...POPULATION.share, modes: ['bulk'] } },
    code: 'MODE_NOT_GRANTED',
    message: /no longer offered/,
  },
  {
    name: 'purpose not granted',
    request: { purpose: 'tax-audit' },
    code: 'PURPOSE_MISMATCH',
    message: /"tax-audit" is not granted; send one of social-assistance, elderly-care in x-purpose/,
  },
  {
    name: 'unknown item',
    request: { items: ['name', 'salary'] },
    code: 'ITEM_UNKNOWN',
    message: /unknown items "salary"/,
  },
  { name: 'empty item list', request: { items: [] }, code: 'ITEM_UNKNOWN', message: /empty/ },
  {
    name: 'item not granted',
    request: { items: ['name', 'phone', 'birthDate'] },
    code: 'ITEM_NOT_GRANTED',
    message: /items phone, birthDate are not granted/,
  },
  {
    name: 'granted item since reclassified not shared',
    entry: withItems(POPULATION, (n) => (n === 'gender' ? { shareType: 'none' } : {})),
    request: { items: ['gender'] },
    code: 'ITEM_NOT_GRANTED',
  },
  {
    name: 'every granted item since reclassified not shared',
    entry: withItems(POPULATION, (n) => (n === 'phone' ? { shareType: 'none' } : {})),
    grant: populationGrant({ items: ['phone'] }),
    code: 'ITEM_NOT_GRANTED',
    message: /none of the granted items/,
  },
  { name: 'query by unknown item', request: { queryItems: ['passport'] }, code: 'ITEM_UNKNOWN' },
  {
    name: 'query by a granted item the grant masks (the answer would confirm a guess)',
    request: { queryItems: ['idNumber', 'name'] },
    code: 'ITEM_NOT_GRANTED',
    message: /filters by name, which the grant masks/,
  },
  {
    name: 'query by an item neither granted nor key',
    request: { queryItems: ['idNumber', 'phone'] },
    code: 'ITEM_NOT_GRANTED',
    message: /filters by phone/,
  },
  {
    name: 'control parameter missing',
    entry: HEALTH_RECORDS,
    grant: healthGrant(),
    request: { queryItems: ['idNumber'] },
    code: 'CONTROL_PARAM_MISSING',
    message: /supply name/,
  },
  {
    name: 'control parameter missing in bulk mode too',
    entry: { ...HEALTH_RECORDS, share: { ...HEALTH_RECORDS.share, modes: ['api', 'bulk'] } },
    grant: healthGrant({ modes: ['bulk'] }),
    request: { mode: 'bulk', queryItems: [] },
    code: 'CONTROL_PARAM_MISSING',
  },
  {
    name: 'API query not keyed by the key item',
    request: { queryItems: ['divisionCode'] },
    code: 'CONTROL_PARAM_MISSING',
    message: /keyed by idNumber; missing idNumber/,
  },
  {
    name: 'API scan of a resource without key items',
    entry: noKeys,
    request: { queryItems: [] },
    code: 'CONTROL_PARAM_MISSING',
    message: /at least one item/,
  },
];

for (const c of denials) {
  t.test(`deny: ${c.name}`, async (t) => {
    const grant = c.grant === null ? undefined : (c.grant ?? populationGrant());
    const result = decide(
      { ...caller, ...c.caller },
      { entry: c.entry ?? POPULATION, status: c.status ?? 'active' },
      grant,
      { ...request, ...c.request },
    );
    if (result.allow) return t.fail('expected a denial');
    t.equal(result.code, c.code);
    t.equal(result.status, DENY_STATUS[c.code]);
    if (c.message) t.match(result.message, c.message);
  });
}

t.test('statuses of the deny codes', async (t) => {
  t.same(
    [
      DENY_STATUS.RESOURCE_WITHDRAWN,
      DENY_STATUS.GRANT_MISSING,
      DENY_STATUS.ITEM_UNKNOWN,
      DENY_STATUS.QUOTA_EXCEEDED,
    ],
    [410, 403, 400, 429],
  );
});

t.test('allow: every granted item, in catalog order, sensitive ones masked by default', async (t) => {
  const grant = populationGrant({ items: ['divisionCode', 'address', 'gender', 'name', 'idNumber'] });
  const result = decide(caller, { entry: POPULATION, status: 'active' }, grant, request);
  if (!result.allow) return t.fail(result.message);
  t.same(result.obligations, {
    grantId: 'g-population-1',
    items: ['idNumber', 'name', 'gender', 'address', 'divisionCode'],
    masks: { idNumber: DEFAULT_MASKS.idNumber, name: DEFAULT_MASKS.name, address: DEFAULT_MASKS.address },
    signResponse: false,
    quota: { perMinute: 100, perDay: 10_000 },
  });
  t.notOk('rowFilter' in result.obligations);
  const again = decide(caller, { entry: POPULATION, status: 'active' }, grant, { ...request, now: NOW + 1 });
  t.equal(again.allow && again.obligations, result.obligations, 'built once per grant and entry');
});

t.test('allow: a subset of items, asked in any order', async (t) => {
  const result = decide(caller, { entry: POPULATION, status: 'active' }, populationGrant(), {
    ...request,
    items: ['divisionCode', 'name'],
  });
  if (!result.allow) return t.fail(result.message);
  t.same(result.obligations.items, ['name', 'divisionCode']);
  t.same(Object.keys(result.obligations.masks), ['name']);
});

t.test('allow: the grant lifts or customises masking', async (t) => {
  const grant = populationGrant({
    masking: { name: 'none', gender: { keepStart: 0, keepEnd: 0, char: '#' }, idNumber: 'default' },
  });
  const result = decide(caller, { entry: POPULATION, status: 'active' }, grant, request);
  if (!result.allow) return t.fail(result.message);
  t.same(result.obligations.masks, {
    idNumber: DEFAULT_MASKS.idNumber,
    gender: { kind: 'keep', keepStart: 0, keepEnd: 0, char: '#' },
    address: DEFAULT_MASKS.address,
  });
  const byName = decide(caller, { entry: POPULATION, status: 'active' }, grant, {
    ...request,
    queryItems: ['idNumber', 'name'],
  });
  t.ok(byName.allow, 'a query may filter by an item whose masking the grant lifts');
  const byMaskedKey = decide(caller, { entry: POPULATION, status: 'active' }, grant, {
    ...request,
    queryItems: ['idNumber'],
  });
  t.ok(byMaskedKey.allow, 'and by a key item, masked or not');
});

t.test('allow: row filter, signed responses, bulk without a key, validFrom inclusive', async (t) => {
  const grant = populationGrant({
    modes: ['api', 'bulk'],
    rowFilter: { item: 'divisionCode', equals: '110105' },
    signResponses: true,
  });
  const result = decide(caller, { entry: POPULATION, status: 'active' }, grant, {
    ...request,
    mode: 'bulk',
    queryItems: [],
    now: Date.parse(grant.validFrom),
  });
  if (!result.allow) return t.fail(result.message);
  t.same(result.obligations.rowFilter, { item: 'divisionCode', equals: '110105' });
  t.equal(result.obligations.signResponse, true);
});

t.test(
  'allow: conditional resource queried with its control parameters; not-shared items never leak',
  async (t) => {
    const grant = healthGrant({ items: ['idNumber', 'name', 'diagnosisCode', 'hivStatus'] });
    const result = decide(caller, { entry: HEALTH_RECORDS, status: 'active' }, grant, {
      ...request,
      queryItems: ['name', 'idNumber'],
    });
    if (!result.allow) return t.fail(result.message);
    t.same(result.obligations.items, ['idNumber', 'name', 'diagnosisCode']);
  },
);

t.test('allow: an API query of a keyless resource needs just one query item', async (t) => {
  const result = decide(caller, { entry: noKeys, status: 'active' }, populationGrant(), {
    ...request,
    queryItems: ['divisionCode'],
  });
  t.ok(result.allow);
});

const quotaCases: [string, Grant['quota'], { minute: number; day: number }, number, number | undefined][] = [
  ['no quota', {}, { minute: 1e6, day: 1e6 }, NOW, undefined],
  ['under both limits', { perMinute: 10, perDay: 100 }, { minute: 9, day: 99 }, NOW, undefined],
  ['minute used up', { perMinute: 10, perDay: 100 }, { minute: 10, day: 50 }, NOW + 45_500, 15],
  ['minute used up at a minute boundary', { perMinute: 10 }, { minute: 10, day: 0 }, NOW, 60],
  [
    'day used up waits for CST midnight',
    { perMinute: 10, perDay: 100 },
    { minute: 0, day: 100 },
    NOW,
    14 * 3600,
  ],
  [
    'both used up waits for the day',
    { perMinute: 10, perDay: 100 },
    { minute: 10, day: 100 },
    NOW,
    14 * 3600,
  ],
  [
    'day used up just before 16:00 UTC',
    { perDay: 5 },
    { minute: 0, day: 5 },
    Date.parse('2026-03-02T15:59:59.500Z'),
    1,
  ],
];
for (const [name, quota, usage, now, retry] of quotaCases) {
  t.test(`checkQuota: ${name}`, async (t) => {
    const result = checkQuota({ id: 'g1', quota }, usage, now);
    if (retry === undefined) return t.same(result, { allow: true });
    if (result.allow) return t.fail('expected a refusal');
    t.equal(result.code, 'QUOTA_EXCEEDED');
    t.equal(result.status, 429);
    t.equal(result.retryAfterSeconds, retry);
    t.match(result.message, /grant g1 allows \d+ calls per (minute|day \(CST\)); retry after/);
  });
}

t.test(
  'the acting official: required when checked, exempt only on machine-to-machine grants the platform allows',
  async (t) => {
    const active = { entry: POPULATION, status: 'active' as const };
    const grant = populationGrant();
    const m2m = populationGrant({ machineToMachine: true });
    const acting = (userId: string | undefined, machineCallsAllowed: boolean) => ({
      ...request,
      actingUser: { userId, machineCallsAllowed },
    });
    const anonymous = decide(caller, active, grant, acting(undefined, true));
    t.match(anonymous, { allow: false, code: 'USER_ID_REQUIRED', status: 400 });
    t.equal(decide(caller, active, grant, acting('wang.keyuan', false)).allow, true);
    t.match(decide(caller, active, m2m, acting(undefined, false)), {
      allow: false,
      code: 'USER_ID_REQUIRED',
    });
    t.equal(decide(caller, active, m2m, acting(undefined, true)).allow, true, 'marked and allowed');
    t.equal(decide(caller, active, grant, request).allow, true, 'not checked when the caller does not ask');
    t.match(
      decide(caller, active, grant, { ...acting(undefined, false), purpose: 'tax' }),
      { code: 'PURPOSE_MISMATCH' },
      'the purpose is checked first',
    );
  },
);
