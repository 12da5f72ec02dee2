/**
 * [HB-S] 23: while a record is being checked, a citizen holding valid papers is still served. An
 * objection about a record, whether the platform rechecks it or the provider verifies it, never stops
 * calls for that record: the consumer keeps receiving it, unchanged, and the call is audited as served.
 */
import t from 'tap';
import { auditKeys } from '../../../audit/keys.js';
import type { AuditRecord } from '../../../audit/record.js';
import { sampleKeys } from '../../../connectors/simulator/datasets.js';
import { buildTestApp } from '../../helpers/app.js';
import { buildWorld, enc, grantPopulation, signedInject } from '../../helpers/world.js';

const [idNumber] = sampleKeys('residents', 1);

t.test('a record under objection is still served, while rechecked and while verified', async (t) => {
  const testApp = await buildTestApp(t);
  const { app, auth, context } = testApp;
  const world = await buildWorld(t, context);
  await grantPopulation(testApp, world);
  const consumerAdmin = auth({ sub: 'amr-admin', role: 'dept-admin', dept: world.systems.amr.deptCode });
  const bureau = auth({ sub: 'bureau-1', role: 'bureau' });
  const path = `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`;
  const lookup = async () => {
    const res = await signedInject(app, world.systems.amr, { method: 'GET', path });
    t.equal(res.statusCode, 200, res.body);
    return res;
  };
  const before = (await lookup()).json().data;
  t.equal(before.length, 1, 'the record exists');

  const raised = await app.inject({
    method: 'POST',
    url: '/v1/objections',
    headers: consumerAdmin,
    payload: {
      resourceCode: world.codes.population,
      key: idNumber,
      item: 'name',
      description: '姓名与申请人出示的居民身份证不一致',
      evidence: { text: '申请人当场出示的有效居民身份证' },
      to: 'platform',
    },
  });
  t.equal(raised.statusCode, 201, raised.body);
  t.equal(raised.json().state, 'rechecking');
  const id: string = raised.json().id;

  const whileRechecked = await lookup();
  t.same(whileRechecked.json().data, before, 'served unchanged while the platform rechecks the objection');

  const forwarded = await app.inject({
    method: 'POST',
    url: `/v1/objections/${id}/recheck`,
    headers: bureau,
    payload: { outcome: 'forward', reason: '证据充分，转提供部门核实' },
  });
  t.equal(forwarded.statusCode, 200, forwarded.body);
  t.equal(forwarded.json().state, 'open', 'now under verification by the provider');

  const whileVerified = await lookup();
  t.same(whileVerified.json().data, before, 'served unchanged while the provider verifies it');

  const stream = auditKeys(context.prefix).stream(context.audit.instance);
  const trail = (await context.redis.xrange(stream, '-', '+')).map(
    ([, fields]) => JSON.parse(fields[fields.indexOf('rec') + 1]!) as AuditRecord,
  );
  for (const res of [whileRechecked, whileVerified]) {
    t.match(
      trail.find((r) => r.requestId === res.headers['x-request-id']),
      { action: 'data.lookup', decision: 'allow', status: 200, rowCount: 1 },
      'audited as served',
    );
  }
});
