/** `govshare stats verify FILE --ca CA.pem`: a signed report verifies; a tampered one or another CA does not. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { CliIo } from '../../../gateway/cli/command.js';
import { statsCommand } from '../../../gateway/cli/commands/stats.js';
import { type StatsReport, signStatsReport } from '../../../policies/stats/report.js';
import { makePlatform } from '../../certs/platform-fixture.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIo = { out: (line) => out.push(line), err: (line) => err.push(line), env: {} };
  return { cli, out, err };
}

t.test('stats verify checks a report file against the CA certificate', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stats-verify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { platform } = await makePlatform(t);
  const other = await makePlatform(t);
  const report: StatsReport = {
    type: 'govshare.stats-report',
    period: '2026-11',
    issuedAt: new Date().toISOString(),
    statistics: {
      from: '2026-11-01',
      to: '2026-11-30',
      generatedAt: new Date().toISOString(),
      departments: [],
    },
  };
  const signed = await signStatsReport(report, platform.platformSigner, platform.signingCertPem);
  const file = join(dir, 'report.json');
  const ca = join(dir, 'ca.pem');
  const otherCa = join(dir, 'other-ca.pem');
  writeFileSync(file, JSON.stringify(signed));
  writeFileSync(ca, platform.caCertPem);
  writeFileSync(otherCa, other.platform.caCertPem);

  const ok = io();
  t.equal(await statsCommand.run(['verify', file, '--ca', ca], ok.cli), 0);
  t.match(ok.out, [/2026-11 verified/]);

  const foreign = io();
  t.equal(await statsCommand.run(['verify', file, '--ca', otherCa], foreign.cli), 1);
  t.match(foreign.err, [/REFUSED.*platform signing certificate/]);

  signed.report.statistics.departments = [];
  signed.report.period = '2026-10';
  writeFileSync(file, JSON.stringify(signed));
  const tampered = io();
  t.equal(await statsCommand.run(['verify', file, '--ca', ca], tampered.cli), 1);
  t.match(tampered.err, [/REFUSED.*signature/]);

  writeFileSync(file, '{not json');
  const broken = io();
  t.equal(await statsCommand.run(['verify', file, '--ca', ca], broken.cli), 1);
  t.match(broken.err, [/not a JSON document/]);

  await t.rejects(statsCommand.run(['verify', file], io().cli), { message: /--ca is required/ });
  await t.rejects(statsCommand.run(['verify', '--ca', ca], io().cli), {
    message: /one report file/,
  });
});
