/**
 * Bulk export throughput: residents from the front-end processor simulator (in a child process, so it
 * does not share this process's CPU) through the exchange runner — grant obligations with masking,
 * jsonl, gzip, envelope encryption, checkpoints in a private Redis — compared with only paging the same
 * rows through the HTTP connector. Reports rows/s, the gateway process's CPU time per row (steadier than
 * wall time on a shared machine), file size and peak RSS, sampled every 20 ms.
 *
 *   npx tsc -p . && node dist/bench/exchange-export.js [rows, default 200000] [page size, default 1000]
 *
 * Measured on the 2-vCPU build machine (Node 20), other builds running: see the report of the exchange
 * helper in the project log; re-measure on the target machine.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CatalogService } from '../catalog/service.js';
import { decryptFile } from '../certs/envelope.js';
import { initPlatform, loadPlatform } from '../certs/platform.js';
import { addDepartment, addSystem, issueCertificate } from '../certs/registry.js';
import { CertsStore } from '../certs/store.js';
import { HttpConnectorFactory } from '../connectors/http-connector.js';
import { ConnectorRegistry } from '../connectors/registry.js';
import { startSimulator } from '../connectors/simulator/server.js';
import type { ExchangeDeps } from '../exchange/deps.js';
import { jobFilePath } from '../exchange/paths.js';
import { runExportJob } from '../exchange/runner.js';
import { submitExchangeJob } from '../exchange/service.js';
import { createRedisClient } from '../platform/redis.js';
import { GrantStore } from '../policies/grant-store.js';
import { DEMO_CODES, DEMO_DEPARTMENTS, demoCatalog } from '../scripts/lib/demo-catalog.js';
import { startLocalRedis } from '../scripts/lib/local-redis.js';

async function simulatorChild(rows: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--simulator', String(rows)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once('exit', () => reject(new Error('the simulator child exited')));
  });
  return { url, child };
}

function rssSampler() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}

const mb = (bytes: number) => Math.round(bytes / 1048576);

async function main(rows: number, pageSize: number): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'govshare-bench-exchange-'));
  const redisServer = await startLocalRedis();
  const { url, child } = await simulatorChild(rows);
  const redis = createRedisClient(redisServer.url);
  try {
    const dataDir = join(work, 'data');
    await initPlatform(dataDir);
    const platform = loadPlatform(dataDir);
    const prefix = 'bench:';
    const now = new Date();
    const certs = new CertsStore(redis, prefix);
    const catalog = new CatalogService(redis, prefix);
    const grants = new GrantStore(redis, prefix);
    const bureau = { role: 'bureau' as const, name: 'bench' };
    const population = demoCatalog(url).find((e) => e.code === DEMO_CODES.population)!;
    await catalog.importEntry(bureau, population);
    const consumer = DEMO_DEPARTMENTS.humanResources;
    await addDepartment(certs, { code: consumer.code, name: consumer.name }, now);
    await addSystem(
      certs,
      { deptCode: consumer.code, systemId: consumer.system, name: consumer.systemName },
      now,
    );
    const cert = await issueCertificate(
      platform,
      certs,
      { deptCode: consumer.code, systemId: consumer.system },
      now,
    );
    await grants.create(bureau, population, {
      deptCode: consumer.code,
      systemId: consumer.system,
      resourceCode: population.code,
      items: population.items.map((i) => i.name),
      purposes: ['bench'],
      modes: ['bulk'],
      validTo: new Date(Date.now() + 86_400_000).toISOString(),
      basis: 'bench',
    });
    const connectors = new ConnectorRegistry({
      http: new HttpConnectorFactory({ defaultTimeoutMs: 30_000 }),
    });
    const deps: ExchangeDeps = {
      redis,
      prefix,
      catalog,
      grants,
      certs,
      connectors,
      platform,
      audit: async () => undefined,
      queue: {
        enqueue: async () => undefined,
        schedule: async () => undefined,
        unschedule: async () => undefined,
      },
      settings: { exchangeDir: join(work, 'exchange'), pageSize },
    };

    // Paging alone: what the provider and the connector cost.
    const connector = connectors.get(population.service!);
    const baseRss = process.memoryUsage().rss;
    let fetched = 0;
    let cursor: string | undefined;
    const t0 = performance.now();
    do {
      const page = await connector.page({ limit: pageSize, ...(cursor ? { after: cursor } : {}) });
      fetched += page.rows.length;
      cursor = page.next;
    } while (cursor);
    const fetchSeconds = (performance.now() - t0) / 1000;

    const caller = { deptCode: consumer.code, systemId: consumer.system, serial: cert.serial };
    const job = await submitExchangeJob(
      deps,
      caller,
      { resource: population.code, kind: 'full', format: 'jsonl' },
      { purpose: 'bench', userId: 'bench.official' },
    );
    const sampler = rssSampler();
    const t1 = performance.now();
    const cpu0 = process.cpuUsage();
    const done = await runExportJob(deps, job.id);
    const exportSeconds = (performance.now() - t1) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const exportCpuSeconds = (cpu.user + cpu.system) / 1e6;
    const peakRss = sampler.stop();

    const file = jobFilePath(deps.settings.exchangeDir, job.id, 'jsonl');
    const t2 = performance.now();
    const opened = await decryptFile({ privateKey: cert.keyPem! }, file, join(work, 'rows.jsonl'), {
      gunzip: true,
    });
    const decryptSeconds = (performance.now() - t2) / 1000;

    console.log(
      JSON.stringify(
        {
          rows: done.progress.rows,
          pageSize,
          fetchOnly: { seconds: +fetchSeconds.toFixed(2), rowsPerSecond: Math.round(fetched / fetchSeconds) },
          export: {
            seconds: +exportSeconds.toFixed(2),
            rowsPerSecond: Math.round(done.progress.rows / exportSeconds),
            cpuSeconds: +exportCpuSeconds.toFixed(2),
            rowsPerCpuSecond: Math.round(done.progress.rows / exportCpuSeconds),
            ofFetchOnly: `${Math.round((100 * fetchSeconds) / exportSeconds)}%`,
            segments: done.progress.segments,
            fileMiB: +(statSync(file).size / 1048576).toFixed(1),
            jsonlMiB: +(opened.bytes / 1048576).toFixed(1),
          },
          consumerDecryptGunzip: {
            seconds: +decryptSeconds.toFixed(2),
            rowsPerSecond: Math.round(done.progress.rows / decryptSeconds),
          },
          rssMiB: { beforeExport: mb(baseRss), peakDuringExport: mb(peakRss) },
        },
        null,
        2,
      ),
    );
    await connectors.close();
  } finally {
    child.kill('SIGTERM');
    await redis.quit();
    await redisServer.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

// Last, so that the constants above are initialised.
if (process.argv[2] === '--simulator') {
  const sim = await startSimulator({
    datasets: { residents: Number(process.argv[3]), enterprises: 10, socialInsurance: 10 },
  });
  process.stdout.write(`${sim.url}\n`);
} else {
  await main(Number(process.argv[2] ?? 200_000), Number(process.argv[3] ?? 1000));
}
