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
}

export const checks: Record<Target, Checks> = {
  simulator: { inspected: 0, failures: [] },
  'bare-proxy': { inspected: 0, failures: [] },
  govshare: { inspected: 0, failures: [] },
};

export function inspector(target: Target) {
  return (status: number, body: string) => {
    const check = checks[target];
    check.inspected++;
    const fail = (why: string) => {
      if (check.failures.length < 5) check.failures.push(`${why}: ${status} ${body.slice(0, 200)}`);
    };
    if (status !== 200) return fail('status');
    const parsed = JSON.parse(body) as { rows?: Record<string, unknown>[]; data?: Record<string, unknown>[] };
    const row = (parsed.rows ?? parsed.data)?.[0];
    if (!row) return fail('no row');
    if (target !== 'govshare') return;
    if (Object.keys(row).join() !== GRANTED_ITEMS.join()) fail('not projected to the granted items');
    if (!MASKED_ID.test(String(row.idNumber))) fail('idNumber not masked');
    if (!/^.\*+$/u.test(String(row.name))) fail('name not masked');
    if (!/^1\d{2}\*{4}\d{4}$/.test(String(row.phone))) fail('phone not masked');
  };
}

export function checksSummary(): string {
  return Object.entries(checks)
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
