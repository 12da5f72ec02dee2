/**
 * Every Redis key (and the pub/sub channel) of the certs module. All keys share the hash tag {certs}
 * so the Lua scripts that touch several of them work on Redis Cluster.
 */
export function certsKeys(prefix: string) {
  const base = `${prefix}{certs}:`;
  return {
    /** String, JSON Department. */
    department: (code: string) => `${base}dept:${code}`,
    /** Set of department codes. */
    departments: `${base}depts`,
    /** String, JSON DepartmentSystem. */
    system: (deptCode: string, systemId: string) => `${base}system:${deptCode}:${systemId}`,
    /** Set of a department's system ids. */
    systems: (deptCode: string) => `${base}systems:${deptCode}`,
    /** String, JSON CertificateRecord. */
    certificate: (serial: string) => `${base}cert:${serial}`,
    /** Sorted set of serials scored by issue time (ms). */
    certificates: `${base}certs`,
    /** Sorted set of a department's serials scored by issue time (ms). */
    departmentCertificates: (deptCode: string) => `${base}certs:dept:${deptCode}`,
    /** Hash serial → JSON RevokedEntry: the revoked set, all a CRL needs. */
    revoked: `${base}revoked-serials`,
    /** Counter bumped by every revocation: caches compare it to know they are stale. */
    revocationGeneration: `${base}revocation-gen`,
    /** Counter handing out CRL numbers. */
    crlNumber: `${base}crl-number`,
    /** Hash: the current CRL (der base64, crlNumber, generation, thisUpdate, nextUpdate). */
    crl: `${base}crl`,
  };
}

export type CertsKeys = ReturnType<typeof certsKeys>;

/** Pub/sub channel: each message is the serial (lowercase hex) of a certificate just revoked. */
export function revokedChannel(prefix: string): string {
  return `${prefix}{certs}:revoked`;
}
