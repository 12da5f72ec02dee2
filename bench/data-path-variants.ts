/**
 * Variants of the data-path benchmark (issue 6 §1), each beside its baseline in the same run, 50 connections,
 * closed loop (autocannon), on the stack of bench/data-path.ts (lib/stack.ts):
 *
 * - audit durability: keyed lookups with Redis AOF `appendfsync everysec` (baseline) vs `always`
 *   (switched with CONFIG SET on the same Redis, so the gateway and its warm JIT are the same);
 * - gateway processes: 1 vs 2 `govshare serve` processes (instances bench-gw-1/-2, same Redis and prefix)
 *   behind the same nginx (lib/nginx.ts, one worker, upstream keep-alive), so that only the process count
 *   differs; both gateways run with GOVSHARE_PUBLIC_ORIGIN = the nginx origin, which every request is signed
 *   for (so a direct call signed the same way verifies too);
 * - batch: signed `POST /v1/data/{code}/query` with 100 keys (Content-Digest covered) vs the bare proxy
 *   doing the same batch;
 * - payload: batches sized so govshare's answer is ~1 KB and ~100 KB (calibrated from two calls first;
 *   GOVSHARE_BATCH_MAX_KEYS=1000), vs the bare proxy with the same batch.
 *
 *   npx tsc -p . --outDir .build/bench && node .build/bench/bench/data-path-variants.js [--quick] [--json FILE]
 *
 * Correctness while measuring: non-2xx counted; sampled answers checked (row count = keys sent, govshare's
 * rows projected and masked); the audit streams of both instances together hold one record per govshare
 * response. Results and how to read them: bench/README.md.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { auditKeys } from '../audit/keys.js';
import { sampleKeys } from '../connectors/simulator/datasets.js';
import { findFreePort, requireBinary } from '../scripts/lib/local-tools.js';
import { checksSummary, labelledInspector, meanBodyBytes, sanityCheck } from './lib/checks.js';
import { type Child, readCpuMs, sampleRss } from './lib/children.js';
import { type Measurement, runLoad } from './lib/load.js';
import { NGINX_MISSING, type Nginx, nginxBinary, nginxVersion, startNginx } from './lib/nginx.js';
import { BENCH_PURPOSE } from './lib/platform-setup.js';
import { type PresignedRequest, presign } from './lib/presign.js';
import { environment } from './lib/report.js';
import { startStack } from './lib/stack.js';
import { type RunSpec, type VariantRow, variantSummary, variantsTable, withRatios } from './lib/variants.js';

const { values: args } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, json: { type: 'string' } },
});
const CONNECTIONS = 50;
const SECONDS = args.quick ? 4 : 8;
const PREFIX = 'bench:';
const INSTANCES = ['bench-gw-1', 'bench-gw-2'] as const;
const POOL_CONNECTIONS = 32;
/**
 * Rounds of the two A/B variants (fsync, processes), in the order A B, then B A: a drift of the shared
 * machine then weighs on both sides alike.
 */
const ROUNDS = args.quick ? 1 : 2;
const inOrder = <T>(pair: readonly [T, T], run: number): T[] =>
  run % 2 === 1 ? [...pair] : [pair[1], pair[0]];
/** Pre-signed lookups of a warm-up run (the cold gateway's runs take twice as many). */
const WARM_UP_LOOKUPS = args.quick ? 1000 : 1500;
const BATCH_KEYS = 100;
const BATCH_MAX_KEYS = 1000;
const PAYLOADS = [
  { name: 'payload ~1 KB', bytes: 1024 },
  { name: 'payload ~100 KB', bytes: 102_400 },
];
/** Checked answers: one in this many (batches are few and large, so more of them than data-path checks). */
const SAMPLE_EVERY = 25;
const KEYS = sampleKeys('residents', 20_000);

const startedAt = performance.now();
const log = (line: string) =>
  console.log(`[${((performance.now() - startedAt) / 1000).toFixed(1).padStart(5)} s] ${line}`);
let keyIndex = 0;
const nextKey = () => KEYS[keyIndex++ % KEYS.length]!;
/** Distinct keys (a batch never wraps around onto itself: it is far smaller than KEYS). */
const nextKeys = (n: number) => Array.from({ length: n }, nextKey);

async function main(): Promise<void> {
  console.log(environment(requireBinary('redis-server', 'redis-server')));
  const nginxPath = nginxBinary();
  console.log(
    nginxPath ? `nginx ${nginxVersion(nginxPath)} (${nginxPath}), 1 worker process` : NGINX_MISSING,
  );
  log(`${CONNECTIONS} connections, closed loop, ${SECONDS} s per measured run`);
  // Chosen first: the gateways verify every signature against this origin, whichever way a request comes.
  const nginxPort = await findFreePort();
  const origin = `http://127.0.0.1:${nginxPort}`;
  const stack = await startStack({
    prefix: PREFIX,
    instance: INSTANCES[0],
    poolConnections: POOL_CONNECTIONS,
    gatewayEnv: { GOVSHARE_PUBLIC_ORIGIN: origin, GOVSHARE_BATCH_MAX_KEYS: String(BATCH_MAX_KEYS) },
  });
  let nginx: Nginx | undefined;
  try {
    const { client, gateway, proxy, platform } = stack;
    const gateway2 = await stack.addGateway(INSTANCES[1]);
    const redisPid = stack.redis.process.pid!;
    log(`gateways ${gateway.url} ${gateway2.url} (public origin ${origin}), bare proxy ${proxy.url}`);

    const dataPath = `/v1/data/${encodeURIComponent(platform.resourceCode)}`;
    const signJob = {
      keyPem: platform.caller.keyPem,
      keyId: platform.caller.serial,
      origin,
      headers: { 'x-purpose': BENCH_PURPOSE, 'x-user-id': 'bench.user', 'x-case-id': 'BENCH-2026-0001' },
    };
    const signLookups = (n: number) =>
      presign({ ...signJob, paths: Array.from({ length: n }, () => `${dataPath}?idNumber=${nextKey()}`) });
    const signBatches = (keys: number) => (n: number) =>
      presign({
        ...signJob,
        paths: Array.from({ length: n }, () => `${dataPath}/query`),
        bodies: Array.from({ length: n }, () => JSON.stringify({ keys: nextKeys(keys) })),
      });
    const proxyBatch = (keys: number) => () => ({
      method: 'POST',
      path: `${dataPath}/query`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ keys: nextKeys(keys) }),
    });

    await sanityCheck(gateway.url, (await signLookups(1))[0]!, proxy.url, dataPath);
    let govshareResponses = 1;
    // Two batches of different sizes give the bytes per row and the fixed part of govshare's answer.
    const [one, twenty] = [
      await batchBytes(gateway.url, signBatches(1)),
      await batchBytes(gateway.url, signBatches(20)),
    ];
    govshareResponses += 2;
    const perRow = (twenty - one) / 19;
    const fixed = one - perRow;
    const payloadKeys = PAYLOADS.map((p) =>
      Math.min(BATCH_MAX_KEYS, Math.max(1, Math.round((p.bytes - fixed) / perRow))),
    );
    log(
      `govshare answer: ${Math.round(fixed)} B + ${perRow.toFixed(1)} B per row; payload batches ${payloadKeys.join(', ')} keys`,
    );

    const rows: VariantRow[] = [];
    const measure = async (
      row: RunSpec,
      processes: Child[],
      run: () => Promise<Measurement>,
      through?: Nginx,
    ) => {
      const load1 = loadavg()[0]!;
      const rss = processes.map((p) => sampleRss(p));
      const cpu = () => ({
        target: processes.reduce((sum, p) => sum + p.cpuMs(), 0),
        nginx: through ? through.cpuMs() : Number.NaN,
        redis: readCpuMs(redisPid),
      });
      const before = cpu();
      const m = await run();
      const after = cpu();
      const result: VariantRow = {
        ...m,
        ...row,
        bodyBytes: meanBodyBytes(label(row)),
        cpuPerResponse: (after.target - before.target) / m.responses,
        nginxCpuPerResponse: (after.nginx - before.nginx) / m.responses,
        redisCpuPerResponse: (after.redis - before.redis) / m.responses,
        rssMiB: rss.reduce((sum, r) => sum + r.stop(), 0) / 1024,
        load1,
        ratio: Number.NaN,
      };
      rows.push(result);
      log(
        `${row.variant}: ${row.target}: ${Math.round(m.rps)} req/s, p50 ${m.p50.toFixed(2)} p99 ${m.p99.toFixed(2)} ms, ` +
          `non-2xx ${m.non2xx}, errors ${m.errors}, CPU ${result.cpuPerResponse.toFixed(2)} ms/resp`,
      );
    };
    const label = (row: Pick<VariantRow, 'variant' | 'target'>) => `${row.variant}: ${row.target}`;
    const inspect = (row: Pick<VariantRow, 'variant' | 'target' | 'rowsPerResponse'>, masked: boolean) =>
      labelledInspector(label(row), { rows: row.rowsPerResponse, masked });

    /** One count-bounded run over pre-signed requests (past the pool's end a request would be a replay). */
    const govshareRun = async (
      url: string,
      pool: PresignedRequest[],
      check: ReturnType<typeof labelledInspector>,
    ) => {
      let next = 0;
      const m = await runLoad({
        url,
        connections: CONNECTIONS,
        amount: pool.length - CONNECTIONS,
        next: () => pool[Math.min(next++, pool.length - 1)]!,
        inspect: check,
        sampleEvery: SAMPLE_EVERY,
      });
      govshareResponses += m.responses;
      return m;
    };
    /** A warm-up run, whose rate sizes the measured run to last about SECONDS. */
    const govshare = async (
      row: RunSpec,
      url: string,
      processes: Child[],
      sign: (n: number) => Promise<PresignedRequest[]>,
      warmUp: number,
      through?: Nginx,
    ) => {
      const check = inspect(row, true);
      const warm = await govshareRun(url, await sign(Math.max(warmUp, CONNECTIONS * 2) + CONNECTIONS), check);
      const amount = Math.min(60_000, Math.max(CONNECTIONS * 2, Math.round(warm.rps * SECONDS)));
      const pool = await sign(amount + CONNECTIONS);
      await measure(row, processes, () => govshareRun(url, pool, check), through);
    };
    const bareProxy = async (
      row: RunSpec,
      next: () => { method: string; path: string; headers?: Record<string, string>; body?: string },
    ) => {
      const check = inspect(row, false);
      const run = (seconds: number) =>
        runLoad({
          url: proxy.url,
          connections: CONNECTIONS,
          seconds,
          next,
          inspect: check,
          sampleEvery: SAMPLE_EVERY,
        });
      await run(1);
      await measure(row, [proxy], () => run(SECONDS));
    };

    // A gateway's first run starts from cold (JIT): its warm-up is twice as long.
    const warmed = new Set<Child>();
    const warmUpFor = (processes: Child[]) => {
      const cold = processes.some((p) => !warmed.has(p));
      for (const p of processes) warmed.add(p);
      return WARM_UP_LOOKUPS * (cold ? 2 : 1);
    };

    // Audit durability: the same gateway and Redis, only the AOF fsync policy changes.
    for (let run = 1; run <= ROUNDS; run++) {
      for (const fsync of inOrder(['everysec', 'always'] as const, run)) {
        await client.config('SET', 'appendfsync', fsync);
        const set = (await client.config('GET', 'appendfsync')) as string[];
        if (set[1] !== fsync) throw new Error(`Redis kept appendfsync ${set[1]}`);
        const row = {
          variant: 'audit AOF fsync',
          target: `govshare, ${fsync}`,
          baseline: fsync === 'everysec',
          rowsPerResponse: 1,
          run,
        };
        await govshare(row, gateway.url, [gateway], signLookups, warmUpFor([gateway]));
      }
    }
    await client.config('SET', 'appendfsync', 'everysec');

    // Gateway processes behind the same nginx on the same port, so that only the process count differs.
    if (nginxPath) {
      // Gateway 2 is warmed up directly first, as gateway 1 was by the runs above: both are then as warm.
      const check = labelledInspector('gateway 2 warm-up', { rows: 1, masked: true });
      await govshareRun(gateway2.url, await signLookups(warmUpFor([gateway2]) + CONNECTIONS), check);
      for (let run = 1; run <= ROUNDS; run++) {
        for (const upstreams of inOrder([[gateway], [gateway, gateway2]], run)) {
          nginx = await startNginx({
            mode: 'pass-through',
            upstreams: upstreams.map((g) => g.url),
            port: nginxPort,
            keepalive: POOL_CONNECTIONS,
          });
          const row = {
            variant: 'gateway processes',
            target: `nginx → ${upstreams.length} govshare`,
            baseline: upstreams.length === 1,
            rowsPerResponse: 1,
            run,
          };
          await govshare(row, nginx.url, upstreams, signLookups, warmUpFor(upstreams), nginx);
          await nginx.stop();
          nginx = undefined;
        }
      }
    } else {
      log(`gateway processes: skipped, ${NGINX_MISSING}`);
    }

    const batches = [
      { variant: `batch of ${BATCH_KEYS} keys`, keys: BATCH_KEYS },
      ...PAYLOADS.map((p, i) => ({ variant: `${p.name} (${payloadKeys[i]} keys)`, keys: payloadKeys[i]! })),
    ];
    for (const batch of batches) {
      const base = { variant: batch.variant, rowsPerResponse: batch.keys, run: 1 };
      await bareProxy({ ...base, target: 'bare proxy', baseline: true }, proxyBatch(batch.keys));
      // A few seconds: small batches cost about a lookup each, large ones ~0.01 ms of gateway CPU per row (at least 2 requests per connection).
      const warmUp = Math.min(WARM_UP_LOOKUPS / 2, Math.round(20_000 / batch.keys));
      await govshare(
        { ...base, target: 'govshare', baseline: false },
        gateway.url,
        [gateway],
        signBatches(batch.keys),
        warmUp,
      );
    }

    const streams = await Promise.all(INSTANCES.map((i) => client.xlen(auditKeys(PREFIX).stream(i))));
    const auditRecords = streams.reduce((a, b) => a + b, 0);
    const table = withRatios(rows);
    console.log(
      `\n## Variants, ${CONNECTIONS} connections, closed loop, ${SECONDS} s per run\n\n${variantsTable(table)}`,
    );
    if (!nginxPath) console.log(`\n${NGINX_MISSING}: the gateway-processes variant was not run`);
    console.log('');
    console.log(variantSummary(table));
    console.log(
      `\ngovshare responses ${govshareResponses}; audit records ${streams.join(' + ')} = ${auditRecords} ` +
        `(${auditRecords === govshareResponses ? 'one per response' : 'MISMATCH'})`,
    );
    console.log(checksSummary());
    console.log(
      `load average at the end: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    if (args.json) {
      const raw = {
        rows: table,
        calibration: { fixed, perRow, payloadKeys },
        auditRecords,
        govshareResponses,
      };
      writeFileSync(args.json, `${JSON.stringify(raw, null, 2)}\n`);
    }
  } finally {
    await nginx?.stop();
    await stack.stop();
  }
  log('done');
}

/** Body bytes of govshare's answer to one signed batch (which must be 200). */
async function batchBytes(url: string, sign: (n: number) => Promise<PresignedRequest[]>): Promise<number> {
  const request = (await sign(1))[0]!;
  const res = await fetch(`${url}${request.path}`, {
    method: 'POST',
    headers: request.headers,
    body: request.body!,
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`the gateway refused a signed batch: ${res.status} ${body}`);
  return Buffer.byteLength(body);
}

await main();
