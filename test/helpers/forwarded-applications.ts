/**
 * Forwarded applications between two complete platforms (test/helpers/federation.ts): the province offers
 * a conditional resource its provider authorizes, mounted in the city catalog as a federated entry; the
 * city department applies for it on the city and each platform's bureau and provider act through its own
 * routes. Shared by the forwarded-application and withdrawal tests.
 */
import type { Test } from 'tap';
import type { ResourceEntry } from '../../catalog/schema.js';
import type { StartWorkersOptions } from '../../gateway/app/workflow.js';
import type { Application } from '../../policies/applications/schema.js';
import { DEMO_DEPARTMENTS } from '../../scripts/lib/demo-catalog.js';
import { eventually } from '../gateway/jobs/workflow-app.js';
import { buildCascade, type Cascade, CITY_DEPT } from './federation.js';

/** A conditional department resource of the province (population items): its provider authorizes each use. */
export const CONDITIONAL = '301003/000001';
export const cityBureau = { sub: 'chen.bureau', role: 'bureau' } as const;
export const provinceBureau = { sub: 'zhou.bureau', role: 'bureau' } as const;
export const cityApplicant = { sub: 'wang.li', role: 'dept-admin', dept: CITY_DEPT.code } as const;
export const provinceProvider = {
  sub: 'li.gongan',
  role: 'dept-admin',
  dept: DEMO_DEPARTMENTS.publicSecurity.code,
} as const;
const actor = { role: 'system', name: 'test setup' } as const;

/**
 * Two platforms with the conditional resource offered and mounted, their workers started (`workers`
 * per platform: e.g. the province's webhooks off, so its decisions do not reach the city).
 */
export async function cascadeWithConditional(
  t: Test,
  workers: { province?: StartWorkersOptions; city?: StartWorkersOptions } = {},
  options: Pick<Parameters<typeof buildCascade>[1] & object, 'provinceUrl'> = {},
): Promise<Cascade> {
  const cascade = await buildCascade(t, {
    offers: ['101001/000001', CONDITIONAL],
    workflow: { webhooks: { attempts: 5, backoffMs: 50 } },
    ...options,
  });
  const { province, city } = cascade;
  const population = (await province.context.catalog.publishedEntry(cascade.world.codes.population))!.entry;
  const conditional: ResourceEntry = {
    ...population,
    code: CONDITIONAL,
    name: '重点人员登记核验信息',
    classification: { category: 'department', code: '301003' },
    items: population.items.map(({ source: _source, ...item }) => item),
    share: {
      type: 'conditional',
      conditions: '用于市场主体登记核验，经提供部门授权后使用',
      legalBasis: '《市场主体登记管理条例》第十九条',
      modes: ['api'],
    },
  };
  await province.context.catalog.importEntry(actor, conditional);
  await city.context.catalog.importEntry(actor, {
    ...conditional,
    service: { connector: 'federation', endpoint: `hubei-province/${CONDITIONAL}` },
  });
  await Promise.all([
    province.app.workflow.startWorkers({ availability: false, reports: false, ...workers.province }),
    city.app.workflow.startWorkers({ availability: false, reports: false, ...workers.city }),
  ]);
  return cascade;
}

/** The city department's application for the conditional resource, filed on the city. */
export async function apply(cascade: Cascade, systemId: string, items: string[]): Promise<Application> {
  const res = await cascade.city.app.inject({
    method: 'POST',
    url: '/v1/applications',
    headers: cascade.city.auth(cityApplicant),
    payload: {
      systemId,
      resourceCode: CONDITIONAL,
      items,
      purposes: ['market-supervision'],
      reason: '企业登记时核验法定代表人身份（《市场主体登记管理条例》第十九条）',
      modes: ['api'],
      validTo: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    },
  });
  if (res.statusCode !== 201) throw new Error(`application refused: ${res.body}`);
  return res.json();
}

export async function cityApplication(cascade: Cascade, id: string): Promise<Application> {
  const res = await cascade.city.app.inject({
    url: `/v1/applications/${id}`,
    headers: cascade.city.auth(cityBureau),
  });
  return res.json();
}

export async function provinceApplicationById(cascade: Cascade, id: string): Promise<Application> {
  const res = await cascade.province.app.inject({
    url: `/v1/applications/${id}`,
    headers: cascade.province.auth(provinceBureau),
  });
  return res.json();
}

/** The province's application that a city application became, once it was forwarded. */
export async function provinceApplication(cascade: Cascade, cityId: string): Promise<Application> {
  return eventually(
    async () => {
      const res = await cascade.province.app.inject({
        url: `/v1/applications?resource=${encodeURIComponent(CONDITIONAL)}`,
        headers: cascade.province.auth(provinceBureau),
      });
      return (res.json().applications as Application[]).find(
        (app) => app.federation?.peerApplicationId === cityId,
      );
    },
    `the province application of ${cityId}`,
    15_000,
  );
}
