/**
 * govshare as separate processes for multi-process tests: `govshare serve` and `govshare worker` run from
 * the compiled CLI next to the compiled tests (dist/ in CI, .build/<name>/ while developing), and signed
 * calls go to them over real HTTP. Every process is stopped with the test that started it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Test } from 'tap';
import { request } from 'undici';
import { findFreePort } from '../../scripts/lib/local-tools.js';
import { type SignedCall, type SystemIdentity, signedHeaders } from './world.js';

/** The compiled `govshare` CLI entry point. */
export const CLI_SCRIPT = new URL('../../gateway/cli/bin.js', import.meta.url).pathname;

export interface GovshareProcess {
  name: string;
  child: ChildProcess;
  /** The last lines the process wrote (stdout and stderr), for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface GatewayProcess extends GovshareProcess {
  origin: string;
}

function spawnCli(t: Test, name: string, args: string[], env: Record<string, string>): GovshareProcess {
  const child = spawn(process.execPath, [CLI_SCRIPT, ...args], {
    env: { PATH: process.env.PATH ?? '', GOVSHARE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  // Drain both pipes for the child's whole life: a full pipe would block its writes.
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const stop = async (graceMs = 3000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
  };
  t.teardown(() => stop());
  return { name, child, output: () => tail, stop };
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** `govshare serve` on a free loopback port with the given GOVSHARE_* environment; resolves once /ready says 200. */
export async function startGatewayProcess(
  t: Test,
  name: string,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<GatewayProcess> {
  const port = await findFreePort();
  const proc = spawnCli(t, name, ['serve', '--host', '127.0.0.1', '--port', String(port)], env);
  const origin = `http://127.0.0.1:${port}`;
  const ready = await waitFor(
    async () => {
      if (hasExited(proc.child)) throw new Error(`${name} exited before it was ready:\n${proc.output()}`);
      return request(`${origin}/ready`).then(
        async (r) => {
          await r.body.text();
          return r.statusCode;
        },
        () => 0,
      );
    },
    (status) => status === 200,
    { timeoutMs, intervalMs: 50 },
  );
  if (ready !== 200) throw new Error(`${name} was not ready within ${timeoutMs} ms:\n${proc.output()}`);
  return { ...proc, origin };
}

/** `govshare worker` with the given GOVSHARE_* environment; resolves once it says it is running. */
export async function startWorkerProcess(
  t: Test,
  name: string,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<GovshareProcess> {
  const proc = spawnCli(t, name, ['worker'], env);
  const running = await waitFor(
    async () => {
      if (hasExited(proc.child)) throw new Error(`${name} exited before it was running:\n${proc.output()}`);
      return proc.output().includes('govshare worker running');
    },
    (yes) => yes,
    { timeoutMs, intervalMs: 50 },
  );
  if (!running) throw new Error(`${name} did not start within ${timeoutMs} ms:\n${proc.output()}`);
  return proc;
}

export interface HttpAnswer {
  status: number;
  /** The gateway's x-request-id: the request id of the call's audit record. */
  requestId: string;
  body: Buffer;
  /** The body as JSON (throws when it is not). */
  json(): Record<string, unknown>;
}

/** A call to a gateway over HTTP, signed by `system` for the URL it really goes to. */
export async function signedRequest(
  origin: string,
  system: SystemIdentity,
  call: SignedCall,
): Promise<HttpAnswer> {
  const url = `${origin}${call.path}`;
  const headers = signedHeaders(system, { ...call, sign: { url, ...call.sign } });
  return send(url, call.method, headers, call.body === undefined ? undefined : JSON.stringify(call.body));
}

/** A call to a gateway over HTTP as a person (a bearer token). */
export async function personRequest(
  origin: string,
  authorization: { authorization: string },
  call: { method: 'GET' | 'POST'; path: string; body?: unknown },
): Promise<HttpAnswer> {
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);
  return send(
    `${origin}${call.path}`,
    call.method,
    {
      ...authorization,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body,
  );
}

async function send(
  url: string,
  method: 'GET' | 'POST' | 'HEAD',
  headers: Record<string, string>,
  body: string | undefined,
): Promise<HttpAnswer> {
  const res = await request(url, { method, headers, ...(body === undefined ? {} : { body }) });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  return {
    status: res.statusCode,
    requestId: String(res.headers['x-request-id'] ?? ''),
    body: bytes,
    json: () => JSON.parse(bytes.toString('utf8')) as Record<string, unknown>,
  };
}

/**
 * Calls `probe` every `intervalMs` until `done` accepts its value or `timeoutMs` has passed; returns the
 * last value either way (the caller asserts on it). Polling, not sleeping, keeps tests fast when the
 * machine is idle and patient when it is loaded.
 */
export async function waitFor<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs, intervalMs = 50 }: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() >= deadline) return value;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
