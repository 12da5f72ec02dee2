/**
 * The city asks the province to sign its answers to forwarded calls (Accept-Signature) and releases
 * nothing the province's signing key (as the agreement names it) did not sign. Between the two platforms
 * sits a loopback relay that passes the province's answers through, strips their signature, or changes
 * their body: the signed answer is served, the other two are refused with a 502 problem and audited.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { request } from 'undici';
import type { AuditRecord } from '../../../audit/record.js';
import { sampleKeys } from '../../../connectors/simulator/datasets.js';
import { FEDERATION_SYSTEM_ID } from '../../../federation/origin.js';
import { auditRecordsOf } from '../../helpers/audit.js';
import { buildCascade, type Cascade, CITY, CITY_DEPT, cityLookup } from '../../helpers/federation.js';

const [idNumber] = sampleKeys('residents', 1);
const bureau = { sub: 'bureau-1', role: 'bureau' } as const;
type Mode = 'pass' | 'strip' | 'tamper';

/** A relay to the province gateway that keeps the Host header (the city signed the relay's URL). */
async function relay(t: Test, target: () => string) {
  const state: { mode: Mode } = { mode: 'pass' };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers: IncomingHttpHeaders = { ...req.headers };
    delete headers.connection;
    const upstream = await request(`${target()}${req.url}`, {
      method: req.method as 'POST',
      headers: headers as Record<string, string>,
      body: chunks.length ? Buffer.concat(chunks) : null,
    });
    let body = Buffer.from(await upstream.body.arrayBuffer());
    const answer: Record<string, string> = {};
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (value !== undefined && name !== 'content-length' && name !== 'connection' && name !== 'keep-alive')
        answer[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    if (state.mode === 'strip') {
      delete answer.signature;
      delete answer['signature-input'];
    }
    if (state.mode === 'tamper')
      body = Buffer.from(body.toString('utf8').replace(/"gender":"[^"]*"/, '"gender":"男"'));
    res.writeHead(upstream.statusCode, answer);
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, state };
}

async function grant(target: Cascade['city'], body: Record<string, unknown>): Promise<void> {
  const res = await target.app.inject({
    method: 'POST',
    url: '/v1/grants',
    headers: target.auth(bureau),
    payload: {
      purposes: ['market-supervision'],
      modes: ['api'],
      validTo: new Date(Date.now() + 86_400_000).toISOString(),
      basis: '《政务信息资源共享管理办法》第二十一条',
      ...body,
    },
  });
  if (res.statusCode !== 201) throw new Error(`grant refused: ${res.body}`);
}

t.test('only answers the province signed are released', async (t) => {
  let provinceUrl = '';
  const proxy = await relay(t, () => provinceUrl);
  const cascade = await buildCascade(t, { provinceUrl: () => proxy.url });
  provinceUrl = cascade.province.url;
  const items = ['idNumber', 'name', 'gender'];
  await grant(cascade.city, {
    deptCode: CITY_DEPT.code,
    systemId: CITY_DEPT.system,
    resourceCode: cascade.federatedCode,
    items,
  });
  await grant(cascade.province, {
    deptCode: CITY.operator,
    systemId: FEDERATION_SYSTEM_ID,
    resourceCode: cascade.federatedCode,
    items,
  });

  const signed = await cityLookup(cascade, idNumber!);
  t.equal(signed.statusCode, 200, signed.body);
  t.equal(signed.json().data.length, 1);

  proxy.state.mode = 'strip';
  const unsigned = await cityLookup(cascade, idNumber!);
  t.equal(unsigned.statusCode, 502, unsigned.body);
  t.equal(unsigned.json().code, 'UPSTREAM_PLATFORM_SIGNATURE_INVALID');
  t.match(unsigned.json().detail, /hubei-province.*without the signature/);
  t.notOk(unsigned.json().data, 'nothing released');

  proxy.state.mode = 'tamper';
  const tampered = await cityLookup(cascade, idNumber!);
  t.equal(tampered.statusCode, 502, tampered.body);
  t.equal(tampered.json().code, 'UPSTREAM_PLATFORM_SIGNATURE_INVALID');
  t.match(tampered.json().detail, /does not verify/);

  const records = (await auditRecordsOf(
    cascade.city.context.dataRedis,
    cascade.city.config.GOVSHARE_REDIS_PREFIX,
    cascade.city.context.audit.instance,
  )) as AuditRecord[];
  for (const res of [unsigned, tampered]) {
    t.match(
      records.find((r) => r.requestId === res.headers['x-request-id']),
      { decision: 'error', reasonCode: 'UPSTREAM_PLATFORM_SIGNATURE_INVALID' },
      'the refusal is audited on the city',
    );
  }

  proxy.state.mode = 'pass';
  const again = await cityLookup(cascade, idNumber!);
  t.equal(again.statusCode, 200, again.body);
});
