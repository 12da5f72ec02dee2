import { Writable } from 'node:stream';
import t from 'tap';
import { sampleKeys } from '../../connectors/simulator/datasets.js';
import { buildTestApp } from '../helpers/app.js';
import { buildWorld, enc, signedInject } from '../helpers/world.js';

t.test(
  'logs carry request id, caller and resource, and never tokens, keys, signatures or ID numbers',
  async (t) => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const { app, context, auth, token } = await buildTestApp(t, { logger: { level: 'info', stream } });
    const world = await buildWorld(t, context);
    const bureau = { sub: 'bureau-1', role: 'bureau' } as const;
    const [idNumber] = sampleKeys('residents', 1);
    await app.inject({
      method: 'POST',
      url: '/v1/grants',
      headers: auth(bureau),
      payload: {
        deptCode: world.systems.amr.deptCode,
        systemId: world.systems.amr.systemId,
        resourceCode: world.codes.population,
        items: ['idNumber', 'name'],
        purposes: ['market-supervision'],
        modes: ['api'],
        validTo: new Date(Date.now() + 86400_000).toISOString(),
        basis: '《政务信息资源共享管理办法》第二十一条',
      },
    });
    const path = `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`;
    const ok = await signedInject(app, world.systems.amr, { method: 'GET', path });
    t.equal(ok.statusCode, 200);
    const refused = await signedInject(app, world.systems.amr, {
      method: 'GET',
      path,
      purpose: 'tax-collection',
    });
    t.equal(refused.statusCode, 403);
    await signedInject(app, world.systems.amr, {
      method: 'POST',
      path: `/v1/data/${enc(world.codes.population)}/query`,
      body: { keys: [idNumber] },
    });

    const all = lines.join('\n');
    t.ok(lines.length > 5, `${lines.length} log lines`);
    t.notOk(all.includes(idNumber!), 'no ID number in clear');
    t.notOk(all.includes(token(bureau).split('.')[2]!), 'no bearer token');
    t.notOk(/BEGIN [A-Z ]*PRIVATE KEY/.test(all), 'no private key');
    t.notOk(all.includes('sig1=:'), 'no signature values');
    const served = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'data served');
    t.ok(served, 'an allowed call is logged');
    t.equal(served.reqId, ok.headers['x-request-id'], 'with its request id');
    t.equal(served.dept, world.systems.amr.deptCode, 'the caller department');
    t.equal(served.system, world.systems.amr.systemId, 'the caller system');
    t.equal(served.resource, world.codes.population, 'and the resource');
    const denied = lines.map((l) => JSON.parse(l)).find((l) => l.code === 'PURPOSE_MISMATCH');
    t.ok(denied, 'a refusal is logged with its reason code');
    t.equal(denied.reqId, refused.headers['x-request-id']);
  },
);
