/**
 * One webhook delivery attempt: a POST of the event as JSON, signed with the platform's signing key
 * (RFC 9421; keyid = the signing certificate's serial in lowercase hex) over the method, the target URI,
 * the content type and digest, the idempotency key (the event id: the same for every attempt, so the
 * receiver can drop repeats) and the event type. Redirects are never followed.
 */
import { type LookupAddress, type LookupOptions, lookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { type Dispatcher, request } from 'undici';
import { signRequestBySigner } from '../certs/httpsig/index.js';
import type { Signer } from '../certs/signer.js';
import { WEBHOOK_URL_INVALID } from './errors.js';
import type { DeliveredEvent } from './schema.js';

export const WEBHOOK_SIGNED_COMPONENTS = [
  '@method',
  '@target-uri',
  'content-type',
  'content-digest',
  'idempotency-key',
  'x-govshare-event',
];

export interface WebhookSigner {
  keyId: string;
  /** The platform's key custody: webhooks are signed as the platform. */
  signer: Signer;
}

export interface SendResult {
  ok: boolean;
  status?: number;
  error?: string;
}

const MAX_URL_LENGTH = 2000;

/** Which addresses a webhook may reach (departments' own systems are usually on private networks). */
export interface WebhookTargetPolicy {
  /** Loopback (127.0.0.0/8, ::1, localhost): the platform's own host. Development and tests only. */
  allowLoopback: boolean;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
/** Never a department's system: link-local (cloud metadata at 169.254.169.254), unspecified, multicast. */
const NEVER = new BlockList();
NEVER.addSubnet('169.254.0.0', 16, 'ipv4');
NEVER.addSubnet('fe80::', 10, 'ipv6');
NEVER.addSubnet('0.0.0.0', 8, 'ipv4');
NEVER.addAddress('::', 'ipv6');
NEVER.addSubnet('224.0.0.0', 4, 'ipv4');
NEVER.addSubnet('ff00::', 8, 'ipv6');

/** Why a webhook may not connect to this IP address, or undefined when it may. */
function refusedAddress(address: string, policy: WebhookTargetPolicy): string | undefined {
  const family = isIP(address);
  if (family === 0) return undefined;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  // An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is checked as the IPv4 address it maps.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return refusedAddress(mapped, policy);
  if (NEVER.check(address, type)) return 'a link-local, unspecified or multicast address';
  if (!policy.allowLoopback && LOOPBACK.check(address, type)) return 'a loopback address';
  return undefined;
}

/**
 * A DNS lookup for webhook connections that refuses names resolving to addresses webhooks may not reach,
 * checked on the address actually connected to (a name cannot be re-pointed after registration).
 */
export function webhookLookup(policy: WebhookTargetPolicy) {
  return (
    hostname: string,
    options: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      for (const { address } of addresses) {
        const why = refusedAddress(address, policy);
        if (why) {
          const refused: NodeJS.ErrnoException = new Error(
            `${hostname} resolves to ${why}, which webhooks may not reach`,
          );
          refused.code = 'EWEBHOOKTARGET';
          return callback(refused, []);
        }
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

/**
 * The URL as it will be signed and called. Only absolute http(s) URLs without user info are accepted:
 * the URL is shown in delivery records, so it must not carry credentials. A host that is an address
 * webhooks may not reach (or `localhost`) is refused here; names are checked again at each connection.
 */
export function checkWebhookUrl(input: string, policy: WebhookTargetPolicy): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new WEBHOOK_URL_INVALID(`${JSON.stringify(input.slice(0, 100))} is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WEBHOOK_URL_INVALID(`webhook URLs use http:// or https:// (got ${url.protocol}//)`);
  }
  if (url.username || url.password) {
    throw new WEBHOOK_URL_INVALID(
      'a webhook URL must not carry a user name or password; verify our signature instead',
    );
  }
  if (url.hash) throw new WEBHOOK_URL_INVALID('a webhook URL has no #fragment');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const local = host === 'localhost' || host.endsWith('.localhost');
  const why = local && !policy.allowLoopback ? 'a loopback address' : refusedAddress(host, policy);
  if (why) {
    throw new WEBHOOK_URL_INVALID(
      `${url.host} is ${why}: webhooks go to departments' systems, not to the platform's own host or network`,
    );
  }
  if (url.href.length > MAX_URL_LENGTH)
    throw new WEBHOOK_URL_INVALID(`a webhook URL is at most ${MAX_URL_LENGTH} characters`);
  return url.href;
}

export function webhookBody(event: DeliveredEvent): string {
  return JSON.stringify({ id: event.id, type: event.type, at: event.at, data: event.data });
}

export async function sendWebhook(
  url: string,
  event: DeliveredEvent,
  deliveryId: string,
  signer: WebhookSigner,
  options: { dispatcher?: Dispatcher; timeoutMs: number; nowSeconds: number },
): Promise<SendResult> {
  const body = webhookBody(event);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'idempotency-key': event.id,
    'x-govshare-event': event.type,
    'x-govshare-delivery': deliveryId,
  };
  const signed = await signRequestBySigner({
    method: 'POST',
    url,
    headers,
    body,
    keyId: signer.keyId,
    signer: signer.signer,
    components: WEBHOOK_SIGNED_COMPONENTS,
    created: options.nowSeconds,
  });
  try {
    const response = await request(url, {
      method: 'POST',
      headers: { ...headers, ...signed },
      body,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
    await response.body.dump();
    const ok = response.statusCode >= 200 && response.statusCode < 300;
    return ok
      ? { ok, status: response.statusCode }
      : { ok, status: response.statusCode, error: `answered HTTP ${response.statusCode}` };
  } catch (err) {
    return { ok: false, error: (err as Error).message || String(err) };
  }
}
