/**
 * What `govshare federation offer|accept|revoke` (and the tests) do to this platform's copy of an
 * agreement. Storing one this platform is a party to also registers the peer platform here: its
 * operating bureau as a department and, under it, the system `federation`, so that the bureau grants the
 * peer platform resources through ordinary grants, checked by the ordinary decision.
 */
import type { Platform } from '../certs/platform.js';
import type { CertsStore } from '../certs/store.js';
import {
  type FederationParty,
  type OpenedAgreement,
  openAgreement,
  otherSide,
  type SignedAgreement,
  sideOf,
} from './agreement.js';
import { federationErrors } from './errors.js';
import { FEDERATION_SYSTEM_ID } from './origin.js';
import type { AgreementStore, StoredAgreement } from './store.js';

export interface StoreResult {
  record: StoredAgreement;
  opened: OpenedAgreement;
  /** Whether the peer's department or federation system was registered by this call. */
  registered: string[];
}

/** Verifies and stores this platform's copy: `offered` until both have signed, then `active`. */
export async function storeAgreement(
  platform: Platform,
  store: AgreementStore,
  certs: CertsStore,
  document: SignedAgreement,
  now: Date,
): Promise<StoreResult> {
  const opened = openAgreement(document, now, { requireBoth: false });
  const side = sideOf(platform, opened.terms);
  if (!side) {
    throw new federationErrors.FEDERATION_AGREEMENT_INVALID(
      `this platform is neither party of agreement ${opened.terms.id} (its signing certificate is not named)`,
    );
  }
  if (!opened.countersigned && side === 'accepter') {
    throw new federationErrors.FEDERATION_AGREEMENT_INVALID(
      `agreement ${opened.terms.id} was offered to this platform: countersign it (federation accept)`,
    );
  }
  const peer = opened.terms[otherSide(side)];
  const existing = await store.get(opened.terms.id);
  if (existing && existing.document.terms !== document.terms) {
    throw new federationErrors.FEDERATION_AGREEMENT_INVALID(
      `this platform holds agreement ${opened.terms.id} with other terms; a changed agreement gets a new id`,
    );
  }
  const registered = opened.countersigned ? await registerPeer(certs, peer, now) : [];
  const record: StoredAgreement = {
    id: opened.terms.id,
    side,
    peerPlatformId: peer.platformId,
    status: opened.countersigned ? 'active' : 'offered',
    validFrom: opened.terms.validFrom,
    validTo: opened.terms.validTo,
    document,
    storedAt: existing?.storedAt ?? now.toISOString(),
  };
  await store.put(record);
  return { record, opened, registered };
}

async function registerPeer(certs: CertsStore, peer: FederationParty, now: Date): Promise<string[]> {
  const registered: string[] = [];
  if (!(await certs.getDepartment(peer.operator))) {
    await certs.addDepartment({ code: peer.operator, name: peer.name.slice(0, 200) }, now);
    registered.push(`department ${peer.operator}`);
  }
  if (!(await certs.getSystem(peer.operator, FEDERATION_SYSTEM_ID))) {
    await certs.addSystem(
      {
        deptCode: peer.operator,
        systemId: FEDERATION_SYSTEM_ID,
        name: `${peer.name} (federated platform ${peer.platformId})`.slice(0, 200),
      },
      now,
    );
    registered.push(`system ${peer.operator}/${FEDERATION_SYSTEM_ID}`);
  }
  return registered;
}
