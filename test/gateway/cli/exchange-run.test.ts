import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { issueSystemCertificate } from '../../../certs/issue.js';
import { loadPlatform } from '../../../certs/platform.js';
import { nextPollDelayMs, POLL_MS } from '../../../gateway/cli/commands/exchange-run.js';
import { usePlatformDir } from '../../helpers/app.js';
import { cli } from '../../helpers/cli.js';

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

t.test('exchange run reports a refused status poll instead of reading it as a job', async (t) => {
  const dir = await usePlatformDir();
  const system = issueSystemCertificate(loadPlatform(dir), {
    deptCode: '91350100M000100Y44',
    deptName: '测试局',
    systemId: 'bulk-client',
  });
  const files = t.testdir({});
  const [key, cert, ca] = ['key.pem', 'cert.pem', 'ca.pem'].map((name) => join(files, name));
  writeFileSync(key!, system.keyPem, { mode: 0o600 });
  writeFileSync(cert!, system.certPem);
  writeFileSync(ca!, system.caPem);
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
      key!,
      '--cert',
      cert!,
      '--ca',
      ca!,
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
