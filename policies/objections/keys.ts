/**
 * Every Redis key of objections, from the prefix the caller passes (e.g. `gs:`): the shared
 * workflow-record keys (policies/record-store.ts) under the hash tag `{objections}`. The claim field of
 * `pending` is the record key (dept:resource:item:sha256 of the key value) of the open objection, so
 * there is one open objection per record and item; `open` is scored by the answer deadline.
 */
import { workflowRecordKeys } from '../record-store.js';

export function objectionKeys(prefix: string) {
  return workflowRecordKeys(prefix, 'objections');
}

export type ObjectionKeys = ReturnType<typeof objectionKeys>;
