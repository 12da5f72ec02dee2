/**
 * Resolves a signature keyid (certificate serial) to the caller's public key and identity, on the hot path.
 * Verified KeyObjects are cached per process; a revocation reaches every instance through Redis pub/sub,
 * and as a safety net each instance also polls the revocation generation every second, so a revoked
 * certificate is refused everywhere within about a second even if a pub/sub message was lost.
 */
import { type KeyObject, X509Certificate } from 'node:crypto';
import { parseSystemIdentity } from '../../certs/issue.js';
import { certificateSignedBy, type Platform } from '../../certs/platform.js';
import type { CertsStore } from '../../certs/store.js';
import { type InvalidationBus, LocalCache } from '../../platform/invalidation.js';
import { identityErrors } from '../app/errors.js';

export interface CallerKey {
  serial: string;
  key: KeyObject;
  deptCode: string;
  systemId: string;
  notBefore: number;
  notAfter: number;
}

export interface CallerKeysOptions {
  now: () => Date;
  /** How long a verified key stays cached without a revocation message. @defaultValue 60_000 */
  ttlMs?: number;
  /** How often the revocation generation is polled. @defaultValue 1000 */
  pollMs?: number;
}

export class CallerKeys {
  private readonly cache: LocalCache<CallerKey>;
  private generation: number | undefined;
  /** Bumped by every revocation seen (message, reset or poll): a key read across one is not cached. */
  private invalidations = 0;
  private poller: NodeJS.Timeout | undefined;

  constructor(
    private readonly certs: CertsStore,
    private readonly platform: Platform,
    private readonly options: CallerKeysOptions,
  ) {
    this.cache = new LocalCache(options.ttlMs ?? 60_000);
  }

  async start(bus: InvalidationBus): Promise<void> {
    await bus.listen(this.certs.revokedChannel, {
      onMessage: (serial) => {
        this.invalidations++;
        this.cache.delete(serial);
      },
      onReset: () => {
        this.invalidations++;
        this.cache.clear();
      },
    });
    this.generation = await this.certs.revocationGeneration().catch(() => undefined);
    this.poller = setInterval(() => void this.poll(), this.options.pollMs ?? 1000);
    this.poller.unref();
  }

  stop(): void {
    clearInterval(this.poller);
  }

  private async poll(): Promise<void> {
    try {
      const generation = await this.certs.revocationGeneration();
      if (generation !== this.generation) {
        this.generation = generation;
        this.invalidations++;
        this.cache.clear();
      }
    } catch {
      // Redis unreachable: requests fail on their own Redis steps; keep the cache as it is.
    }
  }

  /** The key for a keyid, or the identity error (401) that tells the caller what is wrong. */
  async resolve(serial: string): Promise<CallerKey> {
    const cached = this.cache.get(serial);
    // A revocation announced while the record was being read must not be undone by caching what was read.
    const invalidationsBefore = this.invalidations;
    const entry = cached ?? (await this.load(serial));
    const now = this.options.now().getTime();
    if (now < entry.notBefore) {
      throw new identityErrors.CERT_NOT_YET_VALID(
        `certificate ${serial} is valid only from ${new Date(entry.notBefore).toISOString()}`,
      );
    }
    if (now >= entry.notAfter) {
      throw new identityErrors.CERT_EXPIRED(
        `certificate ${serial} expired at ${new Date(entry.notAfter).toISOString()}; ask for a new one`,
      );
    }
    if (!cached && this.invalidations === invalidationsBefore) this.cache.set(serial, entry);
    return entry;
  }

  private async load(serial: string): Promise<CallerKey> {
    if (!/^[0-9a-f]{1,64}$/.test(serial)) {
      throw new identityErrors.CERT_UNKNOWN(
        `keyid "${serial.slice(0, 70)}" is not a certificate serial: use the serial in lowercase hex`,
      );
    }
    const record = await this.certs.getCertificate(serial);
    if (!record)
      throw new identityErrors.CERT_UNKNOWN(
        `no certificate with serial ${serial} was issued by this platform`,
      );
    if (record.status === 'revoked') {
      throw new identityErrors.CERT_REVOKED(
        `certificate ${serial} was revoked (${record.revocationReason ?? 'unspecified'}) at ${record.revokedAt}`,
      );
    }
    const certificate = new X509Certificate(record.certPem);
    if (
      !certificate.checkIssued(this.platform.caCertX509) ||
      !certificateSignedBy(certificate, this.platform.caCertX509)
    ) {
      throw new identityErrors.CERT_UNTRUSTED(`certificate ${serial} was not issued by the platform CA`);
    }
    const identity = parseSystemIdentity(certificate);
    return {
      serial,
      key: certificate.publicKey,
      deptCode: identity.deptCode,
      systemId: identity.systemId,
      notBefore: Date.parse(certificate.validFrom),
      notAfter: Date.parse(certificate.validTo),
    };
  }
}
