/**
 * Onward disclosure ([HB-S] 14, 24; [HC-R] 27, 37): data from the platform serves the consumer's own use;
 * passing it to another department or unit needs the provider's written consent, recorded on the grant
 * (who consented, when, to whom, under which document). Data responses and bulk manifests state the
 * restriction so that it travels with the data.
 */
import { type Static, Type } from '@sinclair/typebox';
import { checkUscc } from '../catalog/identifiers.js';
import { ONWARD_CONSENT_FORBIDDEN, ONWARD_CONSENT_INVALID } from './errors.js';
import type { Actor, Grant, OnwardConsent } from './grant.js';

/** The response header that states the restriction on every data response. */
export const ONWARD_HEADER = 'x-govshare-onward-disclosure';

export const UseRestriction = Type.Object(
  {
    ownUseOnly: Type.Boolean({ description: 'true: no onward disclosure beyond the recipients below' }),
    onwardDisclosure: Type.Union([Type.Literal('forbidden'), Type.Literal('consented')]),
    recipients: Type.Array(Type.String(), { description: 'Departments the provider consented to' }),
  },
  { additionalProperties: false, description: 'What the consumer may do with the data beyond its own use' },
);
export type UseRestriction = Static<typeof UseRestriction>;

export interface OnwardConsentRequest {
  recipientDept: string;
  recipientName: string;
  purpose: string;
  document: string;
}

export function useRestrictionOf(grant: Pick<Grant, 'onwardConsents'>): UseRestriction {
  const recipients = [...new Set((grant.onwardConsents ?? []).map((c) => c.recipientDept))];
  return {
    ownUseOnly: true,
    onwardDisclosure: recipients.length > 0 ? 'consented' : 'forbidden',
    recipients,
  };
}

/** `forbidden`, or `consented; recipients="A,B"` (structured-field style). */
export function onwardDisclosureHeader(grant: Pick<Grant, 'onwardConsents'>): string {
  const restriction = useRestrictionOf(grant);
  return restriction.onwardDisclosure === 'forbidden'
    ? 'forbidden'
    : `consented; recipients="${restriction.recipients.join(',')}"`;
}

/** The consent to record, after checking who gives it and to whom. */
export function onwardConsent(
  actor: Actor,
  grant: Grant,
  request: OnwardConsentRequest,
  at: Date,
): OnwardConsent {
  if (actor.role !== 'dept-admin' || actor.dept !== grant.providerCode) {
    throw new ONWARD_CONSENT_FORBIDDEN(
      `only an administrator of the provider department ${grant.providerCode} consents to passing the data of grant ${grant.id} on`,
    );
  }
  const code = checkUscc(request.recipientDept);
  if (!code.ok) {
    throw new ONWARD_CONSENT_INVALID(
      `recipientDept is not a valid unified social credit code: ${code.reason}`,
    );
  }
  if (request.recipientDept === grant.deptCode) {
    throw new ONWARD_CONSENT_INVALID('recipientDept is the consumer itself: its own use needs no consent');
  }
  for (const field of ['recipientName', 'purpose', 'document'] as const) {
    if (request[field].trim() === '') throw new ONWARD_CONSENT_INVALID(`${field}: must not be blank`);
  }
  return {
    recipientDept: request.recipientDept,
    recipientName: request.recipientName.trim(),
    purpose: request.purpose.trim(),
    document: request.document.trim(),
    consentedBy: { role: actor.role, name: actor.name, dept: actor.dept },
    consentedAt: at.toISOString(),
  };
}
