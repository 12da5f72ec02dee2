/**
 * Where a job's file lives: `<exchangeDir>/<jobId>/data.<format>.gz.enc`. Paths are built only from a
 * job id that matches JOB_ID_PATTERN and a format from the closed list, so no request can name a path
 * outside the exchange directory.
 */
import { randomBytes } from 'node:crypto';
import { isAbsolute, join, relative, sep } from 'node:path';
import { exchangeErrors } from './errors.js';
import { type ExchangeFormat, JOB_ID_PATTERN, SUBSCRIPTION_ID_PATTERN } from './schema.js';

const JOB_ID = new RegExp(JOB_ID_PATTERN);
const SUBSCRIPTION_ID = new RegExp(SUBSCRIPTION_ID_PATTERN);
const FORMATS: readonly ExchangeFormat[] = ['jsonl', 'csv'];

export function newJobId(): string {
  return `x${randomBytes(16).toString('hex')}`;
}

export function newSubscriptionId(): string {
  return `s${randomBytes(16).toString('hex')}`;
}

export function isJobId(id: unknown): id is string {
  return typeof id === 'string' && JOB_ID.test(id);
}

export function isSubscriptionId(id: unknown): id is string {
  return typeof id === 'string' && SUBSCRIPTION_ID.test(id);
}

/** Throws EXCHANGE_JOB_NOT_FOUND for anything that is not a job id (callers never learn more). */
export function assertJobId(id: unknown): asserts id is string {
  if (!isJobId(id)) throw new exchangeErrors.EXCHANGE_JOB_NOT_FOUND('no such exchange job');
}

export function fileName(format: ExchangeFormat): string {
  if (!FORMATS.includes(format))
    throw new exchangeErrors.EXCHANGE_REQUEST_INVALID(`format ${String(format)}`);
  return `data.${format}.gz.enc`;
}

export function jobDir(exchangeDir: string, id: string): string {
  assertJobId(id);
  if (!isAbsolute(exchangeDir)) throw new TypeError('the exchange directory must be an absolute path');
  const dir = join(exchangeDir, id);
  const rel = relative(exchangeDir, dir);
  if (rel !== id || rel.includes(sep))
    throw new exchangeErrors.EXCHANGE_JOB_NOT_FOUND('no such exchange job');
  return dir;
}

/** The file path relative to the exchange directory (what the job record shows). */
export function relativeFilePath(id: string, format: ExchangeFormat): string {
  assertJobId(id);
  return `${id}/${fileName(format)}`;
}

export function jobFilePath(exchangeDir: string, id: string, format: ExchangeFormat): string {
  return join(jobDir(exchangeDir, id), fileName(format));
}

/** Most parts a job is cut into (parts.ts). */
export const MAX_PARTS = 10_000;

/** The file name of part `index` of a job cut into parts: `part-00000.<format>.gz.enc`. */
export function partFileName(format: ExchangeFormat, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_PARTS)
    throw new exchangeErrors.EXCHANGE_JOB_NOT_FOUND('no such part');
  return `part-${String(index).padStart(5, '0')}.${fileName(format).slice('data.'.length)}`;
}

export function partFilePath(exchangeDir: string, id: string, format: ExchangeFormat, index: number): string {
  return join(jobDir(exchangeDir, id), partFileName(format, index));
}
