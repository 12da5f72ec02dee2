/**
 * Every Redis key of the application workflow, from the prefix the caller passes (e.g. `gs:`): the shared
 * workflow-record keys (policies/record-store.ts) under the hash tag `{applications}`, and the
 * application's own. The claim field of `pending` is the consumer key (dept:system:resource) of that
 * system's open application; `open` is scored by the deadline of the current stage.
 */
import { workflowRecordKeys } from '../record-store.js';

export function applicationKeys(prefix: string) {
  const shared = workflowRecordKeys(prefix, 'applications');
  const { base } = shared;
  return {
    ...shared,
    /** Decided applications scored by decidedAt. */
    decided: `${base}idx:decided`,
    /** String: token of the request deciding the application now (ApplicationStore.exclusive). */
    decisionLock: (id: string) => `${base}lock:${id}`,
    /** Every stage as `<id>.<seq>`, scored by its deadline (statistics of overdue stages). */
    due: `${base}idx:due`,
  };
}

export type ApplicationKeys = ReturnType<typeof applicationKeys>;
