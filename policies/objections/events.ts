/**
 * What objection events carry and how a change is written into the history. Events go to department
 * webhooks, so they carry the objection id, resource and item but never the key value or a corrected
 * value: the parties read those with GET /v1/objections/{id}.
 */
import type { ActorRef } from '../../catalog/records.js';
import { actorRecord } from '../applications/commit.js';
import type { Objection, ObjectionTransition } from './schema.js';

export function objectionData(
  objection: Objection,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    objectionId: objection.id,
    state: objection.state,
    resourceCode: objection.resourceCode,
    item: objection.item,
    consumerDept: objection.consumerDept,
    providerDept: objection.providerDept,
    dueDate: objection.deadline.dueDate,
    dueAt: objection.deadline.dueAt,
    ...extra,
  };
}

/** Appends a history entry and moves the objection to `entry.to` (clock events keep the state). */
export function recordTransition(
  objection: Objection,
  entry: Omit<ObjectionTransition, 'at' | 'by' | 'from' | 'to'> &
    Partial<Pick<ObjectionTransition, 'from' | 'to'>>,
  by: ActorRef,
  at: Date,
): void {
  const to = entry.to ?? objection.state;
  const from = entry.from === undefined ? objection.state : entry.from;
  const transition: ObjectionTransition = { ...entry, from, to, at: at.toISOString(), by: actorRecord(by) };
  if (transition.reason === undefined) delete transition.reason;
  objection.history.push(transition);
  objection.state = to;
}
