import { createPublicKey } from 'node:crypto';
import t from 'tap';
import { verifyRequestSignature } from '../../certs/httpsig/index.js';
import type { Delivery } from '../../notifications/schema.js';
import { WEBHOOK_SIGNED_COMPONENTS, webhookLookup } from '../../notifications/send.js';
import { buildWorkflowApp, eventually, startReceiver } from '../gateway/jobs/workflow-app.js';
import {
  CIVIL_AFFAIRS,
  civilAdmin,
  enterpriseApplication,
  MARKET_REGULATION,
  marketAdmin,
  medicalAdmin,
} from '../policies/applications/fixtures.js';

t.test(
  'a delivery the receiver refuses twice is delivered on the third attempt, signed by the platform',
  async (t) => {
    const gw = await buildWorkflowApp(t, { workflow: { webhooks: { attempts: 5, backoffMs: 20 } } });
    const receiver = await startReceiver(t, (n) => (n <= 2 ? 503 : 204));
    const created = await gw.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: gw.as(civilAdmin),
      payload: {
        url: receiver.url('/hooks/govshare'),
        events: ['application.granted'],
        description: '救助系统',
      },
    });
    t.equal(created.statusCode, 201, created.body);
    t.match(created.json(), {
      owner: CIVIL_AFFAIRS,
      url: receiver.url('/hooks/govshare'),
      events: ['application.granted'],
    });
    await gw.workflow.startWorkers({ deadlines: false, availability: false });

    const app = await gw.workflow.applications.submit(civilAdmin, enterpriseApplication());
    t.equal(app.state, 'granted');
    const delivered = await eventually(async () => {
      const [d] = await gw.workflow.notifications.deliveries(civilAdmin, { limit: 10 });
      return d?.status === 'delivered' ? d : undefined;
    }, 'the delivery');
    t.equal(receiver.received.length, 3, 'two refusals, then accepted');
    t.match(delivered, {
      attempts: 3,
      lastStatus: 204,
      status: 'delivered',
      event: { type: 'application.granted' },
    });
    t.notOk('recipients' in delivered.event, 'receivers do not learn who else was told');

    const keys = new Set(receiver.received.map((r) => r.headers['idempotency-key']));
    t.same([...keys], [delivered.event.id], 'the same idempotency key on every attempt: the event id');
    const signingCert = gw.context.platform.signingCertX509;
    for (const request of receiver.received) {
      const verified = await verifyRequestSignature(
        { method: 'POST', url: request.url, headers: request.headers, body: request.body },
        {
          resolveKey: async (keyid) => {
            t.equal(
              keyid,
              signingCert.serialNumber.toLowerCase(),
              'keyid = the platform signing certificate serial',
            );
            return { key: createPublicKey(signingCert.publicKey.export({ type: 'spki', format: 'pem' })) };
          },
          checkNonce: async () => true,
          requiredComponents: () => WEBHOOK_SIGNED_COMPONENTS,
        },
      );
      t.same(verified.components, WEBHOOK_SIGNED_COMPONENTS);
    }
    const body = JSON.parse(receiver.received[2]!.body.toString('utf8'));
    t.match(body, {
      id: delivered.event.id,
      type: 'application.granted',
      data: { applicationId: app.id, grantId: app.grantId },
    });
    t.equal(receiver.received[2]!.headers['x-govshare-event'], 'application.granted');
  },
);

t.test('failures are visible to the owner only, and can be delivered again', async (t) => {
  const gw = await buildWorkflowApp(t, { workflow: { webhooks: { attempts: 2, backoffMs: 10 } } });
  let healthy = false;
  const receiver = await startReceiver(t, () => (healthy ? 200 : 500));
  await gw.workflow.notifications.register(marketAdmin, { url: receiver.url('/provider') });
  await gw.workflow.startWorkers({ deadlines: false, availability: false });
  await gw.workflow.applications.submit(civilAdmin, enterpriseApplication());

  const failed = await eventually(async () => {
    const res = await gw.app.inject({
      url: '/v1/webhooks/deliveries?status=failed',
      headers: gw.as(marketAdmin),
    });
    const list = res.json().deliveries as Delivery[];
    return list.length > 0 ? list : undefined;
  }, 'the failed delivery');
  t.equal(failed.length, 1, 'the provider was informed of the direct grant, and that delivery failed');
  t.match(failed[0], {
    owner: MARKET_REGULATION,
    status: 'failed',
    attempts: 2,
    lastStatus: 500,
    lastError: 'answered HTTP 500',
  });

  const others = await gw.app.inject({ url: '/v1/webhooks/deliveries', headers: gw.as(medicalAdmin) });
  t.same(others.json().deliveries, [], 'another department sees none of them');
  const peek = await gw.app.inject({
    url: `/v1/webhooks/deliveries?owner=${MARKET_REGULATION}`,
    headers: gw.as(medicalAdmin),
  });
  t.equal(peek.statusCode, 403);
  t.equal(peek.json().code, 'WEBHOOK_FORBIDDEN');
  const steal = await gw.app.inject({
    method: 'POST',
    url: `/v1/webhooks/deliveries/${failed[0]!.id}/redeliver`,
    headers: gw.as(medicalAdmin),
  });
  t.equal(steal.statusCode, 403);

  healthy = true;
  const again = await gw.app.inject({
    method: 'POST',
    url: `/v1/webhooks/deliveries/${failed[0]!.id}/redeliver`,
    headers: gw.as(marketAdmin),
  });
  t.equal(again.statusCode, 202, again.body);
  const done = await eventually(async () => {
    const d = await gw.workflow.notifications.store.getDelivery(failed[0]!.id);
    return d?.status === 'delivered' ? d : undefined;
  }, 'the redelivery');
  t.equal(done.attempts, 3);
});

t.test('endpoints: http(s) only, no credentials, each department manages its own', async (t) => {
  const gw = await buildWorkflowApp(t);
  for (const url of [
    'ftp://127.0.0.1/x',
    'file:///etc/passwd',
    'http://user:secret@127.0.0.1/x',
    'not a url',
    'javascript:alert(1)',
  ]) {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: gw.as(civilAdmin),
      payload: { url },
    });
    t.equal(res.statusCode, 422, url);
    t.equal(res.json().code, 'WEBHOOK_URL_INVALID');
  }
  const mine = await gw.app.inject({
    method: 'POST',
    url: '/v1/webhooks',
    headers: gw.as(civilAdmin),
    payload: { url: 'https://127.0.0.1:8443' },
  });
  t.equal(mine.json().url, 'https://127.0.0.1:8443/', 'stored as it will be signed');
  const id = mine.json().id as string;
  const listed = await gw.app.inject({ url: '/v1/webhooks', headers: gw.as(medicalAdmin) });
  t.same(listed.json().endpoints, []);
  const removeOther = await gw.app.inject({
    method: 'DELETE',
    url: `/v1/webhooks/${id}`,
    headers: gw.as(medicalAdmin),
  });
  t.equal(removeOther.statusCode, 403);
  t.equal(removeOther.json().code, 'WEBHOOK_FORBIDDEN');
  const auditor = await gw.app.inject({
    url: '/v1/webhooks',
    headers: gw.as({ role: 'auditor', name: 'a' }),
  });
  t.equal(auditor.statusCode, 403);
  const bureauView = await gw.app.inject({
    url: `/v1/webhooks?owner=${CIVIL_AFFAIRS}`,
    headers: gw.as({ role: 'bureau', name: 'b' }),
  });
  t.same(
    bureauView.json().endpoints.map((e: { id: string }) => e.id),
    [id],
  );
  const removed = await gw.app.inject({
    method: 'DELETE',
    url: `/v1/webhooks/${id}`,
    headers: gw.as(civilAdmin),
  });
  t.equal(removed.statusCode, 200);
  t.same((await gw.workflow.notifications.list(civilAdmin)).length, 0);
});

t.test('webhooks cannot target the platform host or link-local addresses (SSRF)', async (t) => {
  const gw = await buildWorkflowApp(t, { workflow: { webhooks: { targets: { allowLoopback: false } } } });
  const register = (url: string) =>
    gw.app.inject({ method: 'POST', url: '/v1/webhooks', headers: gw.as(civilAdmin), payload: { url } });
  for (const url of [
    'http://127.0.0.1:6379/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]:8080/',
    'http://2130706433/',
    'http://localhost/hook',
    'http://0.0.0.0/',
    'http://[::ffff:127.0.0.1]/',
    'http://[fe80::1]/',
    'http://224.0.0.1/',
  ]) {
    const res = await register(url);
    t.equal(res.statusCode, 422, url);
    t.equal(res.json().code, 'WEBHOOK_URL_INVALID');
  }
  for (const url of ['http://10.20.30.40/hook', 'https://hooks.example.gov.cn/govshare']) {
    t.equal((await register(url)).statusCode, 201, `${url}: departments' own networks and names`);
  }
  // A name is checked on the address it resolves to, at each connection.
  const lookup = webhookLookup({ allowLoopback: false });
  const refused = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
    lookup('localhost', {}, (err) => resolve(err)),
  );
  t.equal(refused?.code, 'EWEBHOOKTARGET');
  const allowed = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
    webhookLookup({ allowLoopback: true })('localhost', {}, (err) => resolve(err)),
  );
  t.equal(allowed, null, 'unless the operator allows loopback (development and tests)');
});
