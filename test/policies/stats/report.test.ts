/**
 * The signed statistics report: the period rules, and signing and verifying under both crypto profiles
 * with the real platform keys (RSA-PSS under intl, SM2-SM3 under gm); a tampered report, a foreign
 * certificate or another CA is refused.
 */
import t from 'tap';
import {
  periodDays,
  previousPeriod,
  reportDigest,
  type StatsReport,
  signStatsReport,
  verifyStatsReport,
} from '../../../policies/stats/report.js';
import { makePlatform } from '../../certs/platform-fixture.js';

function report(): StatsReport {
  return {
    type: 'govshare.stats-report',
    period: '2026-02',
    issuedAt: new Date().toISOString(),
    statistics: {
      from: '2026-02-01',
      to: '2026-02-28',
      generatedAt: new Date().toISOString(),
      departments: [
        {
          dept: '11420100MB1234593',
          applications: {
            received: 3,
            decided: 2,
            granted: 1,
            rejected: 1,
            refused: 0,
            decidedWithinLimit: 1,
            withinLimitShare: 0.5,
            medianWorkdays: 4.5,
            p90Workdays: 9,
            overdue: 1,
            overdueByStage: { check: 0, directGrant: 0, authorize: 1, notify: 0 },
          },
          applicationsFiled: 0,
          callsMade: { allowed: 10, denied: 1, deniedByReason: { QUOTA_EXCEEDED: 1 } },
          callsServed: { allowed: 0, denied: 0, deniedByReason: {} },
          availability: { probes: 288, ok: 280, share: 0.9722 },
        },
      ],
    },
  };
}

t.test('a period is a month that has ended', async (t) => {
  t.same(periodDays('2026-02'), { from: '2026-02-01', to: '2026-02-28' });
  t.same(periodDays('2024-02'), { from: '2024-02-01', to: '2024-02-29' }, 'leap year');
  t.same(periodDays('2025-12', '2026-01-01'), { from: '2025-12-01', to: '2025-12-31' });
  for (const bad of ['2026-13', '2026-00', '26-01', '2026-1', '1999-12', '2026-01-01', ''])
    t.throws(() => periodDays(bad), { code: 'STATS_REPORT_PERIOD_INVALID' }, bad);
  t.throws(() => periodDays('2026-03', '2026-03-31'), { code: 'STATS_REPORT_PERIOD_INVALID' }, 'last day');
  t.throws(() => periodDays('2026-04', '2026-03-31'), { code: 'STATS_REPORT_PERIOD_INVALID' }, 'future');
  t.equal(previousPeriod(Date.parse('2026-03-01T00:05:00+08:00')), '2026-02');
  t.equal(previousPeriod(Date.parse('2026-01-01T00:05:00+08:00')), '2025-12');
  // 2026-02-28T17:00Z is already March 1st in China Standard Time.
  t.equal(previousPeriod(Date.parse('2026-02-28T17:00:00Z')), '2026-02');
});

for (const crypto of ['intl', 'gm'] as const) {
  t.test(`signed and verified under the ${crypto} profile; tampering refused`, async (t) => {
    const { platform } = await makePlatform(t, { crypto });
    const signed = await signStatsReport(report(), platform.platformSigner, platform.signingCertPem);
    t.equal(signed.signature.alg, crypto === 'gm' ? 'sm2-sm3' : 'rsa-pss-sha256');
    t.same(verifyStatsReport(signed, platform.caCertPem), { ok: true, period: '2026-02' });
    // Through JSON and back, as a department downloads it.
    t.same(verifyStatsReport(JSON.parse(JSON.stringify(signed)), platform.caCertPem), {
      ok: true,
      period: '2026-02',
    });

    const tampered = structuredClone(signed);
    tampered.report.statistics.departments[0]!.applications.overdue = 0;
    t.not(reportDigest(tampered.report), reportDigest(signed.report));
    t.match(verifyStatsReport(tampered, platform.caCertPem), { ok: false, reason: /signature/ });

    const reordered = structuredClone(signed);
    reordered.signature.value = Buffer.from(signed.signature.value, 'base64').reverse().toString('base64');
    t.match(verifyStatsReport(reordered, platform.caCertPem), { ok: false });

    const other = await makePlatform(t, { crypto });
    t.match(
      verifyStatsReport(signed, other.platform.caCertPem),
      { ok: false, reason: /not the platform signing certificate/ },
      'another CA does not vouch for it',
    );
    const resigned = await signStatsReport(report(), other.platform.platformSigner, platform.signingCertPem);
    t.match(
      verifyStatsReport(resigned, platform.caCertPem),
      { ok: false },
      'a key that is not the certificate’s',
    );
    const caAsSigner = structuredClone(signed);
    caAsSigner.signature.certificate = platform.caCertPem;
    t.match(verifyStatsReport(caAsSigner, platform.caCertPem), { ok: false });
    t.match(verifyStatsReport({ report: {} }, platform.caCertPem), { ok: false });
    t.match(verifyStatsReport('nonsense', platform.caCertPem), { ok: false });
  });
}
