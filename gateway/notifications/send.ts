/**
 * One webhook delivery attempt: a POST of the event as JSON, signed with the platform's signing key
 * (RFC 9421; keyid = the signing certificate's serial in lowercase hex) over the method, the target URI,
 * the content type and digest, the idempotency key (the event id: the same for every attempt, so the
 * receiver can drop repeats) and the event type. Redirects are never followed.
 */
import type { KeyObject } from 'node:crypto';
import { type Dispatcher, request } from 'undici';
import { signRequest } from '../../certs/httpsig/index.js';
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
  privateKey: KeyObject;
}

export interface SendResult {
  ok: boolean;
  status?: number;
  error?: string;
}

const MAX_URL_LENGTH = 2000;

/**
 * The URL as it will be signed and called. Only absolute http(s) URLs without user info are accepted:
 * the URL is shown in delivery records, so it must not carry credentials.
 */
export function checkWebhookUrl(input: string): string {
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
  const signed = signRequest({
    method: 'POST',
    url,
    headers,
    body,
    keyId: signer.keyId,
    privateKey: signer.privateKey,
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
