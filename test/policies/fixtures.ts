/** Catalog entries, departments and grants shared by the policies tests. */
import { organisationCheckCharacter, usccCheckCharacter } from '../../catalog/identifiers.js';
import type { ResourceEntry } from '../../catalog/schema.js';
import type { Actor, Grant, GrantRequest } from '../../policies/grant.js';

/**
 * A valid code from its first 17 characters: character 17 is replaced by the organisation-code check
 * (GB 11714) of characters 9-16, then the GB 32100 check character is appended.
 */
const uscc = (first17: string) => {
  const first16 = first17.slice(0, 16);
  const withOrganisation = first16 + organisationCheckCharacter(first16.slice(8));
  return withOrganisation + usccCheckCharacter(withOrganisation);
};

/** 公安局: provides the population base resource. */
export const POLICE = uscc('11110000000012345');
/** 卫健委: provides the conditional health resource. */
export const HEALTH = uscc('11110000000034567');
/** 民政局: a consumer department. */
export const CIVIL_AFFAIRS = uscc('11110000000023456');
/** Another consumer, the example code of GB 32100-2015. */
export const OTHER_DEPT = '91350100M000100Y43';

export const POPULATION: ResourceEntry = {
  code: '101001/000001',
  name: '人口基础信息',
  summary: 'Residents registered in the city',
  classification: { category: 'base', code: '101001' },
  provider: { code: POLICE, name: '市公安局' },
  confidentiality: { result: 'not-classified', reviewedBy: '本单位保密工作机构', reviewedOn: '2026-01-05' },
  format: { type: 'database', subtype: 'Dm' },
  items: [
    { name: 'idNumber', label: '公民身份号码', dataType: 'C', length: 18, key: true, sensitive: 'idNumber' },
    { name: 'name', label: '姓名', dataType: 'C', length: 50, sensitive: 'name' },
    { name: 'gender', label: '性别', dataType: 'C', length: 1 },
    { name: 'birthDate', label: '出生日期', dataType: 'D' },
    { name: 'phone', label: '联系电话', dataType: 'C', length: 20, sensitive: 'phone' },
    { name: 'address', label: '住址', dataType: 'C', length: 200, sensitive: 'address' },
    { name: 'divisionCode', label: '行政区划代码', dataType: 'C', length: 6 },
  ],
  share: { type: 'unconditional', modes: ['api', 'bulk'] },
  open: { type: 'none' },
  updateCycle: 'daily',
};

export const HEALTH_RECORDS: ResourceEntry = {
  code: '301002/000007',
  name: '居民就诊记录',
  summary: 'Hospital visits of residents',
  classification: { category: 'department', code: '301002' },
  provider: { code: HEALTH, name: '市卫生健康委员会' },
  confidentiality: { result: 'not-classified', reviewedBy: '本单位保密工作机构', reviewedOn: '2026-01-05' },
  format: { type: 'api' },
  items: [
    { name: 'idNumber', label: '公民身份号码', dataType: 'C', length: 18, key: true, sensitive: 'idNumber' },
    { name: 'name', label: '姓名', dataType: 'C', length: 50, sensitive: 'name' },
    { name: 'visitDate', label: '就诊日期', dataType: 'D' },
    { name: 'diagnosisCode', label: '诊断编码', dataType: 'C', length: 20 },
    { name: 'hospital', label: '就诊机构', dataType: 'C', length: 100, shareType: 'unconditional' },
    {
      name: 'hivStatus',
      label: '艾滋病检测结果',
      dataType: 'C',
      length: 10,
      shareType: 'none',
      sensitive: 'other',
    },
  ],
  share: {
    type: 'conditional',
    legalBasis: '《中华人民共和国基本医疗卫生与健康促进法》第九十二条',
    conditions: 'Only for social assistance eligibility checks',
    modes: ['api'],
    controlParams: ['idNumber', 'name'],
  },
  open: { type: 'none' },
  updateCycle: 'realtime',
};

export const SECRET_RESOURCE: ResourceEntry = {
  ...POPULATION,
  code: '101001/000099',
  name: '涉密人口信息',
  share: { type: 'none', legalBasis: '《中华人民共和国保守国家秘密法》', modes: ['api'] },
};

export const BUREAU: Actor = { role: 'bureau', name: '王敏' };
export const POLICE_ADMIN: Actor = { role: 'dept-admin', name: '李强', dept: POLICE };
export const HEALTH_ADMIN: Actor = { role: 'dept-admin', name: '赵磊', dept: HEALTH };
export const CIVIL_ADMIN: Actor = { role: 'dept-admin', name: '陈静', dept: CIVIL_AFFAIRS };
export const AUDITOR: Actor = { role: 'auditor', name: '周审' };
export const SECURITY: Actor = { role: 'security-admin', name: '吴安' };

/** Epoch ms of 2026-03-02T10:00:00+08:00 (a Monday). */
export const NOW = Date.parse('2026-03-02T10:00:00+08:00');

export function populationRequest(overrides: Partial<GrantRequest> = {}): GrantRequest {
  return {
    deptCode: CIVIL_AFFAIRS,
    systemId: 'assistance',
    resourceCode: POPULATION.code,
    items: ['idNumber', 'name', 'gender', 'address', 'divisionCode'],
    purposes: ['social-assistance'],
    modes: ['api'],
    validFrom: '2026-01-01T00:00:00+08:00',
    validTo: '2027-01-01T00:00:00+08:00',
    basis: '《湖北省政务信息资源共享管理办法》第二十一条: unconditional resource granted by the platform',
    ...overrides,
  };
}

/** A grant as the store would hold it, for pure tests. */
export function populationGrant(overrides: Partial<Grant> = {}): Grant {
  return {
    id: 'g-population-1',
    deptCode: CIVIL_AFFAIRS,
    systemId: 'assistance',
    resourceCode: POPULATION.code,
    providerCode: POLICE,
    items: ['idNumber', 'name', 'gender', 'address', 'divisionCode'],
    purposes: ['social-assistance', 'elderly-care'],
    modes: ['api'],
    validFrom: '2026-01-01T00:00:00.000Z',
    validTo: '2027-01-01T00:00:00.000Z',
    quota: { perMinute: 100, perDay: 10_000 },
    masking: {},
    signResponses: false,
    status: 'active',
    grantedBy: BUREAU,
    grantedAt: '2025-12-20T02:00:00.000Z',
    source: { kind: 'direct' },
    statusHistory: [{ status: 'active', at: '2025-12-20T02:00:00.000Z', by: BUREAU, reason: 'granted' }],
    ...overrides,
  };
}

export function healthGrant(overrides: Partial<Grant> = {}): Grant {
  return populationGrant({
    id: 'g-health-1',
    resourceCode: HEALTH_RECORDS.code,
    providerCode: HEALTH,
    items: ['idNumber', 'name', 'visitDate', 'diagnosisCode'],
    purposes: ['social-assistance'],
    grantedBy: HEALTH_ADMIN,
    ...overrides,
  });
}
