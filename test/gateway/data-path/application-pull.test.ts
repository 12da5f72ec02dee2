/**
 * Issue 4's path end to end over HTTP: a conditional resource applied for, checked by the bureau,
 * authorized by the provider with narrowed items, then a signed pull that returns exactly those items.
 */
import t from 'tap';
import { sampleKeys } from '../../../connectors/simulator/datasets.js';
import { buildTestApp } from '../../helpers/app.js';
import { buildWorld, enc, signedInject } from '../../helpers/world.js';

t.test(
  'apply → check → authorize with narrowed items → a signed pull with exactly those items',
  async (t) => {
    const { app, context, auth } = await buildTestApp(t);
    const world = await buildWorld(t, context);
    const { amr, hrss } = world.systems;
    const [idNumber] = sampleKeys('residents', 1);
    const path = `/v1/data/${enc(world.codes.socialInsurance)}?idNumber=${idNumber}`;

    const before = await signedInject(app, amr, { method: 'GET', path });
    t.equal(before.json().code, 'GRANT_MISSING', 'no access before the application');

    const applied = await app.inject({
      method: 'POST',
      url: '/v1/applications',
      headers: auth({ sub: 'amr-admin', role: 'dept-admin', dept: amr.deptCode }),
      payload: {
        systemId: amr.systemId,
        resourceCode: world.codes.socialInsurance,
        items: ['idNumber', 'name', 'insuranceType', 'status', 'monthlyBase'],
        purposes: ['market-supervision'],
        reason: '核查企业为员工缴纳社会保险情况',
        modes: ['api'],
        validTo: new Date(Date.now() + 30 * 86400_000).toISOString(),
      },
    });
    t.equal(applied.statusCode, 201, applied.body);
    t.equal(applied.json().state, 'checking', 'a conditional resource goes to the bureau first');
    const id = applied.json().id as string;

    const checked = await app.inject({
      method: 'POST',
      url: `/v1/applications/${id}/check`,
      headers: auth({ sub: 'bureau-1', role: 'bureau' }),
      payload: { outcome: 'accept' },
    });
    t.equal(checked.json().state, 'authorizing');

    const wrongProvider = await app.inject({
      method: 'POST',
      url: `/v1/applications/${id}/authorize`,
      headers: auth({ sub: 'amr-admin', role: 'dept-admin', dept: amr.deptCode }),
      payload: { items: ['idNumber', 'status'] },
    });
    t.equal(wrongProvider.statusCode, 403, 'only the provider authorizes');

    const authorized = await app.inject({
      method: 'POST',
      url: `/v1/applications/${id}/authorize`,
      headers: auth({ sub: 'hrss-admin', role: 'dept-admin', dept: hrss.deptCode }),
      payload: { items: ['idNumber', 'insuranceType', 'status'], reason: '缴费基数不属于核查所需' },
    });
    t.equal(authorized.statusCode, 200, authorized.body);
    t.equal(authorized.json().application.state, 'granted');

    // The resource carries a data-use agreement: the department accepts it before its first call.
    const unaccepted = await signedInject(app, amr, { method: 'GET', path });
    t.equal(unaccepted.json().code, 'TERMS_NOT_ACCEPTED', 'no call before the terms are accepted');
    const accepted = await app.inject({
      method: 'POST',
      url: `/v1/catalog/${enc(world.codes.socialInsurance)}/terms/acceptances`,
      headers: auth({ sub: 'amr-admin', role: 'dept-admin', dept: amr.deptCode }),
      payload: { version: '2026-1' },
    });
    t.equal(accepted.statusCode, 201, accepted.body);

    const pulled = await signedInject(app, amr, { method: 'GET', path });
    t.equal(pulled.statusCode, 200, pulled.body);
    t.same(
      Object.keys(pulled.json().data[0]),
      ['idNumber', 'insuranceType', 'status'],
      'exactly the authorized items',
    );
    t.equal(pulled.json().meta.grantId, authorized.json().grant.id);
    const wider = await signedInject(app, amr, { method: 'GET', path: `${path}&items=monthlyBase` });
    t.equal(wider.json().code, 'ITEM_NOT_GRANTED', 'an item applied for but not authorized is refused');
  },
);
