import t from 'tap';
import { buildTestApp } from '../../helpers/app.js';
import { buildWorld, grantPopulation, signedInject } from '../../helpers/world.js';

t.test(
  "a department's bulk jobs for its administrator, the bureau and the auditors; no one else's",
  async (t) => {
    const gw = await buildTestApp(t);
    const world = await buildWorld(t, gw.context);
    const { amr, psb } = world.systems;
    await grantPopulation(gw, world, { modes: ['api', 'bulk'] });
    const submitted = await signedInject(gw.app, amr, {
      method: 'POST',
      path: '/v1/exchange/jobs',
      body: { resource: world.codes.population, kind: 'full', format: 'jsonl' },
      headers: { 'x-user-id': 'li.na' },
    });
    t.equal(submitted.statusCode, 202, submitted.body);
    const id = submitted.json().id as string;

    const own = await gw.app.inject({
      method: 'GET',
      url: '/v1/exchange/department-jobs',
      headers: gw.auth({ sub: 'li.na', role: 'dept-admin', dept: amr.deptCode }),
    });
    t.equal(own.statusCode, 200, own.body);
    t.same(
      own.json().jobs.map((j: { id: string }) => j.id),
      [id],
    );
    const job = own.json().jobs[0];
    t.equal(job.consumer.systemId, amr.systemId);
    t.ok(job.progress && typeof job.progress.rows === 'number', 'with its progress');
    t.notOk('envelopeHeader' in job || 'checkpoint' in job, 'not the internals');

    const other = await gw.app.inject({
      method: 'GET',
      url: `/v1/exchange/department-jobs?dept=${amr.deptCode}`,
      headers: gw.auth({ sub: 'wu.gang', role: 'dept-admin', dept: psb.deptCode }),
    });
    t.equal(other.json().code, 'DEPARTMENT_FORBIDDEN');
    const psbOwn = await gw.app.inject({
      method: 'GET',
      url: '/v1/exchange/department-jobs',
      headers: gw.auth({ sub: 'wu.gang', role: 'dept-admin', dept: psb.deptCode }),
    });
    t.same(psbOwn.json().jobs, [], 'its own department has none');

    const bureau = await gw.app.inject({
      method: 'GET',
      url: `/v1/exchange/department-jobs?dept=${amr.deptCode}&limit=5`,
      headers: gw.auth({ sub: 'zhao.lei', role: 'bureau' }),
    });
    t.equal(bureau.json().jobs.length, 1);
    const noDept = await gw.app.inject({
      method: 'GET',
      url: '/v1/exchange/department-jobs',
      headers: gw.auth({ sub: 'sun.li', role: 'auditor' }),
    });
    t.equal(noDept.json().code, 'VALIDATION_FAILED');
    const security = await gw.app.inject({
      method: 'GET',
      url: `/v1/exchange/department-jobs?dept=${amr.deptCode}`,
      headers: gw.auth({ sub: 'wang.fang', role: 'security-admin' }),
    });
    t.equal(security.json().code, 'ROLE_FORBIDDEN');
  },
);
