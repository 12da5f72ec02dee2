/**
 * Every Redis key of the statistics, from the prefix the caller passes. All share the hash tag `{stats}`
 * so that a period's day keys can be read in one pipeline on Redis Cluster too. Days are calendar dates
 * in China Standard Time.
 */
export function statsKeys(prefix: string) {
  const base = `${prefix}{stats}:`;
  return {
    /** Hash per day: `consumer|provider|resource|decision|reason` → number of data calls. */
    calls: (day: string) => `${base}calls:${day}`,
    /** Hash per day: `provider|resource|ok` and `provider|resource|fail` → number of health probes. */
    probes: (day: string) => `${base}probes:${day}`,
    /** Hash: resource code → JSON of its latest probe. */
    lastProbe: `${base}probe:last`,
    /** Hash: resource code → failed probes in a row (0 after a good one): outage detection. */
    failStreak: `${base}probe:streak`,
    /** String per period `YYYY-MM`: JSON of the signed statistics report (policies/stats/report.ts). */
    report: (period: string) => `${base}report:${period}`,
    /** Sorted set: periods with a report (score = year × 12 + month). */
    reports: `${base}reports`,
    /** Hash per period: department code → ISO time its report was announced to it. */
    reportDelivered: (period: string) => `${base}report:${period}:delivered`,
  };
}
