/**
 * The verified caller of a signed call, as the data path and the audit trail see it. The signed-calls
 * plugin produces it; the data path consumes it, so the plugin depends on this type, not the reverse.
 */
import type { AuditRecord } from '../../audit/record.js';
import type { VerifiedSignature } from '../../certs/httpsig/index.js';

export interface Caller {
  deptCode: string;
  systemId: string;
  serial: string;
  purpose: string;
  userId?: string;
  caseId?: string;
  signature: VerifiedSignature;
  /** The @target-uri the signature was verified against (response signatures bind to the same request). */
  targetUri: string;
  /** SHA-256 hex of the Signature header, for the audit record. */
  signatureHash: string;
  /**
   * Set when the route left the nonce to the data path (it is recorded in one round trip with the
   * quota): how long to remember it. The data path records it before anything is released.
   */
  pendingNonce?: { ttlSeconds: number };
  /**
   * Set on a call forwarded by a peer platform (the caller above is then the peer platform itself): the
   * agreement, the correlation id both platforms audit under, and the original department and system.
   */
  federation?: {
    agreementId: string;
    peerPlatformId: string;
    correlationId: string;
    originDept: string;
    originSystem: string;
  };
}

/** The audit actor of a verified caller: department, system, certificate, and the official and case sent. */
export function callerActor(caller: Caller): AuditRecord['actor'] {
  return {
    deptCode: caller.deptCode,
    systemId: caller.systemId,
    certSerial: caller.serial,
    ...(caller.userId ? { userId: caller.userId } : {}),
    ...(caller.caseId ? { caseId: caller.caseId } : {}),
  };
}
