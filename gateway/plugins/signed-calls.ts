/**
 * Department systems call /v1/data and /v1/exchange with RFC 9421 signatures. For every route declaring
 * `config.access: 'system'`, this plugin identifies the caller (certificate by keyid), verifies the
 * signature, Content-Digest, time window and nonce, and puts the verified caller on `request.caller`.
 * A refusal is audited before it is answered; if the audit cannot be written the answer is 503.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AuditRecord } from '../../audit/record.js';
import type { AuditWriter } from '../../audit/writer.js';
import { type SignatureAlgorithm, verifyRequestSignature } from '../../certs/httpsig/index.js';
import {
  CORRELATION_ID,
  FEDERATION_HEADERS,
  FEDERATION_SYSTEM_ID,
  type ForwardedCall,
  forwardedRequiredComponents,
  readForwardedCall,
} from '../../federation/origin.js';
import type { FederationPeers, PeerLink } from '../../federation/peers.js';
import type { RedisClient } from '../../platform/redis.js';
import { identityErrors } from '../app/errors.js';
import { bindRequestLog } from '../app/request-log.js';
import { tlsClientCertificate } from '../app/tls.js';
import type { Caller } from '../data-path/caller.js';
import type { CallerKeys } from '../identity/caller-keys.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * `'data-path'`: the route's handler records the nonce itself, in one Redis round trip with the
     * quota (policies/admission.ts), before it releases anything. A request that fails validation
     * after its signature was verified leaves no nonce behind, and was answered without data.
     */
    nonce?: 'data-path';
    /**
     * `'peer-platform'`: the route takes calls forwarded by a federated platform, signed with that
     * platform's signing key under an agreement in force (federation/peers.ts), carrying the original
     * caller in signed headers (federation/origin.ts).
     */
    signer?: 'peer-platform';
  }
  interface FastifyRequest {
    caller?: Caller;
    rawBody?: Buffer;
  }
}

export interface SignedCallsOptions {
  keys: CallerKeys;
  /** The federation agreements in force, for routes that take calls forwarded by a peer platform. */
  peers?: FederationPeers;
  redis: RedisClient;
  prefix: string;
  audit: AuditWriter;
  now: () => Date;
  maxSkewSeconds: number;
  /** The algorithms of the platform's crypto profile (PROFILE_ALGORITHMS). @defaultValue all */
  allowedAlgorithms?: readonly SignatureAlgorithm[];
  /** Signature verification time, for metrics (seconds). */
  observe?: (seconds: number) => void;
  /** e.g. https://gateway.example.gov.cn when behind a TLS-terminating proxy; else http://<Host>. */
  publicOrigin?: string;
}

const HEADER_TEXT = /^[\x20-\x7e]{1,256}$/;

export function targetUri(request: FastifyRequest, publicOrigin?: string): string {
  return `${publicOrigin ?? `${request.protocol}://${request.host}`}${request.url}`;
}

function headerText(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && HEADER_TEXT.test(value) ? value : undefined;
}

/**
 * Mutual TLS binds the connection to the signer: a client certificate, when the connection carries one,
 * must have chained to the platform CA and be the very certificate the signature's keyid names.
 */
function checkTlsClient(request: FastifyRequest, keyid: string): void {
  const client = tlsClientCertificate(request);
  if (!client) return;
  if (!client.authorized || client.serial !== keyid) {
    throw new identityErrors.TLS_CLIENT_CERT_MISMATCH(
      client.authorized
        ? `the TLS client certificate ${client.serial} is not the certificate of keyid ${keyid}: connect with the certificate you sign with`
        : 'the TLS client certificate was not issued by the platform CA',
    );
  }
}

async function signedCalls(app: FastifyInstance, options: SignedCallsOptions) {
  const { keys, redis, prefix, audit } = options;
  // A signature is accepted for ±window around its `created` (plus up to a second of rounding), so a
  // nonce first seen at the earliest moment must be remembered past the latest: 2 × window + 2 s.
  const nonceTtl = options.maxSkewSeconds * 2 + 2;

  // The digest is checked against the bytes as received, so JSON bodies are kept raw beside the parse.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    request.rawBody = body as Buffer;
    parseJson(request, (body as Buffer).toString('utf8'), done);
  });

  /**
   * Records a nonce under a random token of this request. When the key exists already it is a replay,
   * unless it holds this request's own token: a SET whose reply was lost and that ioredis sent again after
   * a reconnect (a Redis restart must not turn into SIG_REPLAY). The token is never the request id, which
   * a client may choose and so could replay.
   */
  async function checkNonce(keyid: string, nonce: string): Promise<boolean> {
    const key = `${prefix}nonce:${keyid}:${nonce}`;
    const token = randomUUID();
    if ((await redis.set(key, token, 'EX', nonceTtl, 'NX')) === 'OK') return true;
    return (await redis.get(key)) === token;
  }

  app.addHook('preValidation', async function verifyCaller(request) {
    if (request.routeOptions.config.access !== 'system') return;
    const started = performance.now();
    const deferNonce = request.routeOptions.config.nonce === 'data-path';
    const fromPeer = request.routeOptions.config.signer === 'peer-platform';
    try {
      const url = targetUri(request, options.publicOrigin);
      // A forwarded call names its agreement: the key is the peer's under that agreement only. Read once
      // the signature is known to cover the origin headers, so an unsigned call is refused as unsigned.
      let forwarded: ForwardedCall | undefined;
      let link: PeerLink | undefined;
      const resolvePeer = async (keyid: string) => {
        if (!options.peers) throw new Error('this gateway takes no forwarded calls (no federation peers)');
        forwarded = readForwardedCall(request.headers);
        link = await options.peers.resolveCaller(forwarded.agreementId, keyid);
        return { key: link.peerKey };
      };
      const signature = await verifyRequestSignature(
        {
          method: request.method,
          url,
          headers: request.headers,
          ...(request.rawBody ? { body: request.rawBody } : {}),
        },
        {
          resolveKey: (keyid) => (fromPeer ? resolvePeer(keyid) : keys.resolve(keyid)),
          checkNonce: (keyid, nonce) => (deferNonce ? Promise.resolve(true) : checkNonce(keyid, nonce)),
          now: () => options.now().getTime(),
          maxSkewSeconds: options.maxSkewSeconds,
          ...(fromPeer ? { requiredComponents: forwardedRequiredComponents } : {}),
          ...(options.allowedAlgorithms ? { allowedAlgorithms: options.allowedAlgorithms } : {}),
        },
      );
      if (fromPeer) {
        request.caller = peerCaller(link!, forwarded!, signature, url, request, deferNonce);
        options.observe?.((performance.now() - started) / 1000);
        return;
      }
      const key = await keys.resolve(signature.keyid);
      checkTlsClient(request, signature.keyid);
      const purpose = headerText(request, 'x-purpose') ?? '';
      const userId = headerText(request, 'x-user-id');
      const caseId = headerText(request, 'x-case-id');
      options.observe?.((performance.now() - started) / 1000);
      // One grep of the request id then follows the caller through the data path, connector and audit.
      bindRequestLog(request, { dept: key.deptCode, system: key.systemId, certSerial: key.serial });
      request.caller = {
        deptCode: key.deptCode,
        systemId: key.systemId,
        serial: key.serial,
        purpose,
        ...(userId ? { userId } : {}),
        ...(caseId ? { caseId } : {}),
        signature,
        targetUri: url,
        signatureHash: createHash('sha256')
          .update(String(request.headers.signature ?? ''))
          .digest('hex'),
        ...(deferNonce ? { pendingNonce: { ttlSeconds: nonceTtl } } : {}),
      };
    } catch (err) {
      const error = err as Error & { code?: string; statusCode?: number };
      if (error.statusCode && error.statusCode < 500) await auditRefusal(request, error);
      throw err;
    }
  });

  function peerCaller(
    link: PeerLink,
    forwarded: ForwardedCall,
    signature: Caller['signature'],
    url: string,
    request: FastifyRequest,
    deferNonce: boolean,
  ): Caller {
    bindRequestLog(request, {
      dept: link.peer.operator,
      system: FEDERATION_SYSTEM_ID,
      certSerial: signature.keyid,
      correlationId: forwarded.correlationId,
    });
    const { origin } = forwarded;
    return {
      deptCode: link.peer.operator,
      systemId: FEDERATION_SYSTEM_ID,
      serial: signature.keyid,
      purpose: origin.purpose,
      userId: origin.userId,
      ...(origin.caseId ? { caseId: origin.caseId } : {}),
      signature,
      targetUri: url,
      signatureHash: createHash('sha256')
        .update(String(request.headers.signature ?? ''))
        .digest('hex'),
      ...(deferNonce ? { pendingNonce: { ttlSeconds: nonceTtl } } : {}),
      federation: {
        agreementId: link.agreementId,
        peerPlatformId: link.peer.platformId,
        correlationId: forwarded.correlationId,
        originDept: origin.deptCode,
        originSystem: origin.systemId,
      },
    };
  }

  /** A refused forwarded call keeps its correlation id, so the peer's record of it can be joined. */
  function refusedCorrelation(request: FastifyRequest): { federation?: { correlationId: string } } {
    if (request.routeOptions.config.signer !== 'peer-platform') return {};
    const value = request.headers[FEDERATION_HEADERS.correlation];
    return typeof value === 'string' && CORRELATION_ID.test(value)
      ? { federation: { correlationId: value } }
      : {};
  }

  async function auditRefusal(
    request: FastifyRequest,
    error: Error & { code?: string; statusCode?: number },
  ) {
    const keyid = /keyid="([0-9a-f]{1,64})"/.exec(String(request.headers['signature-input'] ?? ''))?.[1];
    const record: AuditRecord = {
      time: new Date(request.receivedAt || Date.now()).toISOString(),
      requestId: String(request.id),
      instance: audit.instance,
      kind: request.url.startsWith('/v1/exchange') ? 'exchange' : 'data',
      actor: keyid ? { certSerial: keyid } : {},
      action: 'signature.refused',
      decision: 'deny',
      reasonCode: error.code && /^[A-Z][A-Z0-9_]{1,63}$/.test(error.code) ? error.code : 'SIG_INVALID',
      status: error.statusCode ?? 401,
      latencyMs: Date.now() - (request.receivedAt || Date.now()),
      detail: { route: request.routeOptions.url ?? '', ...refusedCorrelation(request) },
    };
    await audit.append(record);
  }
}

export default fp(signedCalls, {
  name: 'govshare-signed-calls',
  fastify: '5.x',
  dependencies: ['govshare-admin-audit'],
});
