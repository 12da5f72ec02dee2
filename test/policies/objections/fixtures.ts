/**
 * What the objection tests share: a consumer (民政局, system `assistance`) holding a grant on the social
 * insurance resource of 人社局, a record key (an ID number) and an objection to one of its items.
 */

import { grantActor } from '../../../policies/applications/commit.js';
import type { Grant } from '../../../policies/grant.js';
import type { GrantStore } from '../../../policies/grant-store.js';
import type { ObjectionRequest } from '../../../policies/objections/schema.js';
import { conditionalEntry } from '../../catalog/fixtures.js';
import { CIVIL_AFFAIRS, hrAdmin, SOCIAL_INSURANCE } from '../applications/fixtures.js';

/** The record's key: a resident ID number, as a consumer might type it (lowercase check character). */
export const ID_NUMBER = '42010219900307123x';
export const ID_NUMBER_NORMALIZED = '42010219900307123X';

/**
 * The provider's grant to 民政局's system `assistance` (or another) on 社会保险参保信息, as its authorization
 * of an application makes it (a conditional resource is never granted directly).
 */
export function grantInsurance(grants: GrantStore, systemId = 'assistance'): Promise<Grant> {
  const grant = {
    deptCode: CIVIL_AFFAIRS,
    systemId,
    resourceCode: SOCIAL_INSURANCE,
    items: ['idNumber', 'insuranceType', 'monthsPaid'],
    purposes: ['social-assistance'],
    modes: ['api' as const],
    validTo: '2027-01-01T00:00:00+08:00',
  };
  return grants.create(grantActor(hrAdmin), conditionalEntry(), grant, {
    source: { kind: 'application', applicationId: `app-${systemId}` },
  });
}

export function insuranceObjection(overrides: Partial<ObjectionRequest> = {}): ObjectionRequest {
  return {
    resourceCode: SOCIAL_INSURANCE,
    key: ID_NUMBER,
    item: 'monthsPaid',
    description: '累计缴费月数为 12，与申请人提供的缴费凭证（156 个月）不符',
    evidence: {
      text: '申请人提交的社保缴费凭证，盖有经办机构印章',
      url: 'https://assistance.wuhan.example/cases/2026-0012/receipt.pdf',
    },
    ...overrides,
  };
}
