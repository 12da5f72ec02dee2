import t from 'tap';
import {
  bureauActor,
  CIVIL_AFFAIRS,
  civilAdmin,
  enterpriseApplication,
  HUMAN_RESOURCES,
  hrAdmin,
  insuranceApplication,
  MEDICAL_SECURITY,
  marketAdmin,
  medicalAdmin,
} from '../../policies/applications/fixtures.js';
import { buildWorkflowApp } from '../jobs/workflow-app.js';

t.test('403 for every cross-department or cross-role attempt', async (t) => {
  const gw = await buildWorkflowApp(t);
  const post = (actor: Parameters<typeof gw.as>[0], url: string, payload: object) =>
    gw.app.inject({ method: 'POST', url, headers: gw.as(actor), payload });
  const get = (actor: Parameters<typeof gw.as>[0], url: string) =>
    gw.app.inject({ url, headers: gw.as(actor) });

  const pendingRes = await post(civilAdmin, '/v1/applications', insuranceApplication());
  const pending = pendingRes.json().id as string;
  const checkingRes = await post(
    civilAdmin,
    '/v1/applications',
    insuranceApplication({ resourceCode: '101001/1', items: ['idNumber'] }),
  );
  const checking = checkingRes.json().id as string;
  await post(bureauActor, `/v1/applications/${pending}/check`, { outcome: 'accept' });
  const grantId = (
    await post(medicalAdmin, '/v1/applications', enterpriseApplication({ systemId: 'claims' }))
  ).json().grantId;
  const securityAdmin = { role: 'security-admin' as const, name: '吴安' };
  const auditor = { role: 'auditor' as const, name: '周审' };

  const attempts: [string, () => ReturnType<typeof get>, string][] = [
    [
      'another department reads it',
      () => get(medicalAdmin, `/v1/applications/${pending}`),
      'APPLICATION_FORBIDDEN',
    ],
    [
      'another department lists a department’s applications',
      () => get(medicalAdmin, `/v1/applications?dept=${CIVIL_AFFAIRS}`),
      'APPLICATION_FORBIDDEN',
    ],
    [
      'another department withdraws it',
      () => post(medicalAdmin, `/v1/applications/${pending}/withdraw`, {}),
      'APPLICATION_FORBIDDEN',
    ],
    [
      'the provider withdraws it',
      () => post(hrAdmin, `/v1/applications/${pending}/withdraw`, {}),
      'APPLICATION_FORBIDDEN',
    ],
    [
      'another department authorizes it',
      () => post(marketAdmin, `/v1/applications/${pending}/authorize`, {}),
      'APPLICATION_FORBIDDEN',
    ],
    [
      'the consumer authorizes its own application',
      () => post(civilAdmin, `/v1/applications/${pending}/authorize`, {}),
      'APPLICATION_FORBIDDEN',
    ],
    [
      'the consumer refuses it',
      () => post(civilAdmin, `/v1/applications/${pending}/refuse`, { reason: 'x' }),
      'APPLICATION_FORBIDDEN',
    ],
    [
      'another department refuses it',
      () => post(medicalAdmin, `/v1/applications/${pending}/refuse`, { reason: 'x' }),
      'APPLICATION_FORBIDDEN',
    ],
    [
      'a department checks an application',
      () => post(hrAdmin, `/v1/applications/${checking}/check`, { outcome: 'accept' }),
      'ROLE_FORBIDDEN',
    ],
    [
      'an application for another department’s system',
      () =>
        post(
          civilAdmin,
          '/v1/applications',
          enterpriseApplication({ deptCode: MEDICAL_SECURITY, systemId: 'claims' }),
        ),
      'APPLICATION_FORBIDDEN',
    ],
    [
      'renewing another department’s grant',
      () => post(civilAdmin, '/v1/applications', enterpriseApplication({ renews: grantId })),
      'APPLICATION_FORBIDDEN',
    ],
    [
      'the bureau applies',
      () => post(bureauActor, '/v1/applications', enterpriseApplication()),
      'ROLE_FORBIDDEN',
    ],
    [
      'an auditor authorizes',
      () => post(auditor, `/v1/applications/${pending}/authorize`, {}),
      'ROLE_FORBIDDEN',
    ],
    [
      'a security administrator reads applications',
      () => get(securityAdmin, '/v1/applications'),
      'ROLE_FORBIDDEN',
    ],
    [
      'another department’s statistics',
      () => get(civilAdmin, `/v1/stats?from=2026-03-01&to=2026-03-31&dept=${HUMAN_RESOURCES}`),
      'STATS_FORBIDDEN',
    ],
    [
      'an auditor reads statistics',
      () => get(auditor, '/v1/stats?from=2026-03-01&to=2026-03-31'),
      'ROLE_FORBIDDEN',
    ],
    [
      'another department’s webhook deliveries',
      () => get(civilAdmin, `/v1/webhooks/deliveries?owner=${MEDICAL_SECURITY}`),
      'WEBHOOK_FORBIDDEN',
    ],
    [
      'another department’s webhooks',
      () => get(civilAdmin, `/v1/webhooks?owner=${MEDICAL_SECURITY}`),
      'WEBHOOK_FORBIDDEN',
    ],
  ];
  for (const [what, attempt, code] of attempts) {
    const res = await attempt();
    t.equal(res.statusCode, 403, what);
    t.equal(res.json().code, code, what);
  }
  const unchanged = await get(bureauActor, `/v1/applications/${pending}`);
  t.equal(unchanged.json().state, 'authorizing', 'none of it changed the application');
  t.equal(unchanged.json().history.length, 2);
});
