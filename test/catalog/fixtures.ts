/**
 * Realistic catalog entries and actors for tests of the catalog and of everything that uses it.
 * Every function returns a fresh copy, so a test may change what it gets.
 */
import { organisationCheckCharacter, usccCheckCharacter } from '../../catalog/identifiers.js';
import type { ActorRef } from '../../catalog/records.js';
import type { ResourceEntry } from '../../catalog/schema.js';
import type { CatalogService } from '../../catalog/service.js';

/** A valid unified social credit code from its first 17 characters. */
/**
 * A valid code from its first 17 characters: character 17 is replaced by the organisation-code check
 * (GB 11714) of characters 9-16, then the GB 32100 check character is appended.
 */
export const uscc = (first17: string) => {
  const first16 = first17.slice(0, 16);
  const withOrganisation = first16 + organisationCheckCharacter(first16.slice(8));
  return withOrganisation + usccCheckCharacter(withOrganisation);
};

/** 武汉市公安局 (a 机关 code: 11 + division 420100). */
export const PUBLIC_SECURITY = uscc('11420100MB1234560');
/** 武汉市市场监督管理局. */
export const MARKET_REGULATION = uscc('11420100MB1234571');
/** 武汉市人力资源和社会保障局. */
export const HUMAN_RESOURCES = uscc('11420100MB1234582');
/** An enterprise, as data in rows. */
export const SAMPLE_ENTERPRISE = '91350100M000100Y43';
/** The example of GB 11643-1999, as data in rows. */
export const SAMPLE_ID_NUMBER = '11010519491231002X';

export const bureau: ActorRef = { role: 'bureau', name: '大数据管理局 张审核' };
export const platform: ActorRef = { role: 'system', name: 'govshare' };
export const auditor: ActorRef = { role: 'auditor', name: '审计 李' };
export const adminOf = (dept: string, name = `admin of ${dept}`): ActorRef => ({
  role: 'dept-admin',
  dept,
  name,
});

const httpService = (path: string) => ({
  connector: 'http' as const,
  endpoint: `http://127.0.0.1:9/${path}`,
  timeoutMs: 3000,
});

/** 人口基础信息: a base resource keyed by the resident ID number, unconditional. */
export function populationEntry(): ResourceEntry {
  return {
    code: '101001/1',
    name: '人口基础信息',
    summary: '全市户籍人口和常住人口的基础信息，包括身份证号码、姓名、性别、出生日期和户籍地址',
    classification: { category: 'base', code: '101001' },
    provider: { code: PUBLIC_SECURITY, name: '武汉市公安局' },
    confidentiality: { result: 'not-classified', reviewedBy: '本单位保密工作机构', reviewedOn: '2026-01-05' },
    format: { type: 'database', subtype: 'Dm' },
    items: [
      {
        name: 'idNumber',
        label: '公民身份号码',
        dataType: 'C',
        length: 18,
        key: true,
        sensitive: 'idNumber',
      },
      { name: 'name', label: '姓名', dataType: 'C', length: 50, required: true, sensitive: 'name' },
      { name: 'gender', label: '性别', dataType: 'C', length: 1 },
      { name: 'birthDate', label: '出生日期', dataType: 'D' },
      { name: 'address', label: '户籍地址', dataType: 'C', length: 200, sensitive: 'address' },
      { name: 'updatedAt', label: '更新时间', dataType: 'T' },
    ],
    share: { type: 'unconditional', modes: ['api', 'bulk'], controlParams: ['idNumber'] },
    open: { type: 'none' },
    updateCycle: 'daily',
    service: { ...httpService('population'), watermark: 'updatedAt' },
  };
}

/** 企业登记信息: a base resource keyed by the unified social credit code. */
export function enterpriseEntry(): ResourceEntry {
  return {
    code: '102001/1',
    name: '企业登记信息',
    summary: '市场主体登记注册信息：统一社会信用代码、企业名称、法定代表人、注册资本、成立日期、登记状态',
    classification: { category: 'base', code: '102001' },
    provider: { code: MARKET_REGULATION, name: '武汉市市场监督管理局' },
    confidentiality: { result: 'not-classified', reviewedBy: '本单位保密工作机构', reviewedOn: '2026-01-05' },
    format: { type: 'api' },
    items: [
      { name: 'uscc', label: '统一社会信用代码', dataType: 'C', length: 18, key: true, sensitive: 'uscc' },
      { name: 'entName', label: '企业名称', dataType: 'C', length: 200, required: true },
      { name: 'legalRep', label: '法定代表人', dataType: 'C', length: 50, sensitive: 'name' },
      { name: 'regCapital', label: '注册资本(万元)', dataType: 'Y' },
      { name: 'establishDate', label: '成立日期', dataType: 'D' },
      { name: 'regStatus', label: '登记状态', dataType: 'C', length: 20 },
    ],
    share: { type: 'unconditional', modes: ['api'] },
    open: { type: 'conditional', conditions: '依申请公开' },
    updateCycle: 'realtime',
    related: ['101001/1'],
    service: httpService('enterprise'),
  };
}

/** 社会保险参保信息: conditional, with its legal basis; the payment base is conditional item by item. */
export function conditionalEntry(): ResourceEntry {
  return {
    code: '301002/1',
    name: '社会保险参保信息',
    summary: '职工基本养老保险、医疗保险参保及缴费信息',
    classification: { category: 'department', code: '301002' },
    provider: { code: HUMAN_RESOURCES, name: '武汉市人力资源和社会保障局' },
    confidentiality: { result: 'not-classified', reviewedBy: '本单位保密工作机构', reviewedOn: '2026-01-05' },
    format: { type: 'database', subtype: 'KingbaseES' },
    items: [
      {
        name: 'idNumber',
        label: '公民身份号码',
        dataType: 'C',
        length: 18,
        key: true,
        sensitive: 'idNumber',
      },
      { name: 'insuranceType', label: '险种类型', dataType: 'C', length: 10, required: true },
      { name: 'payBase', label: '缴费基数', dataType: 'N', shareType: 'conditional' },
      { name: 'monthsPaid', label: '累计缴费月数', dataType: 'I' },
      { name: 'active', label: '是否正常参保', dataType: 'L' },
    ],
    share: {
      type: 'conditional',
      conditions: '仅限办理社会保障、就业和人才服务事项使用',
      legalBasis: '《中华人民共和国社会保险法》第八十一条',
      modes: ['api', 'bulk'],
      controlParams: ['idNumber'],
    },
    open: { type: 'none' },
    updateCycle: 'monthly',
    service: { connector: 'sql', endpoint: 'hrss', table: 'share.si_insured' },
  };
}

/** 刑事案件侦查信息: not shared, citing the law. */
export function notSharedEntry(): ResourceEntry {
  return {
    code: '301005/1',
    name: '刑事案件侦查信息',
    summary: '刑事案件立案、侦查过程信息',
    classification: { category: 'department', code: '301005' },
    provider: { code: PUBLIC_SECURITY, name: '武汉市公安局' },
    confidentiality: { result: 'not-classified', reviewedBy: '本单位保密工作机构', reviewedOn: '2026-01-05' },
    format: { type: 'file', subtype: 'OFD' },
    items: [
      { name: 'caseNo', label: '案件编号', dataType: 'C', length: 30, key: true },
      { name: 'filedAt', label: '立案时间', dataType: 'T' },
    ],
    share: {
      type: 'none',
      legalBasis: '《中华人民共和国刑事诉讼法》第一百五十二条；《公安机关办理刑事案件程序规定》',
      modes: ['file'],
    },
    open: { type: 'none' },
    updateCycle: 'other',
    service: { connector: 'file', endpoint: 'psb-cases' },
  };
}

/** Registers, submits and approves an entry: returns the code of the published resource. */
export async function publish(service: CatalogService, entry: ResourceEntry): Promise<string> {
  const owner = adminOf(entry.provider.code);
  await service.createDraft(owner, entry);
  await service.submit(owner, entry.code);
  await service.approve(bureau, entry.code);
  return entry.code;
}
