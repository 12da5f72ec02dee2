/**
 * Starts a private redis-server for tests, the demo and benchmarks: its own temporary directory, a free
 * loopback port, AOF on. Nothing here is used in production, where GOVSHARE_REDIS_URL points at an
 * operator-run Redis.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort, requireBinary } from './local-tools.js';

export interface LocalRedisOptions {
  /** Directory for the AOF and the log; a fresh temporary directory (removed on stop) when omitted. */
  dir?: string;
  /** @defaultValue 'everysec' */
  appendfsync?: 'always' | 'everysec' | 'no';
  /** @defaultValue a free loopback port */
  port?: number;
  /** Extra `--name value` arguments, e.g. `['--cluster-enabled', 'yes']`. */
  extraArgs?: string[];
}

export interface LocalRedis {
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startLocalRedis(options: LocalRedisOptions = {}): Promise<LocalRedis> {
  const binary = requireBinary('redis-server', 'redis-server');
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'govshare-redis-'));
  const port = options.port ?? (await findFreePort());
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--protected-mode',
    'yes',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    options.appendfsync ?? 'everysec',
    '--save',
    '',
    '--logfile',
    join(dir, 'redis.log'),
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(binary, args, { stdio: 'ignore' });
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  try {
    await waitForPort(port, 10_000, () => exited);
    // The port was free when chosen; another server may have taken it since, and answered the PING.
    const pid = await serverPid(port);
    if (pid !== child.pid) {
      throw new Error(`port ${port} is served by another redis-server (pid ${pid ?? 'unknown'}), not ours`);
    }
  } catch (err) {
    child.kill('SIGKILL');
    const log = logTail(join(dir, 'redis.log'));
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw new Error(`redis-server did not start on port ${port}: ${String(err)}${log ? `\n${log}` : ''}`);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    process: child,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exitPromise;
        clearTimeout(timer);
      }
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, timeoutMs: number, gaveUp: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gaveUp()) throw new Error('process exited');
    if (await pingRedis(port)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('timed out');
}

/** The last lines of a server log, or '' when there is none. */
function logTail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** The process id the server on `port` reports (INFO server), or undefined. */
function serverPid(port: number): Promise<number | undefined> {
  return ask(port, 'INFO server', 2000, (answer) => {
    const pid = /process_id:(\d+)/.exec(answer)?.[1];
    return pid === undefined ? undefined : Number(pid);
  });
}

function pingRedis(port: number): Promise<boolean> {
  // A loading dataset answers -LOADING; only +PONG means ready.
  return ask(port, 'PING', 500, (answer) =>
    answer.includes('\r\n') ? answer.startsWith('+PONG') : undefined,
  ).then((ready) => ready === true);
}

/**
 * Sends one inline command to the server on `port` and reads the answer until `read` makes something of
 * it; undefined on a refused connection or a timeout.
 */
function ask<T>(
  port: number,
  command: string,
  timeoutMs: number,
  read: (answer: string) => T | undefined,
): Promise<T | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let answer = '';
    socket.setTimeout(timeoutMs);
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      const value = read(answer);
      if (value !== undefined) {
        socket.destroy();
        resolve(value);
      }
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.on('error', () => resolve(undefined));
  });
}

/** Runs redis-cli against a local server; used by the cluster harness. */
export function redisCli(args: string[]): string {
  const cli = requireBinary('redis-cli', 'redis-tools');
  return execFileSync(cli, args, { encoding: 'utf8' });
}
