/**
 * HTTPS for the gateway (GOVSHARE_TLS_*): TLS 1.2 and 1.3 only, with a certificate the platform CA (or
 * another intl CA) issued. Mutual TLS asks clients for their system certificate, verified against
 * GOVSHARE_TLS_CA; signed-calls.ts then requires it to be the certificate the signature's keyid names.
 *
 * Node's TLS has no SM2 cipher suites (no TLCP, GB/T 38636), so a gm platform serves HTTPS with an intl
 * server certificate and cannot ask for its SM2 system certificates in the handshake: TLCP with SM2
 * certificates (and client authentication) is terminated by a Tongsuo-based proxy in front of it.
 */
import { readFileSync } from 'node:fs';
import type { ServerOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import type { CryptoProfile } from '../../certs/crypto-profile.js';
import { ConfigError, type GovshareConfig } from './config.js';

export function tlsServerOptions(config: GovshareConfig, profile: CryptoProfile): ServerOptions | undefined {
  if (!config.GOVSHARE_TLS_CERT) return undefined;
  const mode = config.GOVSHARE_TLS_CLIENT_AUTH;
  if (profile === 'gm' && mode !== 'none') {
    throw new ConfigError(
      'GOVSHARE_TLS_CLIENT_AUTH',
      'GOVSHARE_TLS_CLIENT_AUTH must be none on a gm platform: its system certificates are SM2, which Node TLS ' +
        'cannot verify; authenticate clients with TLCP in the Tongsuo proxy in front of the gateway',
    );
  }
  const read = (name: 'GOVSHARE_TLS_CERT' | 'GOVSHARE_TLS_KEY' | 'GOVSHARE_TLS_CA') => {
    try {
      return readFileSync(config[name], 'utf8');
    } catch (err) {
      throw new ConfigError(
        name,
        `${name}: cannot read ${config[name]} (${(err as NodeJS.ErrnoException).code})`,
      );
    }
  };
  return {
    cert: read('GOVSHARE_TLS_CERT'),
    key: read('GOVSHARE_TLS_KEY'),
    minVersion: 'TLSv1.2',
    ...(mode === 'none'
      ? {}
      : { ca: read('GOVSHARE_TLS_CA'), requestCert: true, rejectUnauthorized: mode === 'require' }),
  };
}

/**
 * The client certificate of a mutual-TLS connection: its serial (lowercase hex) and whether it chained to
 * GOVSHARE_TLS_CA; undefined when the connection is plain or the client sent none.
 */
export function tlsClientCertificate(
  request: FastifyRequest,
): { serial: string; authorized: boolean } | undefined {
  const socket = request.raw.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const peer = socket.getPeerCertificate();
  if (!peer?.serialNumber) return undefined;
  return { serial: peer.serialNumber.toLowerCase(), authorized: socket.authorized === true };
}
