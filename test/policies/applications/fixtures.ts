/**
 * The parties, resources and clock of the application workflow tests: one provider per share path,
 * two consumer departments with one system each, and a platform clock the tests move by hand.
 */
import type { ActorRef } from '../../../catalog/records.js';
import type { CatalogService } from '../../../catalog/service.js';
import type { CertsStore } from '../../../certs/store.js';
import type { ApplicationRequest } from '../../../policies/applications/schema.js';
import {
  adminOf,
  bureau,
  conditionalEntry,
  enterpriseEntry,
  HUMAN_RESOURCES,
  MARKET_REGULATION,
  notSharedEntry,
  PUBLIC_SECURITY,
  populationEntry,
  publish,
  uscc,
} from '../../catalog/fixtures.js';

export { adminOf, bureau, HUMAN_RESOURCES, MARKET_REGULATION, PUBLIC_SECURITY };

/** 武汉市民政局: the consumer of most tests. */
export const CIVIL_AFFAIRS = uscc('11420100MB1234593');
/** 武汉市医疗保障局: another consumer department. */
export const MEDICAL_SECURITY = uscc('11420100MB1234604');

export const civilAdmin = adminOf(CIVIL_AFFAIRS, '陈静');
export const medicalAdmin = adminOf(MEDICAL_SECURITY, '刘洋');
export const hrAdmin = adminOf(HUMAN_RESOURCES, '赵磊');
export const policeAdmin = adminOf(PUBLIC_SECURITY, '李强');
export const marketAdmin = adminOf(MARKET_REGULATION, '孙丽');
export const auditorActor: ActorRef = { role: 'auditor', name: '审计 周' };

/** The resources: direct path (enterprise), provider authorization (conditional, population), none. */
export const ENTERPRISE = enterpriseEntry().code;
export const SOCIAL_INSURANCE = conditionalEntry().code;
export const POPULATION = populationEntry().code;
export const CRIMINAL_CASES = notSharedEntry().code;

/** A platform clock moved by hand; starts Monday 2026-03-02 10:00 CST. */
export class TestClock {
  ms = Date.parse('2026-03-02T10:00:00+08:00');
  readonly now = () => new Date(this.ms);
  set(iso: string): void {
    this.ms = Date.parse(iso);
  }
}

export async function registerParties(certs: CertsStore, at: Date): Promise<void> {
  const departments: [string, string][] = [
    [PUBLIC_SECURITY, '武汉市公安局'],
    [MARKET_REGULATION, '武汉市市场监督管理局'],
    [HUMAN_RESOURCES, '武汉市人力资源和社会保障局'],
    [CIVIL_AFFAIRS, '武汉市民政局'],
    [MEDICAL_SECURITY, '武汉市医疗保障局'],
  ];
  for (const [code, name] of departments) await certs.addDepartment({ code, name }, at);
  await certs.addSystem({ deptCode: CIVIL_AFFAIRS, systemId: 'assistance', name: '社会救助系统' }, at);
  await certs.addSystem({ deptCode: MEDICAL_SECURITY, systemId: 'claims', name: '医保结算系统' }, at);
}

export async function publishResources(catalog: CatalogService): Promise<void> {
  for (const entry of [enterpriseEntry(), conditionalEntry(), populationEntry(), notSharedEntry()]) {
    await publish(catalog, entry);
  }
}

export function enterpriseApplication(overrides: Partial<ApplicationRequest> = {}): ApplicationRequest {
  return {
    systemId: 'assistance',
    resourceCode: ENTERPRISE,
    items: ['uscc', 'entName', 'regStatus'],
    purposes: ['social-assistance'],
    reason: '核查低保申请人名下企业情况',
    modes: ['api'],
    validTo: '2027-01-01T00:00:00+08:00',
    ...overrides,
  };
}

export function insuranceApplication(overrides: Partial<ApplicationRequest> = {}): ApplicationRequest {
  return {
    systemId: 'assistance',
    resourceCode: SOCIAL_INSURANCE,
    items: ['idNumber', 'insuranceType', 'payBase', 'monthsPaid'],
    purposes: ['social-assistance'],
    reason: '核定社会救助对象家庭收入',
    modes: ['api'],
    validTo: '2027-01-01T00:00:00+08:00',
    ...overrides,
  };
}

export { bureau as bureauActor };
