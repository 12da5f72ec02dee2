/**
 * The processes under test run as children, each with its own event loop, so that the load generator in
 * the parent never competes with them inside one loop (they still share the machine's cores).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';

export interface Child {
  name: string;
  pid: number;
  /** The URL the child printed when it started listening. */
  url: string;
  /** Resident set size in KiB, read from /proc (0 once the process is gone). */
  rssKiB(): number;
  /** CPU time (user + system, all threads) used so far, in ms. */
  cpuMs(): number;
  /** The last lines it wrote (stdout and stderr), for error reports. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface ChildOptions {
  name: string;
  script: string;
  args: string[];
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
  env?: Record<string, string>;
  /** Also append everything the child writes to this file (e.g. with --trace-gc). */
  logFile?: string;
  /** The first capture group is the URL the child listens on. */
  ready: RegExp;
  timeoutMs?: number;
}

/** The parent's environment without GOVSHARE_* settings, which belong to this run only. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('GOVSHARE_')) env[name] = value;
  }
  return { ...env, ...extra };
}

export async function startChild(options: ChildOptions): Promise<Child> {
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), options.script, ...options.args], {
    env: cleanEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${options.name} did not start within ${options.timeoutMs ?? 20_000} ms`)),
      options.timeoutMs ?? 20_000,
    );
    const onData = (chunk: Buffer) => {
      if (options.logFile) appendFileSync(options.logFile, chunk);
      tail = (tail + chunk.toString()).slice(-8000);
      const match = options.ready.exec(tail);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    // Keep draining both pipes for the child's whole life: a full pipe would block its writes.
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited (${code ?? signal}) before it was ready:\n${tail}`));
    });
  }).catch(async (err: Error) => {
    child.kill('SIGKILL');
    await exit;
    throw err;
  });
  return {
    name: options.name,
    pid: child.pid!,
    url,
    rssKiB: () => (exited ? 0 : readRssKiB(child.pid!)),
    cpuMs: () => readCpuMs(child.pid!),
    output: () => tail,
    stop: (graceMs = 10_000) => stopProcess(child, exit, () => exited, graceMs),
  };
}

async function stopProcess(
  child: ChildProcess,
  exit: Promise<void>,
  exited: () => boolean,
  graceMs: number,
): Promise<void> {
  if (exited()) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exit;
  clearTimeout(timer);
}

export function readRssKiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process from /proc/<pid>/stat, in ms (NaN once it is gone). */
export function readCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
  } catch {
    return Number.NaN;
  }
}

/**
 * Read- and write-type system calls a process has made so far (/proc/<pid>/io `syscr`, `syscw`; NaN once
 * it is gone or unreadable). On loopback every socket write also runs the receiver's TCP path, so a
 * write is one of the dearest things a proxy does.
 */
export function readSyscalls(pid: number): { reads: number; writes: number } {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(io)?.[1] ?? Number.NaN);
    return { reads: field('syscr'), writes: field('syscw') };
  } catch {
    return { reads: Number.NaN, writes: Number.NaN };
  }
}

/** Samples a child's RSS every `everyMs` until stopped; returns the peak. */
export function sampleRss(child: Child, everyMs = 100): { stop(): number } {
  let peak = child.rssKiB();
  const timer = setInterval(() => {
    peak = Math.max(peak, child.rssKiB());
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, child.rssKiB());
    },
  };
}
