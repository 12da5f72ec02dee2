/**
 * The RFC 3161 time-stamping authority of the audit checkpoints, from the configuration: the client the
 * audit writer sends each checkpoint to, and the trust anchor `audit verify` checks the tokens against.
 */
import { readFileSync } from 'node:fs';
import { TsaClient } from '../../audit/tsa.js';
import { ConfigError, type GovshareConfig } from './config.js';

/** PEM of GOVSHARE_AUDIT_TSA_CA, or undefined when it is not set. */
export function readTsaTrustAnchors(config: GovshareConfig): string | undefined {
  if (!config.GOVSHARE_AUDIT_TSA_CA) return undefined;
  try {
    return readFileSync(config.GOVSHARE_AUDIT_TSA_CA, 'utf8');
  } catch (err) {
    throw new ConfigError(
      'GOVSHARE_AUDIT_TSA_CA',
      `GOVSHARE_AUDIT_TSA_CA (${config.GOVSHARE_AUDIT_TSA_CA}) cannot be read: ${(err as Error).message}`,
    );
  }
}

/** The TSA client, or undefined when GOVSHARE_AUDIT_TSA_URL is empty (checkpoints are signed only). */
export function tsaClientFor(config: GovshareConfig): TsaClient | undefined {
  if (!config.GOVSHARE_AUDIT_TSA_URL) return undefined;
  return new TsaClient({
    url: config.GOVSHARE_AUDIT_TSA_URL,
    trustAnchorsPem: readTsaTrustAnchors(config) ?? '',
    timeoutMs: config.GOVSHARE_AUDIT_TSA_TIMEOUT_MS,
  });
}
