/**
 * Correctness while measuring: a sample of the responses of each target is held to what it must answer
 * (the gateway's rows projected to the granted items and masked), and one call is checked before any load.
 */

import { GRANTED_ITEMS } from './platform-setup.js';
import type { PresignedRequest } from './presign.js';
import type { Target } from './report.js';

export const MASKED_ID = /^\d{6}\*{8}[\dX]{4}$/;

export interface Checks {
  inspected: number;
  failures: string[];
  /** Body bytes of the inspected responses, for their mean. */
  bodyBytes: number;
}

/** By target (or any label a benchmark checks under); nginx and other labels are added when first used. */
export const checks: Record<string, Checks> = {
  simulator: { inspected: 0, failures: [], bodyBytes: 0 },
  'bare-proxy': { inspected: 0, failures: [], bodyBytes: 0 },
  govshare: { inspected: 0, failures: [], bodyBytes: 0 },
};

export interface InspectOptions {
  /** Rows every answer must hold (a batch of distinct existing keys); at least one when omitted. */
  rows?: number;
  /** Hold every row to the gateway's projection and masking (the govshare answers). */
  masked?: boolean;
}

export function inspector(target: Target, options: InspectOptions = {}) {
  return labelledInspector(target, { masked: target === 'govshare', ...options });
}

export function labelledInspector(label: string, options: InspectOptions = {}) {
  checks[label] ??= { inspected: 0, failures: [], bodyBytes: 0 };
  const check = checks[label];
  return (status: number, body: string) => {
    check.inspected++;
    check.bodyBytes += Buffer.byteLength(body);
    const fail = (why: string) => {
      if (check.failures.length < 5) check.failures.push(`${why}: ${status} ${body.slice(0, 200)}`);
    };
    if (status !== 200) return fail('status');
    const parsed = JSON.parse(body) as { rows?: Record<string, unknown>[]; data?: Record<string, unknown>[] };
    const rows = parsed.rows ?? parsed.data ?? [];
    if (rows.length === 0) return fail('no row');
    if (options.rows !== undefined && rows.length !== options.rows) {
      return fail(`${rows.length} rows, not ${options.rows}`);
    }
    if (!options.masked) return;
    for (const [i, row] of rows.entries()) {
      // autocannon decodes each socket chunk of a body on its own, so a multi-byte character split across
      // two chunks of a large answer arrives as U+FFFD here: such a row is not the gateway's to answer for.
      if (Object.values(row).some((value) => String(value).includes('\uFFFD'))) continue;
      const wrong =
        Object.keys(row).join() !== GRANTED_ITEMS.join()
          ? 'not projected to the granted items'
          : !MASKED_ID.test(String(row.idNumber))
            ? 'idNumber not masked'
            : !/^.\*+$/u.test(String(row.name))
              ? 'name not masked'
              : !/^1\d{2}\*{4}\d{4}$/.test(String(row.phone))
                ? 'phone not masked'
                : undefined;
      if (wrong) return fail(`row ${i}: ${wrong}: ${JSON.stringify(row)}`);
    }
  };
}

/** Mean body bytes of the responses inspected under a label so far. */
export function meanBodyBytes(label: string): number {
  const check = checks[label];
  return check && check.inspected > 0 ? check.bodyBytes / check.inspected : Number.NaN;
}

export function checksSummary(): string {
  return Object.entries(checks)
    .filter(([, check]) => check.inspected > 0 || check.failures.length > 0)
    .map(
      ([target, check]) =>
        `sampled responses checked (${target}): ${check.inspected}, failures ${check.failures.length}` +
        (check.failures.length ? `\n  ${check.failures.join('\n  ')}` : ''),
    )
    .join('\n');
}

/** One call through the gateway and the proxy before any load: the gateway must answer 200, masked. */
export async function sanityCheck(
  gatewayUrl: string,
  signed: PresignedRequest,
  proxyUrl: string,
  dataPath: string,
): Promise<Record<string, string>> {
  const res = await fetch(`${gatewayUrl}${signed.path}`, { headers: signed.headers });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`the gateway refused the sanity call: ${res.status} ${body}`);
  const row = (JSON.parse(body) as { data: Record<string, string>[] }).data[0]!;
  const idNumber = new URL(signed.path, gatewayUrl).searchParams.get('idNumber')!;
  const plain = (await (await fetch(`${proxyUrl}${dataPath}?idNumber=${idNumber}`)).json()) as {
    data: Record<string, string>[];
  };
  if (!MASKED_ID.test(row.idNumber ?? '') || row.name === plain.data[0]?.name) {
    throw new Error(`the gateway's answer is not masked: ${body}`);
  }
  return row;
}
