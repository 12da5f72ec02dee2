import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { type InitPlatformOptions, initPlatform, loadPlatform, type Platform } from '../../certs/platform.js';

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(t: Test, label = 'certs'): string {
  const dir = mkdtempSync(join(tmpdir(), `govshare-${label}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An initialised platform in a temporary directory (RSA-3072 key generation: make one per test file). */
export async function makePlatform(
  t: Test,
  options: InitPlatformOptions = {},
): Promise<{ dataDir: string; platform: Platform }> {
  const dataDir = join(tempDir(t, 'platform'), 'data');
  await initPlatform(dataDir, options);
  return { dataDir, platform: loadPlatform(dataDir) };
}

export interface OpensslResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real openssl binary. */
export function openssl(args: string[], cwd?: string): OpensslResult {
  const result = spawnSync('/usr/bin/openssl', args, { cwd, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
