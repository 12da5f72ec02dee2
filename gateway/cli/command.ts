import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type GovshareConfig, loadConfig } from '../app/config.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  /** e.g. "cert issue" */
  name: string;
  summary: string;
  usage: string;
  run(argv: string[], io: CliIo): Promise<number>;
}

/** A usage error: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every command that touches the platform accepts; they override the GOVSHARE_* variables. */
export const CONFIG_FLAGS = {
  'redis-url': { type: 'string' },
  'redis-prefix': { type: 'string' },
  'data-dir': { type: 'string' },
  'log-level': { type: 'string' },
  'audit-store-url': { type: 'string' },
} as const satisfies Options;

export function parseFlags<T extends Options>(argv: string[], options: T) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function configFrom(
  values: Record<string, unknown>,
  io: CliIo,
  extra: Partial<Record<keyof GovshareConfig, string | number>> = {},
): GovshareConfig {
  const overrides: Partial<Record<keyof GovshareConfig, string | number>> = { ...extra };
  if (typeof values['redis-url'] === 'string') overrides.GOVSHARE_REDIS_URL = values['redis-url'];
  if (typeof values['redis-prefix'] === 'string') overrides.GOVSHARE_REDIS_PREFIX = values['redis-prefix'];
  if (typeof values['data-dir'] === 'string') overrides.GOVSHARE_DATA_DIR = values['data-dir'];
  if (typeof values['log-level'] === 'string') overrides.GOVSHARE_LOG_LEVEL = values['log-level'];
  if (typeof values['audit-store-url'] === 'string')
    overrides.GOVSHARE_AUDIT_STORE_URL = values['audit-store-url'];
  return loadConfig(io.env, overrides);
}

export function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}
