/**
 * The connector of a federated catalog entry: a resource of an upper platform mounted in this platform's
 * catalog (`service: { connector: 'federation', endpoint: '<peer platform id>/<resource code>' }`).
 * The lower platform has already identified its caller and checked its own grant; this forwards the
 * lookup to the upper platform's gateway as an RFC 9421 request signed by this platform's signing key
 * (the key the agreement names), with the original caller in signed headers and this request's id as
 * the correlation id. One keep-alive pool per peer origin, one circuit breaker per peer platform.
 */
import { Pool } from 'undici';
import type { DataService } from '../catalog/schema.js';
import { RESOURCE_CODE_PATTERN } from '../catalog/schema.js';
import { signRequestBySigner, verifyResponseSignature } from '../certs/httpsig/index.js';
import type { Signer } from '../certs/signer.js';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitSnapshot,
} from '../connectors/circuit-breaker.js';
import { connectorErrors } from '../connectors/errors.js';
import type {
  CallOrigin,
  Connector,
  ConnectorFactory,
  HealthReport,
  LookupOptions,
  Page,
  PageOptions,
  Row,
} from '../connectors/types.js';
import { PLATFORM_ID_PATTERN } from './agreement.js';
import { federationErrors, type PeerPlatformError, peerError } from './errors.js';
import { forwardedComponents, forwardedHeaders } from './origin.js';
import type { FederationPeers, PeerLink } from './peers.js';

export interface FederationConnectorOptions {
  peers: FederationPeers;
  /** This platform's signing key and its certificate serial (lowercase hex), as the agreement names it. */
  signing: { signer: Signer; keyId: string };
  /** Deadline of a forwarded call. @defaultValue 5000 */
  timeoutMs?: number;
  /** Keep-alive connections per peer gateway. @defaultValue 16 */
  connections?: number;
  /** One breaker per peer platform. */
  breaker?: CircuitBreakerOptions;
  /** Clock of response signatures' time window (epoch ms). @defaultValue Date.now */
  now?: () => number;
}

/** One signed POST to a peer platform (FederationConnectorFactory.send). */
export interface PeerCall {
  /** Path on the peer's gateway, e.g. /v1/federation/applications. */
  path: string;
  payload: unknown;
  /** The original caller, carried in signed headers. */
  origin: CallOrigin;
  correlationId: string;
  /** Ask for a signed answer and accept a 2xx answer only when its signature verifies. */
  signedResponse?: boolean;
  signal?: AbortSignal;
}

/** What the lower platform asks the upper one to sign: status and body, bound to its request signature. */
const ACCEPT_SIGNATURE = 'sig1=("@status" "content-digest" "signature";req;key="sig1")';

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

const PLATFORM_ID = new RegExp(PLATFORM_ID_PATTERN);
const RESOURCE_CODE = new RegExp(RESOURCE_CODE_PATTERN);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENOTFOUND: 'host name not found',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_RES_EXCEEDED_MAX_SIZE: 'answer over the size limit',
};

/** `<peer platform id>/<resource code>` → its parts. */
export function parseFederatedEndpoint(endpoint: string): { peer: string; code: string } {
  const slash = endpoint.indexOf('/');
  const peer = endpoint.slice(0, slash);
  const code = endpoint.slice(slash + 1);
  if (slash < 0 || !PLATFORM_ID.test(peer) || !RESOURCE_CODE.test(code)) {
    throw new connectorErrors.CONNECTOR_CONFIG_INVALID(
      'a federation data service endpoint is "<peer platform id>/<resource code>", e.g. hubei-province/101001/000001',
    );
  }
  return { peer, code };
}

export class FederationConnectorFactory implements ConnectorFactory {
  readonly #options: FederationConnectorOptions;
  readonly #pools = new Map<string, Pool>();
  readonly #breakers = new Map<string, CircuitBreaker>();

  constructor(options: FederationConnectorOptions) {
    this.#options = options;
  }

  create(service: DataService): Connector {
    if (service.connector !== 'federation') {
      throw new connectorErrors.CONNECTOR_CONFIG_INVALID(
        `the federation connector cannot serve a "${service.connector}" data service`,
      );
    }
    const target = parseFederatedEndpoint(service.endpoint);
    return new FederationConnector(service.endpoint, target, this);
  }

  /** The peer gateway's pool (made on first use; the gateway URL comes from the agreement in force). */
  pool(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (!pool) {
      const timeout = this.timeoutMs;
      pool = new Pool(origin, {
        connections: this.#options.connections ?? 16,
        pipelining: 1,
        connectTimeout: timeout,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        maxResponseSize: MAX_RESPONSE_BYTES,
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  breaker(peer: string): CircuitBreaker {
    let breaker = this.#breakers.get(peer);
    if (!breaker) {
      breaker = new CircuitBreaker(this.#options.breaker);
      this.#breakers.set(peer, breaker);
    }
    return breaker;
  }

  get timeoutMs(): number {
    return this.#options.timeoutMs ?? 5000;
  }

  get peers(): FederationPeers {
    return this.#options.peers;
  }

  get signing(): FederationConnectorOptions['signing'] {
    return this.#options.signing;
  }

  /** The agreement in force with `peer`, when it offers `code` to this platform; else the refusal. */
  async offering(peer: string, code: string): Promise<PeerLink> {
    const link = await this.peers.activeWith(peer);
    if (!link.peer.offers.includes(code)) {
      throw new federationErrors.FEDERATION_RESOURCE_NOT_OFFERED(
        `agreement ${link.agreementId} does not offer ${peer}'s resource ${code} to this platform`,
      );
    }
    return link;
  }

  /**
   * Sends one POST to the peer's gateway as this platform: signed (RFC 9421) over the method, target URI,
   * body digest and the origin headers, behind the peer's circuit breaker. Resolves to the 2xx answer's
   * JSON; throws the peer's refusal or outage as UPSTREAM_PLATFORM_* problems. With `signedResponse`
   * the peer is asked to sign its answer (Accept-Signature) and a 2xx answer counts only when that
   * signature verifies with the peer's signing key the agreement names, bound to this request.
   */
  async send(link: PeerLink, call: PeerCall): Promise<unknown> {
    const peer = link.peer.platformId;
    const body = JSON.stringify(call.payload);
    const headers: Record<string, string> = {
      ...forwardedHeaders(link.agreementId, call.correlationId, call.origin),
      'content-type': 'application/json',
    };
    const url = `${link.peer.gatewayUrl}${call.path}`;
    const signature = await signRequestBySigner({
      method: 'POST',
      url,
      headers,
      body,
      components: forwardedComponents(headers),
      keyId: this.signing.keyId,
      signer: this.signing.signer,
    });
    const breaker = this.breaker(peer);
    const permit = breaker.tryAcquire();
    if (!permit.allowed) {
      throw peerError('UPSTREAM_PLATFORM_UNAVAILABLE', peer, 'circuit open after repeated failures', {
        retryAfterSeconds: Math.max(1, Math.ceil(permit.retryAfterMs / 1000)),
      });
    }
    const sent = {
      ...headers,
      ...signature,
      accept: 'application/json',
      'x-request-id': call.correlationId,
      ...(call.signedResponse ? { 'accept-signature': ACCEPT_SIGNATURE } : {}),
    };
    let status: number;
    let text: string;
    let answerHeaders: Record<string, string>;
    try {
      const res = await this.pool(link.peer.gatewayUrl).request({
        method: 'POST',
        path: call.path,
        headers: sent,
        body,
        ...(call.signal ? { signal: call.signal } : {}),
      });
      status = res.statusCode;
      text = await res.body.text();
      answerHeaders = flatHeaders(res.headers);
    } catch (error) {
      if (call.signal?.aborted) {
        breaker.onNeutral(permit.probe);
        throw call.signal.reason;
      }
      breaker.onFailure(permit.probe);
      throw this.classify(peer, error);
    }
    if (status >= 200 && status < 300 && call.signedResponse) {
      const refusal = await this.checkResponseSignature(link, { status, answerHeaders, text, url, sent });
      if (refusal) {
        breaker.onFailure(permit.probe);
        throw peerError('UPSTREAM_PLATFORM_SIGNATURE_INVALID', peer, refusal, { upstreamStatus: status });
      }
    }
    if (status >= 500) breaker.onFailure(permit.probe);
    else breaker.onSuccess(permit.probe);
    return this.answer(peer, status, text);
  }

  /** Why the peer's signed answer is not acceptable, or undefined when its signature verifies. */
  private async checkResponseSignature(
    link: PeerLink,
    answer: {
      status: number;
      answerHeaders: Record<string, string>;
      text: string;
      url: string;
      sent: Record<string, string>;
    },
  ): Promise<string | undefined> {
    if (!answer.answerHeaders.signature || !answer.answerHeaders['signature-input']) {
      return 'answered without the signature this platform asked for (Accept-Signature): nothing it sent is released';
    }
    try {
      await verifyResponseSignature(
        {
          status: answer.status,
          headers: answer.answerHeaders,
          body: answer.text,
          request: { method: 'POST', url: answer.url, headers: answer.sent },
        },
        { key: link.peerKey, keyId: link.peerSigningSerial, now: () => this.#options.now?.() ?? Date.now() },
      );
      return undefined;
    } catch (error) {
      return `its answer's signature does not verify with the signing certificate agreement ${link.agreementId} names (${(error as Error).message.slice(0, 200)})`;
    }
  }

  private answer(peer: string, status: number, text: string): unknown {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw peerError(
        'UPSTREAM_PLATFORM_UNAVAILABLE',
        peer,
        `answered HTTP ${status} with a body that is not JSON`,
        {
          upstreamStatus: status,
        },
      );
    }
    if (status >= 200 && status < 300) return parsed;
    const problem = parsed as { code?: unknown; detail?: unknown; retryAfterSeconds?: unknown };
    const upstreamCode = typeof problem.code === 'string' ? problem.code.slice(0, 64) : undefined;
    const detail = typeof problem.detail === 'string' ? problem.detail.slice(0, 500) : '';
    const extra: { upstreamCode?: string; upstreamStatus: number; retryAfterSeconds?: number } = {
      upstreamStatus: status,
      ...(upstreamCode ? { upstreamCode } : {}),
      ...(typeof problem.retryAfterSeconds === 'number'
        ? { retryAfterSeconds: problem.retryAfterSeconds }
        : {}),
    };
    const said = `${upstreamCode ?? `HTTP ${status}`}${detail ? `: ${detail}` : ''}`;
    if (status >= 500) throw peerError('UPSTREAM_PLATFORM_UNAVAILABLE', peer, `failed (${said})`, extra);
    throw peerError('UPSTREAM_PLATFORM_REFUSED', peer, `refused the forwarded call (${said})`, extra);
  }

  private classify(peer: string, error: unknown): PeerPlatformError {
    const code = (error as { code?: string }).code ?? '';
    if (TIMEOUT_CODES.has(code)) {
      return peerError('UPSTREAM_PLATFORM_TIMEOUT', peer, `no answer within ${this.timeoutMs} ms`, {
        cause: error,
      });
    }
    // Described in words: the problem handler reads socket error names as a Redis outage.
    const what = NETWORK_ERRORS[code] ?? 'the connection failed';
    return peerError('UPSTREAM_PLATFORM_UNAVAILABLE', peer, `cannot be reached (${what})`, {
      cause: error,
    });
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((pool) => pool.close()));
  }
}

class FederationConnector implements Connector {
  readonly kind = 'federation' as const;

  constructor(
    readonly endpoint: string,
    private readonly target: { peer: string; code: string },
    private readonly factory: FederationConnectorFactory,
  ) {}

  async lookup(keyItem: string, values: string[], opts: LookupOptions = {}): Promise<Row[]> {
    if (values.length === 0) return [];
    const answer = await this.forward('query', { keyItem, keys: values }, opts);
    const data = (answer as { data?: unknown }).data;
    if (!isRows(data)) {
      throw peerError(
        'UPSTREAM_PLATFORM_UNAVAILABLE',
        this.target.peer,
        'answered 200 without a data array of rows',
      );
    }
    return data;
  }

  /** One page of changes for a data return (回流) job, projected and masked by the upper platform. */
  async page(opts: PageOptions): Promise<Page> {
    if (!Number.isInteger(opts.limit) || opts.limit < 1)
      throw new RangeError('page limit must be a positive integer');
    const answer = (await this.forward(
      'changes',
      {
        limit: opts.limit,
        ...(opts.after === undefined ? {} : { after: opts.after }),
        ...(opts.since ? { since: opts.since.value } : {}),
      },
      opts,
    )) as { rows?: unknown; next?: unknown; watermark?: unknown };
    if (!isRows(answer.rows)) {
      throw peerError('UPSTREAM_PLATFORM_UNAVAILABLE', this.target.peer, 'answered 200 without a rows array');
    }
    return {
      rows: answer.rows,
      ...(typeof answer.next === 'string' ? { next: answer.next } : {}),
      ...(typeof answer.watermark === 'string' ? { watermark: answer.watermark } : {}),
    };
  }

  /** Signs and sends one forwarded call; resolves to the 200 answer's JSON, or throws the peer's refusal. */
  private async forward(
    route: 'query' | 'changes',
    payload: Record<string, unknown>,
    opts: LookupOptions,
  ): Promise<unknown> {
    const { peer, code } = this.target;
    if (!opts.origin) {
      throw new connectorErrors.CONNECTOR_CONFIG_INVALID(
        'a federated resource is called only from the data path, which names the original caller',
      );
    }
    const link = await this.factory.offering(peer, code);
    return this.factory.send(link, {
      path: `/v1/federation/data/${encodeURIComponent(code)}/${route}`,
      payload,
      origin: opts.origin,
      correlationId: opts.requestId ?? crypto.randomUUID(),
      // The rows a city system is given must be the province's: its signature proves they are.
      signedResponse: route === 'query',
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }

  async health(): Promise<HealthReport> {
    const started = performance.now();
    try {
      const link = await this.factory.peers.activeWith(this.target.peer);
      const res = await this.factory.pool(link.peer.gatewayUrl).request({ method: 'GET', path: '/health' });
      await res.body.dump();
      const circuit = this.factory.breaker(this.target.peer).state;
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      const notes = [
        ...(ok ? [] : [`answered HTTP ${res.statusCode}`]),
        ...(circuit === 'closed' ? [] : [`circuit ${circuit}`]),
      ];
      return {
        ok,
        latencyMs: performance.now() - started,
        ...(notes.length ? { detail: notes.join('; ') } : {}),
      };
    } catch (error) {
      return { ok: false, latencyMs: performance.now() - started, detail: (error as Error).message };
    }
  }

  circuit(): CircuitSnapshot {
    return this.factory.breaker(this.target.peer).snapshot();
  }

  async close(): Promise<void> {}
}

function isRows(value: unknown): value is Row[] {
  return (
    Array.isArray(value) &&
    value.every((row) => row !== null && typeof row === 'object' && !Array.isArray(row))
  );
}
