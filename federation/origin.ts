/**
 * What a forwarded call carries besides the ordinary signed-call headers: the agreement it crosses under,
 * the original caller (department, system; the acting official and the case ride in x-user-id and
 * x-case-id as on any call) and the correlation id both platforms audit it under. All are covered by the
 * lower platform's signature, so the upper platform can rely on them as the lower platform's statement.
 */

import { USCC_PATTERN } from '../catalog/schema.js';
import type { ComponentId } from '../certs/httpsig/index.js';
import { defaultRequiredComponents, type SignedRequest } from '../certs/httpsig/index.js';
import { SYSTEM_ID_PATTERN } from '../certs/schema.js';
import type { CallOrigin } from '../connectors/types.js';
import { AGREEMENT_ID_PATTERN } from './agreement.js';
import { federationErrors } from './errors.js';

export const FEDERATION_HEADERS = {
  agreement: 'x-federation-agreement',
  originDept: 'x-origin-dept',
  originSystem: 'x-origin-system',
  correlation: 'x-correlation-id',
} as const;

/** The system under which a peer platform appears on this one (its operator is the department). */
export const FEDERATION_SYSTEM_ID = 'federation';

export const CORRELATION_ID = /^[A-Za-z0-9._:-]{8,128}$/;
const TEXT = /^[\x20-\x7e]{1,128}$/;
const USCC = new RegExp(USCC_PATTERN);
const SYSTEM = new RegExp(SYSTEM_ID_PATTERN);
const AGREEMENT = new RegExp(AGREEMENT_ID_PATTERN);

/** Every origin header, x-purpose and x-user-id (x-case-id when sent), and the digest of the body. */
export function forwardedRequiredComponents(request: SignedRequest): ComponentId[] {
  const required = new Set<ComponentId>(defaultRequiredComponents(request));
  required.add('x-user-id');
  for (const name of Object.values(FEDERATION_HEADERS)) required.add(name);
  return [...required];
}

/** The components the lower platform signs: those `forwardedRequiredComponents` asks for. */
export function forwardedComponents(headers: Record<string, string>): ComponentId[] {
  return [
    '@method',
    '@target-uri',
    'x-purpose',
    'x-user-id',
    ...(headers['x-case-id'] ? ['x-case-id'] : []),
    ...Object.values(FEDERATION_HEADERS),
    'content-digest',
  ];
}

export interface ForwardedCall {
  agreementId: string;
  correlationId: string;
  origin: CallOrigin & { userId: string };
}

type HeaderBag = Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string, pattern: RegExp): string {
  const value = headers[name];
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new federationErrors.FEDERATION_ORIGIN_INVALID(
      `${name} is ${value === undefined ? 'missing' : 'malformed'}: a forwarded call names its agreement, the original department (USCC), system, acting official and a correlation id, all signed`,
    );
  }
  return value;
}

/** Reads the origin headers of a forwarded call (their signature is verified separately). */
export function readForwardedCall(headers: HeaderBag): ForwardedCall {
  const caseId = headers['x-case-id'];
  return {
    agreementId: header(headers, FEDERATION_HEADERS.agreement, AGREEMENT),
    correlationId: header(headers, FEDERATION_HEADERS.correlation, CORRELATION_ID),
    origin: {
      deptCode: header(headers, FEDERATION_HEADERS.originDept, USCC),
      systemId: header(headers, FEDERATION_HEADERS.originSystem, SYSTEM),
      userId: header(headers, 'x-user-id', TEXT),
      purpose: header(headers, 'x-purpose', TEXT),
      ...(typeof caseId === 'string' && TEXT.test(caseId) ? { caseId } : {}),
    },
  };
}

/** The headers the lower platform sends (before signing) for a call it forwards. */
export function forwardedHeaders(
  agreementId: string,
  correlationId: string,
  origin: CallOrigin,
): Record<string, string> {
  if (!origin.userId) {
    throw new federationErrors.FEDERATION_ORIGIN_INVALID(
      'a forwarded call must name the acting official: send x-user-id with the call',
    );
  }
  return {
    'x-purpose': origin.purpose,
    'x-user-id': origin.userId,
    ...(origin.caseId ? { 'x-case-id': origin.caseId } : {}),
    [FEDERATION_HEADERS.agreement]: agreementId,
    [FEDERATION_HEADERS.originDept]: origin.deptCode,
    [FEDERATION_HEADERS.originSystem]: origin.systemId,
    [FEDERATION_HEADERS.correlation]: correlationId,
  };
}

/**
 * A peer platform speaks only for its own departments: the original department it names (`department`,
 * as registered here, null when it is not) must not be one
 * of this platform's own (registered here without a home platform) or another peer's. Otherwise a peer
 * could use this platform's departments' grants, or have their notices sent to itself.
 */
export function checkOriginDepartment(
  department: { homePlatform?: string } | null,
  originDept: string,
  peerPlatformId: string,
): void {
  if (department && department.homePlatform !== peerPlatformId) {
    throw new federationErrors.FEDERATION_ORIGIN_FORBIDDEN(
      `department ${originDept} is ${department.homePlatform ? `a department of ${department.homePlatform}` : "one of this platform's own departments"}, not one of ${peerPlatformId}'s: a peer platform forwards only for its own departments`,
    );
  }
}
