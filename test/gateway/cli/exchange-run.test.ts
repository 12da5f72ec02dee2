import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { createEnvelope, EnvelopeEncryptor } from '../../../certs/envelope.js';
import { issueSystemCertificate } from '../../../certs/issue.js';
import { loadPlatform } from '../../../certs/platform.js';
import { signManifest, verifyManifest } from '../../../exchange/manifest.js';
import { partHeader } from '../../../exchange/part-plan.js';
import { clock, nextPollDelayMs, POLL_MS, rateAndEta } from '../../../gateway/cli/commands/exchange-run.js';
import { usePlatformDir } from '../../helpers/app.js';
import { cli } from '../../helpers/cli.js';

t.test('the progress line: rate and time left of rows read and bytes downloaded', async (t) => {
  t.equal(clock(0), '0:00');
  t.equal(clock(62.4), '1:02');
  t.equal(clock(3 * 3600 + 5), '3:00:05');
  t.equal(rateAndEta(0, 50_000, 200_000, 2, 'rows'), '25,000 rows/s  ETA 0:06');
  t.equal(rateAndEta(10_000, 10_000, 200_000, 2, 'rows'), '', 'nothing until it moved');
  t.equal(rateAndEta(0, 0, undefined, 0, 'rows'), '');
  t.equal(rateAndEta(0, 1000, undefined, 4, 'rows'), '250 rows/s', 'no total: no ETA');
  t.equal(
    rateAndEta(2e6, 14.5e6, 39.5e6, 5, 'MB'),
    '2.5 MB/s  ETA 0:10',
    'a resumed download counts from where it resumed',
  );
});

t.test('status polls slow down to one every 5 s and start over when the job changes state', async (t) => {
  const waits: number[] = [];
  let delay: number = POLL_MS.first;
  for (let i = 0; i < 8; i++) {
    delay = nextPollDelayMs(delay, false);
    waits.push(delay);
  }
  t.same(waits, [750, 1125, 1688, 2532, 3798, 5000, 5000, 5000]);
  t.equal(nextPollDelayMs(5000, true), POLL_MS.first);
});

/**
 * A stand-in for the gateway's exchange routes: the CLI's handling of what the gateway answers is under
 * test here (the routes have their own tests), so signatures are not checked.
 */
async function fakeGateway(t: Test, answers: ((req: IncomingMessage, res: ServerResponse) => void)[]) {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => (answers.shift() ?? problem(500, 'INTERNAL', 'no answer left'))(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
}

function problem(status: number, code: string, detail: string, headers: Record<string, string> = {}) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/problem+json', ...headers });
    res.end(JSON.stringify({ type: 'about:blank', title: code, status, code, detail }));
  };
}

/** A system of the test platform with its key.pem, cert.pem and ca.pem in a test directory. */
async function bulkClient(t: Test) {
  const platform = loadPlatform(await usePlatformDir());
  const system = await issueSystemCertificate(platform, {
    deptCode: '91350100M000100Y44',
    deptName: '测试局',
    systemId: 'bulk-client',
  });
  const files = t.testdir({});
  const [key, cert, ca] = ['key.pem', 'cert.pem', 'ca.pem'].map((name) => join(files, name)) as [
    string,
    string,
    string,
  ];
  writeFileSync(key, system.keyPem, { mode: 0o600 });
  writeFileSync(cert, system.certPem);
  writeFileSync(ca, system.caPem);
  return { platform, system, key, cert, ca, files };
}

t.test('exchange run reports a refused status poll instead of reading it as a job', async (t) => {
  const { key, cert, ca, files } = await bulkClient(t);
  const queued = { id: 'job-1', state: 'queued', progress: { rows: 0 } };
  const gateway = await fakeGateway(t, [
    json(202, queued),
    problem(503, 'SERVICE_UNAVAILABLE', 'audit store unavailable', { 'retry-after': '1' }),
    json(200, queued),
    problem(404, 'JOB_NOT_FOUND', 'no job job-1 for this system'),
  ]);
  const run = await cli(
    [
      'exchange',
      'run',
      gateway.url,
      '--key',
      key,
      '--cert',
      cert,
      '--ca',
      ca,
      '--purpose',
      'test',
      '--resource',
      'R1',
      '--out',
      join(files, 'out.jsonl'),
    ],
    {},
  );
  t.equal(run.code, 1);
  t.same(gateway.seen, [
    'POST /v1/exchange/jobs',
    'GET /v1/exchange/jobs/job-1',
    'GET /v1/exchange/jobs/job-1',
    'GET /v1/exchange/jobs/job-1',
  ]);
  t.match(
    run.err.join('\n'),
    /status poll answered 503 SERVICE_UNAVAILABLE audit store unavailable; retrying in 1 s/,
  );
  t.match(
    run.err.join('\n'),
    /job job-1: status poll answered 404 JOB_NOT_FOUND no job job-1 for this system$/,
  );
});

/** A finished job as the gateway shows it: `rows` jsonl rows encrypted for `system`, its manifest signed. */
async function finishedJob(
  platform: ReturnType<typeof loadPlatform>,
  system: Awaited<ReturnType<typeof issueSystemCertificate>>,
  id: string,
  rows: number,
) {
  const plain = Buffer.from(Array.from({ length: rows }, (_, i) => `{"n":${i}}\n`).join(''));
  const gz = gzipSync(plain);
  const envelope = createEnvelope({ certPem: system.certPem, serial: system.serial });
  const encryptor = new EnvelopeEncryptor(envelope.dataKey, envelope.headerBytes);
  const bytes = Buffer.concat([envelope.headerBytes, ...encryptor.write(gz), ...encryptor.endSegment(true)]);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const manifest = await signManifest(
    {
      version: 1,
      jobId: id,
      resource: '101001/000001',
      resourceVersion: 1,
      grantId: 'g-1',
      consumer: { deptCode: '91350100M000100Y44', systemId: 'bulk-client', certSerial: system.serial },
      items: ['n'],
      kind: 'full',
      format: 'jsonl',
      rows,
      file: { name: 'data.jsonl.gz.enc', bytes: bytes.length, sha256: sha(bytes), plaintextSha256: sha(gz) },
      encryption: { scheme: 'govshare-envelope-v1', recipientSerial: system.serial },
      createdAt: new Date().toISOString(),
    },
    platform,
  );
  const view = { id, state: 'completed', progress: { rows, percent: 100 }, manifest };
  const file = (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(bytes);
  };
  return { view, file, bytes };
}

t.test('exchange run twice into the same file: each run downloads its own job', async (t) => {
  const { platform, system, key, cert, files } = await bulkClient(t);
  const out = join(files, 'out.jsonl');
  const platformCert = (_req: IncomingMessage, res: ServerResponse) => res.end(platform.signingCertPem);
  // Two jobs of the same size: the file left by the first must not pass for a partial of the second.
  const first = await finishedJob(platform, system, `x${'1'.repeat(32)}`, 50);
  const second = await finishedJob(platform, system, `x${'2'.repeat(32)}`, 50);
  t.equal(first.bytes.length, second.bytes.length);
  const args = (url: string) => [
    'exchange',
    'run',
    url,
    '--key',
    key,
    '--cert',
    cert,
    '--purpose',
    'test',
    '--resource',
    '101001/000001',
    '--out',
    out,
  ];
  for (const job of [first, second]) {
    const gateway = await fakeGateway(t, [json(202, job.view), job.file, platformCert]);
    const run = await cli(args(gateway.url), {});
    t.equal(run.code, 0, run.err.join('\n'));
    t.same(gateway.seen, [
      'POST /v1/exchange/jobs',
      `GET /v1/exchange/jobs/${job.view.id}/file`,
      'GET /v1/ca/platform-cert',
    ]);
    t.equal(readFileSync(out, 'utf8').split('\n').length, 51, '50 rows');
    t.notOk(existsSync(`${out}.enc`), 'the encrypted copy is removed once decrypted');
    t.match(run.err.join('\n'), /download +\[#{20}\] 100% +50 rows/, 'the download line');
  }
});

t.test('exchange run --job resumes a cut download of that job with Range', async (t) => {
  const { platform, system, key, cert, files } = await bulkClient(t);
  const out = join(files, 'out.jsonl');
  const job = await finishedJob(platform, system, `x${'3'.repeat(32)}`, 200);
  // What a cut first run left: the first 100 bytes of this job's file, marked as this job's.
  writeFileSync(`${out}.enc`, job.bytes.subarray(0, 100));
  writeFileSync(`${out}.enc.job`, `${job.view.id}\n`);
  let range: string | undefined;
  const tail = (req: IncomingMessage, res: ServerResponse) => {
    range = req.headers.range;
    res.writeHead(206, { 'content-range': `bytes 100-${job.bytes.length - 1}/${job.bytes.length}` });
    res.end(job.bytes.subarray(100));
  };
  const platformCert = (_req: IncomingMessage, res: ServerResponse) => res.end(platform.signingCertPem);
  const gateway = await fakeGateway(t, [json(200, job.view), tail, platformCert]);
  const run = await cli(
    ['exchange', 'run', gateway.url, '--key', key, '--cert', cert, '--purpose', 'test'].concat([
      '--job',
      job.view.id,
      '--out',
      out,
    ]),
    {},
  );
  t.equal(run.code, 0, run.err.join('\n'));
  t.equal(gateway.seen[0], `GET /v1/exchange/jobs/${job.view.id}`, 'no new job is submitted');
  t.equal(range, 'bytes=100-');
  t.match(run.err.join('\n'), /resumed the download at byte 100/);
  t.equal(readFileSync(out, 'utf8').split('\n').length, 201, '200 rows');
  const bad = await cli(
    [
      'exchange',
      'run',
      gateway.url,
      '--key',
      key,
      '--cert',
      cert,
      '--purpose',
      'p',
      '--job',
      'nope',
      '--out',
      out,
    ],
    {},
  );
  t.equal(bad.code, 2, 'a job id of another shape is a usage error');
});

t.test('exchange run without --user-id: the refusal says to pass one', async (t) => {
  const { key, cert, ca, files } = await bulkClient(t);
  const gateway = await fakeGateway(t, [
    problem(
      400,
      'USER_ID_REQUIRED',
      'name the official acting through the system in a signed x-user-id header',
    ),
  ]);
  const args = [
    'exchange',
    'run',
    gateway.url,
    '--key',
    key,
    '--cert',
    cert,
    '--ca',
    ca,
    '--purpose',
    'test',
  ];
  const run = await cli([...args, '--resource', 'R1', '--out', join(files, 'out.jsonl')], {});
  t.equal(run.code, 1);
  t.same(gateway.seen, ['POST /v1/exchange/jobs']);
  t.match(run.out.join('\n'), /"code":"USER_ID_REQUIRED"/);
  t.match(run.err.join('\n'), /pass --user-id with the official acting through this system/);
});

/** A finished job in `count` parts of `rows` jsonl rows each, as the gateway shows it. */
async function finishedJobInParts(
  platform: ReturnType<typeof loadPlatform>,
  system: Awaited<ReturnType<typeof issueSystemCertificate>>,
  id: string,
  count: number,
  rows: number,
) {
  const envelope = createEnvelope({ certPem: system.certPem, serial: system.serial });
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const files = Array.from({ length: count }, (_, index) => {
    const plain = Buffer.from(Array.from({ length: rows }, (_, i) => `{"n":${index * rows + i}}\n`).join(''));
    const gz = gzipSync(plain);
    const header = partHeader(envelope.headerBytes, index);
    const encryptor = new EnvelopeEncryptor(envelope.dataKey, header);
    const bytes = Buffer.concat([header, ...encryptor.write(gz), ...encryptor.endSegment(true)]);
    return { bytes, gz };
  });
  const manifest = await signManifest(
    {
      version: 2,
      jobId: id,
      resource: '101001/000001',
      resourceVersion: 1,
      grantId: 'g-1',
      consumer: { deptCode: '91350100M000100Y44', systemId: 'bulk-client', certSerial: system.serial },
      items: ['n'],
      kind: 'full',
      format: 'jsonl',
      rows: count * rows,
      parts: files.map((f, index) => ({
        index,
        name: `part-${String(index).padStart(5, '0')}.jsonl.gz.enc`,
        bytes: f.bytes.length,
        sha256: sha(f.bytes),
        plaintextSha256: sha(f.gz),
        rows,
        firstRow: index * rows,
      })),
      encryption: { scheme: 'govshare-envelope-v1', recipientSerial: system.serial },
      createdAt: new Date().toISOString(),
    },
    platform,
  );
  const view = { id, state: 'completed', progress: { rows: count * rows, percent: 100 }, manifest };
  return { view, files, manifest };
}

t.test('exchange run fetches every part of a job in parts, resumes a cut part, and joins them', async (t) => {
  const { platform, system, key, cert, files } = await bulkClient(t);
  const out = join(files, 'out.jsonl');
  const job = await finishedJobInParts(platform, system, `x${'4'.repeat(32)}`, 3, 100);
  t.ok(verifyManifest(job.manifest, platform.signingCertPem).ok);
  // A cut earlier run: part 0 whole, part 1 cut after 70 bytes.
  writeFileSync(`${out}.enc.part-0`, job.files[0]!.bytes);
  writeFileSync(`${out}.enc.part-1`, job.files[1]!.bytes.subarray(0, 70));
  writeFileSync(`${out}.enc.job`, `${job.view.id}\n`);
  let range: string | undefined;
  const part1 = (req: IncomingMessage, res: ServerResponse) => {
    range = req.headers.range;
    const whole = job.files[1]!.bytes;
    res.writeHead(206, { 'content-range': `bytes 70-${whole.length - 1}/${whole.length}` });
    res.end(whole.subarray(70));
  };
  const part2 = (_req: IncomingMessage, res: ServerResponse) => res.end(job.files[2]!.bytes);
  const platformCert = (_req: IncomingMessage, res: ServerResponse) => res.end(platform.signingCertPem);
  const gateway = await fakeGateway(t, [json(200, job.view), part1, part2, platformCert]);
  const run = await cli(
    ['exchange', 'run', gateway.url, '--key', key, '--cert', cert, '--purpose', 'test'].concat([
      '--job',
      job.view.id,
      '--out',
      out,
    ]),
    {},
  );
  t.equal(run.code, 0, run.err.join('\n'));
  t.same(gateway.seen, [
    `GET /v1/exchange/jobs/${job.view.id}`,
    `GET /v1/exchange/jobs/${job.view.id}/parts/1/file`,
    `GET /v1/exchange/jobs/${job.view.id}/parts/2/file`,
    'GET /v1/ca/platform-cert',
  ]);
  t.equal(range, 'bytes=70-');
  t.match(run.err.join('\n'), /resumed the part 2\/3 at byte 70/);
  const lines = readFileSync(out, 'utf8').split('\n');
  t.equal(lines.length, 301, '300 rows');
  t.same(
    lines.slice(0, 300).map((l) => (JSON.parse(l) as { n: number }).n),
    Array.from({ length: 300 }, (_, i) => i),
    'in order',
  );
  for (let i = 0; i < 3; i++) t.notOk(existsSync(`${out}.enc.part-${i}`), `part ${i} removed once joined`);

  // A part that does not match its digest is refused (swapped parts: each is sealed for its own place).
  const swapped = await fakeGateway(t, [json(200, job.view), (_req, res) => res.end(job.files[1]!.bytes)]);
  const bad = await cli(
    ['exchange', 'run', swapped.url, '--key', key, '--cert', cert, '--purpose', 'test'].concat([
      '--job',
      job.view.id,
      '--out',
      join(files, 'other.jsonl'),
    ]),
    {},
  );
  t.equal(bad.code, 1);
  t.match(bad.err.join('\n'), /the downloaded part 1\/3 does not match the manifest's SHA-256/);
});

t.test('a manifest lists one file or its parts, as its version says, the parts in order', async (t) => {
  const { platform, system } = await bulkClient(t);
  const job = await finishedJobInParts(platform, system, `x${'5'.repeat(32)}`, 2, 10);
  const { manifest } = job.manifest;
  const resign = (m: object) => signManifest(m as typeof manifest, platform);
  t.ok(verifyManifest(await resign(manifest), platform.signingCertPem).ok);
  t.match(verifyManifest(await resign({ ...manifest, version: 1 }), platform.signingCertPem), { ok: false });
  t.match(
    verifyManifest(
      await resign({
        ...manifest,
        file: { name: 'x', bytes: 1, sha256: 'a'.repeat(64), plaintextSha256: 'a'.repeat(64) },
      }),
      platform.signingCertPem,
    ),
    { ok: false },
  );
  t.match(
    verifyManifest(
      await resign({ ...manifest, parts: [...manifest.parts!].reverse() }),
      platform.signingCertPem,
    ),
    { ok: false, reason: 'the parts are not listed in order' },
  );
  const { parts: _p, ...noParts } = manifest;
  t.match(verifyManifest(await resign({ ...noParts, version: 2 }), platform.signingCertPem), { ok: false });
});
