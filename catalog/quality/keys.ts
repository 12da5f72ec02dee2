/**
 * Every Redis key of the quality checks. The module part is a hash tag (`{quality}`) so that a run's
 * report, the score index and the correction task are written by one Lua script in one Cluster slot.
 */
export interface QualityKeys {
  /** List of report JSON of one resource, newest first, trimmed to the history limit. */
  runs(code: string): string;
  /** Sorted set: resource code scored by its latest score. */
  scores: string;
  /** Hash: resource code → id of its open correction task. */
  openTasks: string;
  /** Hash: one correction task (fields of CorrectionTask; failingRules as JSON). */
  task(id: string): string;
}

export function qualityKeys(prefix: string): QualityKeys {
  const base = `${prefix}{quality}:`;
  return {
    runs: (code) => `${base}runs:${code}`,
    scores: `${base}scores`,
    openTasks: `${base}open-tasks`,
    task: (id) => `${base}task:${id}`,
  };
}
