/**
 * The client helper for department developers: signs a request with the system's key (RFC 9421, keyid =
 * certificate serial), sends it, and verifies the platform's response signature against the platform CA,
 * so the caller can prove what it received. `govshare call` is a thin wrapper around it.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { Agent, request as httpRequest } from 'undici';
import { type SignatureAlgorithm, signRequest, verifyResponseSignature } from './httpsig/index.js';
import { isPlatformSigningCertificate, PLATFORM_SIGNING_URI } from './platform.js';
import { isSm2Signed } from './sm2-x509-verify.js';

export interface SystemCredentials {
  /** PEM of the system's private key (key.pem). */
  keyPem: string;
  /** PEM of the system's certificate (cert.pem): its serial is the keyid. */
  certPem: string;
  /** PEM of the platform root CA (ca.pem): the platform's response certificate must chain to it. */
  caPem: string;
}

export interface ClientTlsOptions {
  /** PEM of the CA the gateway's HTTPS certificate chains to (pinned: the system's CAs are not used). */
  ca: string;
  /** Present the system certificate (cert.pem + key.pem) for mutual TLS. @defaultValue false */
  clientCertificate?: boolean;
}

export interface SignedCallInput {
  method: string;
  url: string;
  purpose: string;
  body?: unknown;
  userId?: string;
  caseId?: string;
  /**
   * A citizen portal's transparency query: the resident ID number of the person it verified, sent in
   * the signed header x-subject-id (never in the URL).
   */
  subjectId?: string;
  alg?: SignatureAlgorithm;
  /** Ask the platform to sign its response (RFC 9421 §5). @defaultValue true */
  askSignedResponse?: boolean;
  timeoutMs?: number;
}

export interface PreparedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export interface SignedCallResult {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  json?: unknown;
  /** Whether the response signature verified, and with which platform certificate. */
  responseSignature: { verified: true; keyId: string } | { verified: false; reason: string };
}

export class SignedClient {
  private readonly key: KeyObject;
  private readonly serial: string;
  private readonly ca: X509Certificate;
  private platformCert: X509Certificate | undefined;
  /** What the platform signs responses with: its CA tells its crypto profile. */
  private readonly platformAlg: SignatureAlgorithm;

  /** undici dispatcher for HTTPS with the pinned CA (and the client certificate for mutual TLS). */
  private readonly dispatcher: Agent | undefined;

  constructor(credentials: SystemCredentials, tls?: ClientTlsOptions) {
    this.key = createPrivateKey(credentials.keyPem);
    this.dispatcher = tls
      ? new Agent({
          connect: {
            ca: tls.ca,
            minVersion: 'TLSv1.2',
            ...(tls.clientCertificate ? { cert: credentials.certPem, key: credentials.keyPem } : {}),
          },
        })
      : undefined;
    this.serial = new X509Certificate(credentials.certPem).serialNumber.toLowerCase();
    this.ca = new X509Certificate(credentials.caPem);
    this.platformAlg = isSm2Signed(this.ca.raw) ? 'sm2-sm3' : 'rsa-pss-sha512';
  }

  /** Closes the HTTPS connections this client keeps (nothing to do over plain HTTP). */
  async close(): Promise<void> {
    await this.dispatcher?.close();
  }

  get keyId(): string {
    return this.serial;
  }

  async call(input: SignedCallInput): Promise<SignedCallResult> {
    return this.send(this.prepare(input));
  }

  /** Signs a request without sending it; `send` may send the same bytes more than once (replays are refused). */
  prepare(input: SignedCallInput): PreparedRequest {
    const body = input.body === undefined ? undefined : JSON.stringify(input.body);
    const headers: Record<string, string> = {
      'x-purpose': input.purpose,
      ...(input.userId ? { 'x-user-id': input.userId } : {}),
      ...(input.caseId ? { 'x-case-id': input.caseId } : {}),
      ...(input.subjectId ? { 'x-subject-id': input.subjectId } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(input.askSignedResponse === false
        ? {}
        : {
            'accept-signature': `sig1=("@status" "content-digest" "signature";req;key="sig1");alg="${this.platformAlg}"`,
          }),
    };
    const signature = signRequest({
      method: input.method,
      url: input.url,
      headers,
      ...(body ? { body } : {}),
      keyId: this.serial,
      privateKey: this.key,
      // Without an alg the key decides: sm2-sm3 for an SM2 key (gm platform), rsa-pss-sha512 for RSA.
      ...(input.alg ? { alg: input.alg } : {}),
    });
    return {
      method: input.method,
      url: input.url,
      headers: { ...headers, ...signature },
      ...(body ? { body } : {}),
      timeoutMs: input.timeoutMs ?? 30_000,
    };
  }

  async send(prepared: PreparedRequest): Promise<SignedCallResult> {
    const { method, url, headers: sent, body } = prepared;
    const response = await httpRequest(url, {
      ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      method: method as 'GET',
      headers: sent,
      ...(body ? { body } : {}),
      headersTimeout: prepared.timeoutMs,
      bodyTimeout: prepared.timeoutMs,
    });
    const responseBody = Buffer.from(await response.body.arrayBuffer());
    const responseHeaders = Object.fromEntries(
      Object.entries(response.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]),
    );
    let json: unknown;
    if (/json/.test(responseHeaders['content-type'] ?? '')) {
      try {
        json = JSON.parse(responseBody.toString('utf8'));
      } catch {}
    }
    const result: SignedCallResult = {
      status: response.statusCode,
      headers: responseHeaders,
      body: responseBody,
      ...(json === undefined ? {} : { json }),
      responseSignature: { verified: false, reason: 'the response is not signed' },
    };
    if (responseHeaders.signature) {
      try {
        const platform = await this.platformCertificate(new URL(url).origin);
        await verifyResponseSignature(
          {
            status: response.statusCode,
            headers: responseHeaders,
            body: responseBody,
            request: { method, url, headers: sent },
          },
          { key: platform.publicKey, keyId: platform.serialNumber.toLowerCase() },
        );
        result.responseSignature = { verified: true, keyId: platform.serialNumber.toLowerCase() };
      } catch (err) {
        result.responseSignature = { verified: false, reason: (err as Error).message };
      }
    }
    return result;
  }

  /** The platform's response-signing certificate, fetched once; only the CA's platform signing certificate. */
  async platformCertificate(origin: string): Promise<X509Certificate> {
    if (this.platformCert) return this.platformCert;
    const response = await httpRequest(`${origin}/v1/ca/platform-cert`, {
      ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const pem = await response.body.text();
    if (response.statusCode !== 200)
      throw new Error(`GET /v1/ca/platform-cert answered ${response.statusCode}`);
    const cert = new X509Certificate(pem);
    if (!isPlatformSigningCertificate(cert, this.ca)) {
      throw new Error(
        `the certificate served as the platform's is not the platform signing certificate of the CA in ca.pem (${PLATFORM_SIGNING_URI}, valid now)`,
      );
    }
    this.platformCert = cert;
    return cert;
  }
}
