import t from 'tap';
import type { ResourceEntry } from '../../catalog/schema.js';
import {
  type Actor,
  type GrantRequest,
  type GrantSource,
  validateGrantCreation,
} from '../../policies/grant.js';
import {
  AUDITOR,
  BUREAU,
  CIVIL_ADMIN,
  HEALTH_ADMIN,
  HEALTH_RECORDS,
  NOW,
  POLICE_ADMIN,
  POPULATION,
  populationRequest,
  SECRET_RESOURCE,
  SECURITY,
} from './fixtures.js';

const healthRequest = (overrides: Partial<GrantRequest> = {}) =>
  populationRequest({
    resourceCode: HEALTH_RECORDS.code,
    items: ['idNumber', 'name', 'visitDate', 'diagnosisCode'],
    ...overrides,
  });

const withControl: ResourceEntry = {
  ...POPULATION,
  share: { ...POPULATION.share, controlParams: ['idNumber'] },
};
const partlyConditional: ResourceEntry = {
  ...POPULATION,
  items: POPULATION.items.map((i) => (i.name === 'phone' ? { ...i, shareType: 'conditional' as const } : i)),
};

/** How the application workflow grants: out of an authorized application (or its renewal). */
const ON_APPLICATION: GrantSource = { kind: 'application', applicationId: 'app-1' };

const allowed: [string, Actor, ResourceEntry, GrantRequest, GrantSource?][] = [
  ['bureau grants an unconditional resource', BUREAU, POPULATION, populationRequest()],
  [
    'bureau grants the unconditional items of a partly conditional resource',
    BUREAU,
    partlyConditional,
    populationRequest(),
  ],
  ['the provider grants its own unconditional resource', POLICE_ADMIN, POPULATION, populationRequest()],
  [
    'the provider grants its resource with control parameters',
    POLICE_ADMIN,
    withControl,
    populationRequest(),
  ],
  [
    'the provider authorizes an application for its conditional resource',
    HEALTH_ADMIN,
    HEALTH_RECORDS,
    healthRequest(),
    ON_APPLICATION,
  ],
  [
    'the provider grants an item-level unconditional item of its conditional resource',
    HEALTH_ADMIN,
    HEALTH_RECORDS,
    healthRequest({ items: ['hospital'] }),
  ],
  [
    'the provider authorizes an application for conditional items of its resource',
    POLICE_ADMIN,
    partlyConditional,
    populationRequest({ items: ['idNumber', 'phone'] }),
    ON_APPLICATION,
  ],
  [
    'the provider grants its unconditional resource without stating a basis',
    POLICE_ADMIN,
    POPULATION,
    populationRequest({ basis: undefined }),
  ],
  [
    'full options',
    POLICE_ADMIN,
    POPULATION,
    populationRequest({
      modes: ['api', 'bulk'],
      validFrom: undefined,
      quota: { perMinute: 60, perDay: 5000 },
      masking: { name: 'none', address: { keepStart: 6, keepEnd: 0, char: '*' } },
      rowFilter: { item: 'divisionCode', equals: '110105' },
      signResponses: true,
      purposes: ['social-assistance', 'gov:audit.2026'],
    }),
  ],
];

for (const [name, actor, resource, input, source] of allowed) {
  t.test(`allowed: ${name}`, async (t) => {
    t.doesNotThrow(() => validateGrantCreation(actor, resource, input, NOW, source));
  });
}

const refused: [string, Actor, ResourceEntry, GrantRequest, string, number, RegExp?, GrantSource?][] = [
  [
    "the provider's direct grant of its conditional resource (the bypass of the procedure)",
    HEALTH_ADMIN,
    HEALTH_RECORDS,
    healthRequest(),
    'GRANT_APPLICATION_REQUIRED',
    403,
    /resource 301002\/000007 is shared on conditions: the consumer applies .* a direct grant cannot skip/,
  ],
  [
    "the provider's direct grant of conditional items of its resource",
    POLICE_ADMIN,
    partlyConditional,
    populationRequest({ items: ['idNumber', 'phone'] }),
    'GRANT_APPLICATION_REQUIRED',
    403,
    /items phone of resource .* are shared on conditions/,
  ],
  [
    "the bureau's direct grant without a legal basis or reason",
    BUREAU,
    POPULATION,
    populationRequest({ basis: undefined }),
    'GRANT_BASIS_REQUIRED',
    422,
    /basis: state the legal basis or reason/,
  ],
  [
    "the bureau's direct grant with a blank basis",
    BUREAU,
    POPULATION,
    populationRequest({ basis: '   ' }),
    'GRANT_BASIS_REQUIRED',
    422,
  ],
  [
    'bureau on a conditional resource',
    BUREAU,
    HEALTH_RECORDS,
    healthRequest(),
    'GRANT_FORBIDDEN',
    403,
    /provider/,
  ],
  [
    'bureau on a resource with control parameters',
    BUREAU,
    withControl,
    populationRequest(),
    'GRANT_FORBIDDEN',
    403,
  ],
  [
    'bureau on a conditional item',
    BUREAU,
    partlyConditional,
    populationRequest({ items: ['idNumber', 'phone'] }),
    'GRANT_FORBIDDEN',
    403,
    /items phone are shared on conditions/,
  ],
  ['dept-admin of another department', HEALTH_ADMIN, POPULATION, populationRequest(), 'GRANT_FORBIDDEN', 403],
  ['dept-admin of the consumer', CIVIL_ADMIN, POPULATION, populationRequest(), 'GRANT_FORBIDDEN', 403],
  [
    'dept-admin without a department',
    { role: 'dept-admin', name: 'x' },
    POPULATION,
    populationRequest(),
    'GRANT_FORBIDDEN',
    403,
  ],
  ['auditor', AUDITOR, POPULATION, populationRequest(), 'GRANT_FORBIDDEN', 403],
  ['security-admin', SECURITY, POPULATION, populationRequest(), 'GRANT_FORBIDDEN', 403],
  [
    'a not-shared resource, even by its provider',
    POLICE_ADMIN,
    SECRET_RESOURCE,
    populationRequest({ resourceCode: SECRET_RESOURCE.code }),
    'RESOURCE_NOT_SHARED',
    422,
  ],
  [
    'an item-level not-shared item',
    HEALTH_ADMIN,
    HEALTH_RECORDS,
    healthRequest({ items: ['idNumber', 'hivStatus'] }),
    'ITEM_NOT_SHAREABLE',
    422,
    /hivStatus/,
  ],
  [
    'an unknown item',
    BUREAU,
    POPULATION,
    populationRequest({ items: ['salary'] }),
    'ITEM_NOT_SHAREABLE',
    422,
    /"salary" is not in resource/,
  ],
  [
    'a mode the resource does not offer',
    HEALTH_ADMIN,
    HEALTH_RECORDS,
    healthRequest({ modes: ['bulk'] }),
    'GRANT_INVALID',
    422,
    /not offered in mode "bulk"/,
    ON_APPLICATION,
  ],
  [
    'a row filter on an unknown item',
    BUREAU,
    POPULATION,
    populationRequest({ rowFilter: { item: 'district', equals: '110105' } }),
    'GRANT_INVALID',
    422,
  ],
  [
    'validTo before validFrom',
    BUREAU,
    POPULATION,
    populationRequest({ validFrom: '2026-06-01T00:00:00Z', validTo: '2026-05-01T00:00:00Z' }),
    'GRANT_INVALID',
    422,
    /after validFrom/,
  ],
  [
    'validTo in the past',
    BUREAU,
    POPULATION,
    populationRequest({ validFrom: '2025-01-01T00:00:00Z', validTo: '2026-01-01T00:00:00Z' }),
    'GRANT_INVALID',
    422,
    /in the past/,
  ],
  [
    'a date that does not exist',
    BUREAU,
    POPULATION,
    populationRequest({ validTo: '2027-02-30T00:00:00Z' }),
    'GRANT_INVALID',
    422,
    /real ISO 8601/,
  ],
  [
    'a date that is not ISO 8601',
    BUREAU,
    POPULATION,
    populationRequest({ validTo: '2027/01/01' }),
    'GRANT_INVALID',
    422,
    /validTo/,
  ],
  [
    'a zero quota',
    BUREAU,
    POPULATION,
    populationRequest({ quota: { perDay: 0 } }),
    'GRANT_INVALID',
    422,
    /perDay/,
  ],
  [
    'a fractional quota',
    BUREAU,
    POPULATION,
    populationRequest({ quota: { perMinute: 1.5 } }),
    'GRANT_INVALID',
    422,
  ],
  [
    'a purpose with spaces',
    BUREAU,
    POPULATION,
    populationRequest({ purposes: ['social assistance'] }),
    'GRANT_INVALID',
    422,
  ],
  [
    'a purpose in Chinese',
    BUREAU,
    POPULATION,
    populationRequest({ purposes: ['社会救助'] }),
    'GRANT_INVALID',
    422,
  ],
  ['no purpose', BUREAU, POPULATION, populationRequest({ purposes: [] }), 'GRANT_INVALID', 422],
  [
    'a resource code that does not match',
    BUREAU,
    POPULATION,
    populationRequest({ resourceCode: '101001/000002' }),
    'GRANT_INVALID',
    422,
  ],
  [
    'a consumer code with a wrong check character',
    BUREAU,
    POPULATION,
    populationRequest({ deptCode: '91350100M000100Y44' }),
    'GRANT_INVALID',
    422,
    /check character/,
  ],
  [
    'a system id with a colon',
    BUREAU,
    POPULATION,
    populationRequest({ systemId: 'a:b' }),
    'GRANT_INVALID',
    422,
    /systemId/,
  ],
  [
    'masking of an item that is not granted',
    BUREAU,
    POPULATION,
    populationRequest({ masking: { phone: 'none' } }),
    'GRANT_INVALID',
    422,
    /"phone"/,
  ],
  [
    'an unknown field',
    BUREAU,
    POPULATION,
    { ...populationRequest(), extra: 1 } as GrantRequest,
    'GRANT_INVALID',
    422,
  ],
];

for (const [name, actor, resource, input, code, status, message, source] of refused) {
  t.test(`refused: ${name}`, async (t) => {
    const err = t.throws(() => validateGrantCreation(actor, resource, input, NOW, source)) as unknown as {
      code: string;
      statusCode: number;
      message: string;
    };
    t.equal(err.code, code);
    t.equal(err.statusCode, status);
    if (message) t.match(err.message, message);
  });
}
