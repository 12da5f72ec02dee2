/**
 * The agreements in force, as every gateway instance sees them: loaded from Redis, verified once, kept in
 * process. A store or revocation announces itself on the channel and drops the copy at once; as the
 * safety net of a lost message, each instance also polls the generation every `pollMs`, so a revoked
 * agreement stops traffic on every instance within about a second.
 */
import type { KeyObject } from 'node:crypto';
import type { Platform } from '../certs/platform.js';
import type { InvalidationBus } from '../platform/invalidation.js';
import {
  type FederationParty,
  openAgreement,
  otherSide,
  platformSigningCert,
  type Side,
  sideOf,
} from './agreement.js';
import { federationErrors } from './errors.js';
import type { AgreementStore, StoredAgreement } from './store.js';

/** One agreement as the data path needs it. */
export interface PeerLink {
  agreementId: string;
  status: StoredAgreement['status'];
  /** This platform's side. */
  side: Side;
  local: FederationParty;
  peer: FederationParty;
  /** The peer's platform signing key and its certificate serial (lowercase hex: the keyid it signs with). */
  peerKey: KeyObject;
  peerSigningSerial: string;
  validFrom: number;
  validTo: number;
}

export interface FederationPeersOptions {
  now: () => Date;
  /** How often the generation is polled. @defaultValue 500 */
  pollMs?: number;
}

export class FederationPeers {
  private snapshot: Promise<Map<string, PeerLink>> | undefined;
  private invalidations = 0;
  private generation: number | undefined;
  private poller: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: AgreementStore,
    private readonly platform: Platform,
    private readonly options: FederationPeersOptions,
  ) {}

  async start(bus: InvalidationBus): Promise<void> {
    await bus.listen(this.store.channel, {
      onMessage: () => this.invalidate(),
      onReset: () => this.invalidate(),
    });
    this.generation = await this.store.generation().catch(() => undefined);
    this.poller = setInterval(() => void this.poll(), this.options.pollMs ?? 500);
    this.poller.unref();
  }

  stop(): void {
    clearInterval(this.poller);
  }

  invalidate(): void {
    this.invalidations++;
    this.snapshot = undefined;
  }

  private async poll(): Promise<void> {
    try {
      const generation = await this.store.generation();
      if (generation !== this.generation) {
        this.generation = generation;
        this.invalidate();
      }
    } catch {
      // Redis unreachable: the data path fails on its own Redis steps.
    }
  }

  /** Every agreement this platform holds, verified (those that no longer verify are left out). */
  async links(): Promise<Map<string, PeerLink>> {
    if (this.snapshot) return this.snapshot;
    const before = this.invalidations;
    const loading = this.load();
    this.snapshot = loading;
    loading.then(
      () => {
        if (this.invalidations !== before && this.snapshot === loading) this.snapshot = undefined;
      },
      () => {
        if (this.snapshot === loading) this.snapshot = undefined;
      },
    );
    return loading;
  }

  private async load(): Promise<Map<string, PeerLink>> {
    const now = this.options.now();
    const links = new Map<string, PeerLink>();
    for (const record of await this.store.list()) {
      try {
        const opened = openAgreement(record.document, now, { requireBoth: record.status === 'active' });
        const side = sideOf(this.platform, opened.terms);
        if (!side) continue;
        const peer = opened.terms[otherSide(side)];
        const cert = platformSigningCert(peer, now, otherSide(side));
        links.set(record.id, {
          agreementId: record.id,
          status: record.status,
          side,
          local: opened.terms[side],
          peer,
          peerKey: cert.publicKey,
          peerSigningSerial: cert.serialNumber.toLowerCase(),
          validFrom: Date.parse(opened.terms.validFrom),
          validTo: Date.parse(opened.terms.validTo),
        });
      } catch {
        // An agreement whose certificates expired or no longer verify carries no traffic.
      }
    }
    return links;
  }

  /** The agreement in force with `peerPlatformId` (the newest when several are); throws when none is. */
  async activeWith(peerPlatformId: string): Promise<PeerLink> {
    let found: PeerLink | undefined;
    let inactive: PeerLink | undefined;
    for (const link of (await this.links()).values()) {
      if (link.peer.platformId !== peerPlatformId) continue;
      if (this.inForce(link)) {
        if (!found || link.validFrom >= found.validFrom) found = link;
      } else inactive = link;
    }
    if (found) return found;
    throw new federationErrors.FEDERATION_AGREEMENT_INACTIVE(
      inactive
        ? `agreement ${inactive.agreementId} with ${peerPlatformId} is ${this.describe(inactive)}: nothing is forwarded`
        : `this platform has no federation agreement with ${peerPlatformId}: nothing is forwarded`,
    );
  }

  /**
   * The agreement a forwarded call names, when `keyid` is the peer's signing key under it and it is in
   * force. Unknown pairs are FEDERATION_PEER_UNKNOWN (401), known but not in force INACTIVE (403).
   */
  async resolveCaller(agreementId: string, keyid: string): Promise<PeerLink> {
    const link = (await this.links()).get(agreementId);
    if (!link || link.peerSigningSerial !== keyid) {
      throw new federationErrors.FEDERATION_PEER_UNKNOWN(
        `no federation agreement ${JSON.stringify(agreementId.slice(0, 64))} names keyid ${keyid.slice(0, 64)} as its peer platform's signing key`,
      );
    }
    if (!this.inForce(link)) {
      throw new federationErrors.FEDERATION_AGREEMENT_INACTIVE(
        `agreement ${agreementId} is ${this.describe(link)}: nothing crosses between the platforms`,
      );
    }
    return link;
  }

  /**
   * The agreement in force under which `keyid` is the peer platform's signing key: how a peer's signed
   * webhook (which names no agreement) is attributed. FEDERATION_PEER_UNKNOWN when none is.
   */
  async resolveByKey(keyid: string): Promise<PeerLink> {
    let found: PeerLink | undefined;
    for (const link of (await this.links()).values()) {
      if (link.peerSigningSerial !== keyid || !this.inForce(link)) continue;
      if (!found || link.validFrom >= found.validFrom) found = link;
    }
    if (found) return found;
    throw new federationErrors.FEDERATION_PEER_UNKNOWN(
      `no federation agreement in force names keyid ${keyid.slice(0, 64)} as its peer platform's signing key`,
    );
  }

  private inForce(link: PeerLink): boolean {
    const now = this.options.now().getTime();
    return link.status === 'active' && link.validFrom <= now && now < link.validTo;
  }

  private describe(link: PeerLink): string {
    const now = this.options.now().getTime();
    if (link.status === 'revoked') return 'revoked';
    if (link.status === 'offered') return 'not countersigned yet';
    if (now < link.validFrom) return `valid only from ${new Date(link.validFrom).toISOString()}`;
    return `expired at ${new Date(link.validTo).toISOString()}`;
  }
}
