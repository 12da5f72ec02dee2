/**
 * 一数一源 over HTTP: a second source is refused at submission (409), or with `arbitrate` goes to the
 * bureau; only the bureau decides; the registry and the audit trail follow.
 */
import t from 'tap';
import { searchAudit } from '../../../audit/search.js';
import { DEMO_CODES, DEMO_DEPARTMENTS, demoCatalog } from '../../../scripts/lib/demo-catalog.js';
import { buildTestApp } from '../../helpers/app.js';

const { publicSecurity: PSB, marketRegulation: AMR } = DEMO_DEPARTMENTS;
const bureau = { sub: 'bureau-1', role: 'bureau' } as const;
const psbAdmin = { sub: 'psb-admin', role: 'dept-admin', dept: PSB.code } as const;
const amrAdmin = { sub: 'amr-admin', role: 'dept-admin', dept: AMR.code } as const;
const enc = (code: string) => encodeURIComponent(code);

t.test('a contested item source: refused, arbitrated, decided by the bureau, audited', async (t) => {
  const { app, context, auth } = await buildTestApp(t);
  for (const dept of [PSB, AMR]) await context.certs.addDepartment(dept, new Date());
  const entries = demoCatalog('http://127.0.0.1:9');
  const population = entries.find((e) => e.code === DEMO_CODES.population)!;
  const enterprise = entries.find((e) => e.code === DEMO_CODES.enterprise)!;
  const nameItem = population.items.find((i) => i.name === 'name')!;
  Object.assign(nameItem, { semanticId: 'person.name', source: true });
  enterprise.items.push({
    name: 'legalRepName',
    label: '法定代表人姓名',
    dataType: 'C',
    length: 50,
    semanticId: 'person.name',
    source: true,
  });
  const send = (person: object, method: 'GET' | 'POST', url: string, payload?: object) =>
    app.inject({ method, url, headers: auth(person as typeof bureau), ...(payload ? { payload } : {}) });

  for (const [admin, entry] of [
    [psbAdmin, population],
    [amrAdmin, enterprise],
  ] as const) {
    t.equal((await send(admin, 'POST', '/v1/catalog', entry)).statusCode, 201);
  }
  await send(psbAdmin, 'POST', `/v1/catalog/${enc(population.code)}/submit`, {});
  t.equal((await send(bureau, 'POST', `/v1/catalog/${enc(population.code)}/approve`, {})).statusCode, 200);
  const registry = await send(amrAdmin, 'GET', '/v1/catalog/item-sources');
  t.same(registry.json(), { sources: { 'person.name': population.code } });

  const refused = await send(amrAdmin, 'POST', `/v1/catalog/${enc(enterprise.code)}/submit`, {});
  t.same([refused.statusCode, refused.json().code], [409, 'CATALOG_ITEM_SOURCE_TAKEN']);
  const arbitrated = await send(amrAdmin, 'POST', `/v1/catalog/${enc(enterprise.code)}/submit`, {
    arbitrate: true,
    reason: '法定代表人姓名以登记机关核准为准',
  });
  t.equal(arbitrated.statusCode, 200, arbitrated.body);
  const [arbitration] = arbitrated.json().arbitrations;
  t.match(arbitration, { semanticId: 'person.name', claimant: enterprise.code, holder: population.code });

  const url = `/v1/catalog/item-sources/arbitrations/${arbitration.id}/decision`;
  const byProvider = await send(amrAdmin, 'POST', url, { source: enterprise.code, reason: '自裁' });
  t.same([byProvider.statusCode, byProvider.json().code], [403, 'ROLE_FORBIDDEN']);
  const bad = await send(bureau, 'POST', url, { source: 'not a code', reason: 'x' });
  t.same([bad.statusCode, bad.json().code], [400, 'VALIDATION_FAILED']);
  const decided = await send(bureau, 'POST', url, {
    source: population.code,
    reason: '姓名以户籍登记为准，企业登记复用',
  });
  t.equal(decided.statusCode, 200, decided.body);
  t.match(decided.json(), { state: 'decided', decision: { source: population.code } });
  const listed = await send(amrAdmin, 'GET', '/v1/catalog/item-sources/arbitrations');
  t.match(listed.json().arbitrations, [{ id: arbitration.id, state: 'decided' }]);
  const approve = await send(bureau, 'POST', `/v1/catalog/${enc(enterprise.code)}/approve`, {});
  t.same([approve.statusCode, approve.json().code], [409, 'CATALOG_ITEM_SOURCE_TAKEN'], 'the holder stays');

  const trail = await searchAudit(context.redis, context.prefix, context.platform.subjectHmacKey, {
    limit: 100,
  });
  const actions = trail.records.map((r) => r.action);
  t.ok(actions.includes('catalog.item-source.arbitration.open'));
  t.ok(actions.includes('catalog.item-source.arbitration.decide'));
});
