import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { type InclusionProofBundle, verifyInclusionBundle } from '../../../audit/proof.js';
import { AuditShipper } from '../../../audit/shipper.js';
import { migrate } from '../../../audit/store/migrations.js';
import { platformFiles } from '../../../certs/platform.js';
import { makeRecord } from '../../audit/fixtures.js';
import { buildTestApp, type TestApp } from '../../helpers/app.js';
import { cli } from '../../helpers/cli.js';
import { usePostgres } from '../../helpers/postgres.js';
import { makeTsaCertificates, startTestTsa } from '../../helpers/tsa-server.js';

const DEPT_A = '11420100MB1234567X';
const DEPT_B = '11420100MB7654321Y';
const auditor = { sub: 'au', role: 'auditor' } as const;

function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'govshare-proof-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Appends records of requests r-0 … r-(n-1), alternately of departments A and B. */
async function appendRequests(testApp: TestApp, n: number): Promise<void> {
  const { audit } = testApp.context;
  for (let i = 0; i < n; i++) {
    await audit.append(
      makeRecord(audit.instance, {
        requestId: `r-${i}`,
        actor: { deptCode: i % 2 ? DEPT_B : DEPT_A, systemId: 's' },
      }),
    );
  }
}

async function getProof(testApp: TestApp, requestId: string, person: Record<string, string> = auditor) {
  return testApp.app.inject({
    method: 'GET',
    url: `/v1/audit/${encodeURIComponent(requestId)}/proof`,
    headers: testApp.auth(person as never),
  });
}

const caFile = (testApp: TestApp) => join(testApp.config.GOVSHARE_DATA_DIR, platformFiles.caCert);

t.test('a proof from the route verifies offline with only the platform CA; forgeries do not', async (t) => {
  const testApp = await buildTestApp(t);
  await appendRequests(testApp, 7);
  const pending = await getProof(testApp, 'r-3');
  t.equal(pending.statusCode, 409);
  t.equal(pending.json().code, 'AUDIT_PROOF_PENDING');
  await testApp.context.audit.checkpoint();

  const res = await getProof(testApp, 'r-3');
  t.equal(res.statusCode, 200, res.body);
  const bundle = res.json() as InclusionProofBundle;
  t.match(bundle, { instance: testApp.context.audit.instance, seq: 4, leafIndex: 3, treeSize: 8 });
  // The 8th record is the refused (409) request's own.
  t.equal(bundle.proof.length, 3, 'log2 of 8');
  t.match(JSON.parse(bundle.record), { requestId: 'r-3' });
  t.notOk(bundle.checkpoint.tst);

  const dir = scratch(t);
  const file = join(dir, 'proof.json');
  writeFileSync(file, res.body);
  const ok = await cli(['audit', 'verify-proof', file, '--ca', caFile(testApp)], {});
  t.equal(ok.code, 0, ok.out.concat(ok.err).join('\n'));
  t.match(ok.out.join('\n'), /record: seq 4 of instance .*request r-3/);
  t.match(ok.out.join('\n'), /timestamp: none, the checkpoint is signed only/);
  t.match(ok.out.at(-1), /^OK/);

  const caPem = readFileSync(caFile(testApp), 'utf8');
  const forged = (change: (b: InclusionProofBundle) => void) => {
    const copy = structuredClone(bundle);
    change(copy);
    return copy;
  };
  const flipHex = (hex: string) => (hex[0] === '0' ? '1' : '0') + hex.slice(1);
  const cases: [string, InclusionProofBundle, RegExp][] = [
    [
      'a changed record byte',
      forged((b) => {
        b.record = b.record.replace('"rowCount":1', '"rowCount":2');
      }),
      /does not lead from the record/,
    ],
    [
      'a changed proof hash',
      forged((b) => {
        b.proof[1] = flipHex(b.proof[1]!);
      }),
      /does not lead from the record/,
    ],
    [
      'another leaf index',
      forged((b) => {
        b.leafIndex = 2;
      }),
      /leafIndex or treeSize/,
    ],
    [
      'an edited checkpoint',
      forged((b) => {
        b.checkpoint.payload = b.checkpoint.payload.replace(/"seq":\d+/, '"seq":99');
      }),
      /signature does not verify/,
    ],
    [
      'a malformed file',
      forged((b) => {
        (b as { proof: unknown }).proof = 'x';
      }),
      /proof file \/proof/,
    ],
  ];
  for (const [what, bundleCase, message] of cases) {
    await t.rejects(
      verifyInclusionBundle(bundleCase, { caPem }),
      { code: 'AUDIT_PROOF_INVALID', message },
      what,
    );
  }
  const otherCa = readFileSync(makeTsaCertificates(dir, 'other').caFile, 'utf8');
  await t.rejects(verifyInclusionBundle(bundle, { caPem: otherCa }), {
    code: 'AUDIT_PROOF_INVALID',
    message: /not the platform signing certificate issued by this CA/,
  });

  writeFileSync(file, JSON.stringify(cases[0]![1]));
  const refused = await cli(['audit', 'verify-proof', file, '--ca', caFile(testApp)], {});
  t.equal(refused.code, 3);
  t.match(refused.out.join('\n'), /FAILED: AUDIT_PROOF_INVALID: the inclusion proof does not lead/);
  const usage = await cli(['audit', 'verify-proof', '--ca', caFile(testApp)], {});
  t.equal(usage.code, 2, 'no FILE is a usage error');
});

t.test('who may ask, and for what', async (t) => {
  const testApp = await buildTestApp(t);
  await appendRequests(testApp, 4);
  await testApp.context.audit.checkpoint();
  const adminA = { sub: 'a', role: 'dept-admin', dept: DEPT_A };
  const adminB = { sub: 'b', role: 'dept-admin', dept: DEPT_B };
  t.equal((await getProof(testApp, 'r-0', adminA)).statusCode, 200, "A's admin: A's request");
  const foreign = await getProof(testApp, 'r-0', adminB);
  t.equal(foreign.statusCode, 403);
  t.equal(foreign.json().code, 'DEPARTMENT_FORBIDDEN');
  const bureau = await getProof(testApp, 'r-0', { sub: 'x', role: 'bureau' });
  t.equal(bureau.json().code, 'ROLE_FORBIDDEN');
  const unknown = await getProof(testApp, 'no-such-request');
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().code, 'AUDIT_RECORD_UNKNOWN');
  const badSeq = await testApp.app.inject({
    method: 'GET',
    url: '/v1/audit/r-0/proof?seq=abc',
    headers: testApp.auth(auditor),
  });
  t.equal(badSeq.statusCode, 400);
  const otherSeq = await testApp.app.inject({
    method: 'GET',
    url: '/v1/audit/r-0/proof?seq=3',
    headers: testApp.auth(auditor),
  });
  t.equal(otherSeq.json().code, 'AUDIT_RECORD_UNKNOWN', 'r-0 has no record at seq 3');
});

t.test('with a TSA the proof carries the timestamp, checked offline with the TSA CA', async (t) => {
  const tsa = await startTestTsa(t);
  const testApp = await buildTestApp(t, {
    env: { GOVSHARE_AUDIT_TSA_URL: tsa.url, GOVSHARE_AUDIT_TSA_CA: tsa.caFile },
  });
  await appendRequests(testApp, 3);
  await testApp.context.audit.checkpoint();
  const res = await getProof(testApp, 'r-1');
  t.equal(res.statusCode, 200);
  t.ok(res.json().checkpoint.tst, 'the token is in the proof');
  const file = join(scratch(t), 'proof.json');
  writeFileSync(file, res.body);
  const checked = await cli(
    ['audit', 'verify-proof', file, '--ca', caFile(testApp), '--tsa-ca', tsa.caFile],
    {},
  );
  t.equal(checked.code, 0, checked.out.join('\n'));
  t.match(
    checked.out.join('\n'),
    /timestamp: RFC 3161 token verified, genTime \d{4}-.*TSA .*CN=tsa test TSA/,
  );
  const unchecked = await cli(['audit', 'verify-proof', file, '--ca', caFile(testApp)], {});
  t.match(unchecked.out.join('\n'), /token is present but unchecked \(give --tsa-ca\)/);
  const other = makeTsaCertificates(scratch(t), 'other').caFile;
  const wrongTsa = await cli(['audit', 'verify-proof', file, '--ca', caFile(testApp), '--tsa-ca', other], {});
  t.equal(wrongTsa.code, 3);
  t.match(wrongTsa.out.join('\n'), /FAILED: AUDIT_TIMESTAMP_INVALID/);
});

t.test('proofs still work once the stream is shipped to PostgreSQL and trimmed', async (t) => {
  const db = await usePostgres(t);
  const testApp = await buildTestApp(t, { env: { GOVSHARE_AUDIT_STORE_URL: db.url } });
  const store = testApp.context.auditStore!;
  await migrate(store.pool);
  await appendRequests(testApp, 12);
  await testApp.context.audit.checkpoint();
  const shipper = new AuditShipper(testApp.context.dataRedis, testApp.config.GOVSHARE_REDIS_PREFIX, store);
  await shipper.shipAll();
  const stream = `${testApp.config.GOVSHARE_REDIS_PREFIX}{audit:${testApp.context.audit.instance}}:stream`;
  await testApp.context.dataRedis.xtrim(stream, 'MAXLEN', 1);
  const res = await getProof(testApp, 'r-5');
  t.equal(res.statusCode, 200, res.body);
  const verified = await verifyInclusionBundle(res.json(), { caPem: readFileSync(caFile(testApp), 'utf8') });
  t.match(verified, { seq: 6, record: { requestId: 'r-5' }, timestamp: { status: 'absent' } });
});
