/**
 * Errors of the platform CA and the department/system registry. Codes are stable (clients and the docs
 * rely on them); the status is the HTTP status the gateway maps each one to.
 */
import { createError } from '@fastify/error';

// The platform's own key material (operator problems, found at start-up or by the CLI).
export const PlatformNotInitialised = createError('PLATFORM_NOT_INITIALISED', '%s', 500);
export const PlatformIncomplete = createError('PLATFORM_INCOMPLETE', '%s', 500);
export const PlatformInconsistent = createError('PLATFORM_INCONSISTENT', '%s', 500);
export const CryptoProfileInvalid = createError('CRYPTO_PROFILE_INVALID', '%s', 500);
export const CryptoProfileConflict = createError('CRYPTO_PROFILE_CONFLICT', '%s', 409);

// Departments and systems.
export const UsccInvalid = createError('USCC_INVALID', '%s', 422);
export const DepartmentNameInvalid = createError('DEPARTMENT_NAME_INVALID', '%s', 422);
export const DepartmentExists = createError('DEPARTMENT_EXISTS', '%s', 409);
export const DepartmentNotFound = createError('DEPARTMENT_NOT_FOUND', '%s', 404);
export const SystemIdInvalid = createError('SYSTEM_ID_INVALID', '%s', 422);
export const SystemNameInvalid = createError('SYSTEM_NAME_INVALID', '%s', 422);
export const SystemExists = createError('SYSTEM_EXISTS', '%s', 409);
export const SystemNotFound = createError('SYSTEM_NOT_FOUND', '%s', 404);
export const SystemRoleInvalid = createError('SYSTEM_ROLE_INVALID', '%s', 422);

// Certificates and revocation.
export const CertValidityInvalid = createError('CERT_VALIDITY_INVALID', '%s', 422);
export const CertSerialInvalid = createError('CERT_SERIAL_INVALID', '%s', 422);
export const CertIdentityInvalid = createError('CERT_IDENTITY_INVALID', '%s', 422);
export const CertExists = createError('CERT_EXISTS', '%s', 409);
export const CertNotFound = createError('CERT_NOT_FOUND', '%s', 404);
export const CertAlreadyRevoked = createError('CERT_ALREADY_REVOKED', '%s', 409);
export const RevocationReasonInvalid = createError('REVOCATION_REASON_INVALID', '%s', 422);
export const BundleExists = createError('CERT_BUNDLE_EXISTS', '%s', 409);
export const CertKeyTypeInvalid = createError('CERT_KEY_TYPE_INVALID', '%s', 422);

export const certsErrors = {
  PlatformNotInitialised,
  PlatformIncomplete,
  PlatformInconsistent,
  CryptoProfileInvalid,
  CryptoProfileConflict,
  UsccInvalid,
  DepartmentNameInvalid,
  DepartmentExists,
  DepartmentNotFound,
  SystemIdInvalid,
  SystemNameInvalid,
  SystemExists,
  SystemNotFound,
  SystemRoleInvalid,
  CertValidityInvalid,
  CertSerialInvalid,
  CertIdentityInvalid,
  CertExists,
  CertNotFound,
  CertAlreadyRevoked,
  RevocationReasonInvalid,
  BundleExists,
  CertKeyTypeInvalid,
};

export const certsErrorDocs: Record<string, string> = {
  PLATFORM_NOT_INITIALISED:
    'The data directory holds no platform CA and keys; run `govshare init --data-dir <dir>`.',
  PLATFORM_INCOMPLETE:
    'Part of the platform key material is missing (e.g. a CA key without its certificate); restore it from backup.',
  PLATFORM_INCONSISTENT:
    'The platform files do not belong together (a certificate not issued by the CA or not matching its key).',
  CRYPTO_PROFILE_INVALID:
    'The crypto profile is not `intl` or `gm` (the `--crypto` option, or a damaged platform/crypto-profile.json).',
  CRYPTO_PROFILE_CONFLICT:
    'The data directory already holds a platform of the other crypto profile; a profile is chosen once, at the first `govshare init`.',
  USCC_INVALID:
    'The department code is not a valid unified social credit code (GB 32100-2015); the message names the character.',
  DEPARTMENT_NAME_INVALID: 'A department name must be 1-200 characters.',
  DEPARTMENT_EXISTS: 'A department with this code is already registered.',
  DEPARTMENT_NOT_FOUND: 'No department with this code is registered.',
  SYSTEM_ID_INVALID:
    'A system id is 2-63 characters: lowercase letters, digits and "-", not starting with "-".',
  SYSTEM_NAME_INVALID: 'A system name must be 1-200 characters.',
  SYSTEM_EXISTS: 'The department already has a system with this id.',
  SYSTEM_NOT_FOUND: 'The department has no system with this id.',
  SYSTEM_ROLE_INVALID: 'A system role is "standard" or "portal".',
  CERT_VALIDITY_INVALID: 'A certificate validity must be a whole number of days from 1 to 825.',
  CERT_SERIAL_INVALID: 'A certificate serial number is written as lowercase hexadecimal.',
  CERT_IDENTITY_INVALID: 'The certificate carries no valid urn:govshare:<deptCode>:<systemId> SAN URI.',
  CERT_EXISTS: 'A certificate with this serial number is already recorded.',
  CERT_NOT_FOUND: 'No certificate with this serial number was issued by the platform.',
  CERT_ALREADY_REVOKED: 'The certificate has already been revoked.',
  REVOCATION_REASON_INVALID:
    'The revocation reason is not one of the RFC 5280 reason names govshare accepts.',
  CERT_BUNDLE_EXISTS: 'The target directory already holds a key.pem; pass force to overwrite it.',
  CERT_KEY_TYPE_INVALID:
    "The public key to certify is not of the platform's crypto profile: RSA (at least 2048 bits) under `intl`, SM2 under `gm`.",
};
