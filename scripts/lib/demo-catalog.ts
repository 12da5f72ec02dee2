/**
 * The demo's sample platform: three departments of Wuhan (codes with valid GB 32100 check characters) and
 * four catalog entries — two base resources shared unconditionally, one conditional resource, one not
 * shared — mounted on the front-end processor simulator at `simulatorUrl`. Used by the demo, tests and
 * benchmarks.
 */
import type { Item, ResourceEntry } from '../../catalog/schema.js';

export const DEMO_DEPARTMENTS = {
  publicSecurity: {
    code: '11420100010000303G',
    name: '武汉市公安局',
    system: 'hukou-service',
    systemName: '户籍业务系统',
  },
  marketRegulation: {
    code: '11420100010001138Y',
    name: '武汉市市场监督管理局',
    system: 'registration',
    systemName: '企业登记注册系统',
  },
  humanResources: {
    code: '1142010001000067X9',
    name: '武汉市人力资源和社会保障局',
    system: 'insurance-service',
    systemName: '社会保险经办系统',
  },
} as const;

export const DEMO_CODES = {
  population: '101001/000001',
  enterprise: '102001/000001',
  socialInsurance: '301001/000001',
  criminalCases: '301002/000001',
} as const;

/** The person items of the population base library, as the demo resources and the benchmarks name them. */
export const PERSON_ITEMS = {
  idNumber: {
    name: 'idNumber',
    label: '公民身份号码',
    dataType: 'C',
    length: 18,
    key: true,
    required: true,
    sensitive: 'idNumber',
  },
  name: { name: 'name', label: '姓名', dataType: 'C', length: 50, sensitive: 'name' },
  phone: { name: 'phone', label: '联系电话', dataType: 'C', length: 20, sensitive: 'phone' },
  address: { name: 'address', label: '住址', dataType: 'C', length: 200, sensitive: 'address' },
  divisionCode: { name: 'divisionCode', label: '行政区划代码', dataType: 'C', length: 6 },
  updatedAt: { name: 'updatedAt', label: '更新时间', dataType: 'T' },
} as const satisfies Record<string, Item>;

export type PersonItem = keyof typeof PERSON_ITEMS;

/**
 * A population resource served from a table of the PostgreSQL front-end database `fep` (the SQL
 * connector), provided by the public security bureau, shared unconditionally for API and bulk use, with
 * `updatedAt` as the incremental watermark. The bulk exchange benchmarks and tests use it.
 */
export function frontEndDatabaseResidents(options: {
  code: string;
  name: string;
  summary: string;
  table: string;
  items: readonly PersonItem[];
  providerCode?: string;
}): ResourceEntry {
  const provider = DEMO_DEPARTMENTS.publicSecurity;
  return {
    code: options.code,
    name: options.name,
    summary: options.summary,
    classification: { category: 'base', code: '101001' },
    provider: { code: options.providerCode ?? provider.code, name: provider.name },
    confidentiality: { result: 'not-classified', reviewedBy: '本单位保密工作机构', reviewedOn: '2026-01-05' },
    format: { type: 'database', subtype: 'PostgreSQL' },
    items: options.items.map((item) => ({ ...PERSON_ITEMS[item] })),
    share: { type: 'unconditional', modes: ['api', 'bulk'] },
    open: { type: 'none' },
    updateCycle: 'daily',
    service: { connector: 'sql', endpoint: 'fep', table: options.table, watermark: 'updatedAt' },
  };
}

export function demoCatalog(simulatorUrl: string): ResourceEntry[] {
  const { publicSecurity, marketRegulation, humanResources } = DEMO_DEPARTMENTS;
  return [
    {
      code: DEMO_CODES.population,
      name: '人口基础信息',
      summary: '本市户籍人口的基础身份信息，包括公民身份号码、姓名、性别、出生日期、联系电话和住址。',
      classification: { category: 'base', code: '101001' },
      provider: { code: publicSecurity.code, name: publicSecurity.name },
      confidentiality: {
        result: 'not-classified',
        reviewedBy: '本单位保密工作机构',
        reviewedOn: '2026-01-05',
      },
      format: { type: 'database', subtype: 'KingbaseES' },
      items: [
        PERSON_ITEMS.idNumber,
        { ...PERSON_ITEMS.name, required: true },
        { name: 'gender', label: '性别', dataType: 'C', length: 2 },
        { name: 'birthDate', label: '出生日期', dataType: 'D' },
        PERSON_ITEMS.phone,
        PERSON_ITEMS.address,
        PERSON_ITEMS.divisionCode,
        PERSON_ITEMS.updatedAt,
      ],
      share: { type: 'unconditional', modes: ['api', 'bulk'] },
      open: { type: 'none' },
      updateCycle: 'daily',
      service: {
        connector: 'http',
        endpoint: `${simulatorUrl}/datasets/residents`,
        watermark: 'updatedAt',
        timeoutMs: 3000,
      },
    },
    {
      code: DEMO_CODES.enterprise,
      name: '企业登记信息',
      summary:
        '本市登记注册的企业法人基本信息，包括统一社会信用代码、名称、法定代表人、注册资本、成立日期和状态。',
      classification: { category: 'base', code: '102001' },
      provider: { code: marketRegulation.code, name: marketRegulation.name },
      confidentiality: {
        result: 'not-classified',
        reviewedBy: '本单位保密工作机构',
        reviewedOn: '2026-01-05',
      },
      format: { type: 'database', subtype: 'Dm' },
      items: [
        {
          name: 'uscc',
          label: '统一社会信用代码',
          dataType: 'C',
          length: 18,
          key: true,
          required: true,
          sensitive: 'uscc',
        },
        { name: 'name', label: '企业名称', dataType: 'C', length: 200, required: true },
        { name: 'legalRepresentative', label: '法定代表人', dataType: 'C', length: 50, sensitive: 'name' },
        { name: 'registeredCapital', label: '注册资本(万元)', dataType: 'Y' },
        { name: 'establishedDate', label: '成立日期', dataType: 'D' },
        { name: 'address', label: '住所', dataType: 'C', length: 200 },
        { name: 'status', label: '登记状态', dataType: 'C', length: 10 },
        { name: 'divisionCode', label: '行政区划代码', dataType: 'C', length: 6 },
        { name: 'updatedAt', label: '更新时间', dataType: 'T' },
      ],
      share: { type: 'unconditional', modes: ['api', 'bulk'] },
      open: { type: 'conditional', conditions: '依申请公开' },
      updateCycle: 'daily',
      service: {
        connector: 'http',
        endpoint: `${simulatorUrl}/datasets/enterprises`,
        watermark: 'updatedAt',
        timeoutMs: 3000,
      },
    },
    {
      code: DEMO_CODES.socialInsurance,
      name: '社会保险参保信息',
      summary: '参保人员的险种、参保状态、参保日期和缴费基数，仅向经授权的部门有条件共享。',
      classification: { category: 'department', code: '301001' },
      provider: { code: humanResources.code, name: humanResources.name },
      confidentiality: {
        result: 'not-classified',
        reviewedBy: '本单位保密工作机构',
        reviewedOn: '2026-01-05',
      },
      format: { type: 'database' },
      items: [
        PERSON_ITEMS.idNumber,
        PERSON_ITEMS.name,
        { name: 'insuranceType', label: '险种', dataType: 'C', length: 20 },
        { name: 'status', label: '参保状态', dataType: 'C', length: 10 },
        { name: 'startDate', label: '参保日期', dataType: 'D' },
        { name: 'monthlyBase', label: '缴费基数(元)', dataType: 'Y' },
        { name: 'updatedAt', label: '更新时间', dataType: 'T' },
      ],
      share: {
        type: 'conditional',
        conditions: '用于社会救助、就业创业补贴审核等法定职责，经提供部门授权后使用',
        legalBasis:
          '《中华人民共和国社会保险法》第八十一条：社会保险经办机构及其工作人员应当依法为用人单位和个人的信息保密',
        modes: ['api'],
        controlParams: ['idNumber'],
      },
      open: { type: 'none' },
      updateCycle: 'monthly',
      service: { connector: 'http', endpoint: `${simulatorUrl}/datasets/social-insurance`, timeoutMs: 3000 },
      // The data-use agreement a consumer accepts before its first call ([XY] 25, 33; [HC-R] 37).
      useTerms: {
        version: '2026-1',
        terms:
          '仅用于申请时载明的用途和业务系统；不得用于其他目的；不得向第三方提供或公开；使用记录接受审计。',
        undertaking: '本部门承诺对获取的社会保险信息严格保密，落实访问控制和安全管理责任，发生泄露立即报告。',
      },
    },
    {
      code: DEMO_CODES.criminalCases,
      name: '刑事案件侦查信息',
      summary: '刑事案件立案、侦查过程信息，依法不予共享。',
      classification: { category: 'department', code: '301002' },
      provider: { code: publicSecurity.code, name: publicSecurity.name },
      confidentiality: {
        result: 'not-classified',
        reviewedBy: '本单位保密工作机构',
        reviewedOn: '2026-01-05',
      },
      format: { type: 'database' },
      items: [
        { name: 'caseNumber', label: '案件编号', dataType: 'C', length: 30, key: true, required: true },
        { name: 'caseType', label: '案件类别', dataType: 'C', length: 20 },
        { name: 'filedDate', label: '立案日期', dataType: 'D' },
      ],
      share: {
        type: 'none',
        legalBasis: '《中华人民共和国刑事诉讼法》第一百五十二条；《中华人民共和国保守国家秘密法》',
        modes: ['api'],
      },
      open: { type: 'none' },
      updateCycle: 'realtime',
      service: { connector: 'http', endpoint: `${simulatorUrl}/datasets/criminal-cases` },
    },
  ];
}
