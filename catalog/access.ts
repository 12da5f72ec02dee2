/**
 * Who may do what in the catalog. A department administrator acts only for the department in its token;
 * the bureau (platform operator) reviews, and may stop a resource; auditors and security administrators
 * only read. Drafts and submitted versions are seen by their owner and the bureau only.
 */
import { CatalogForbidden, CatalogNotOwner } from './errors.js';
import { ActorRef } from './records.js';
import { describeFirstError, firstErrorAjv } from './validation.js';

const validateActor = firstErrorAjv.compile<ActorRef>(ActorRef);

/** A copy of the actor with only the fields records keep; refuses a malformed actor. */
export function actorRef(actor: ActorRef): ActorRef {
  const ref: ActorRef = { role: actor.role, name: actor.name };
  if (actor.dept !== undefined) ref.dept = actor.dept;
  if (!validateActor(ref)) throw new CatalogForbidden(`actor ${describeFirstError(validateActor.errors)}`);
  if (ref.role === 'dept-admin' && ref.dept === undefined) {
    throw new CatalogForbidden('actor: a department administrator must name its department (dept)');
  }
  return ref;
}

/** Only an administrator of the provider department. */
export function assertOwner(actor: ActorRef, providerCode: string, action: string): void {
  if (actor.role !== 'dept-admin') {
    throw new CatalogForbidden(
      `role ${actor.role} cannot ${action}; an administrator of the provider department can`,
    );
  }
  if (actor.dept !== providerCode) {
    throw new CatalogNotOwner(
      `department ${actor.dept} cannot ${action}: the resource belongs to department ${providerCode}`,
    );
  }
}

export function assertBureau(actor: ActorRef, action: string): void {
  if (actor.role !== 'bureau')
    throw new CatalogForbidden(`role ${actor.role} cannot ${action}; the bureau can`);
}

export function assertOwnerOrBureau(actor: ActorRef, providerCode: string, action: string): void {
  if (actor.role === 'bureau') return;
  assertOwner(actor, providerCode, action);
}

export function assertImporter(actor: ActorRef): void {
  if (actor.role !== 'bureau' && actor.role !== 'system') {
    throw new CatalogForbidden(
      `role ${actor.role} cannot import the catalog; the bureau or the platform can`,
    );
  }
}

/** Whether the actor sees versions that were never published (drafts, submitted, rejected). */
export function seesUnpublished(actor: ActorRef, providerCode: string): boolean {
  return (
    actor.role === 'bureau' ||
    actor.role === 'system' ||
    (actor.role === 'dept-admin' && actor.dept === providerCode)
  );
}
