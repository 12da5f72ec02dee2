import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import t, { type Test } from 'tap';
import type { DataService } from '../../catalog/schema.js';
import { isProviderError, type ProviderError } from '../../connectors/errors.js';
import { HttpConnectorFactory, type HttpConnectorOptions } from '../../connectors/http-connector.js';
import { DATASET_KINDS, sampleKeys } from '../../connectors/simulator/datasets.js';
import { type Simulator, startSimulator } from '../../connectors/simulator/server.js';
import type { Connector } from '../../connectors/types.js';
import { heapAfterGc } from '../helpers/memory.js';

async function setup(t: Test, options: HttpConnectorOptions = {}, timeoutMs?: number) {
  const sim = await startSimulator({ datasets: { residents: 2500, enterprises: 100, socialInsurance: 100 } });
  const factory = new HttpConnectorFactory({ retryDelayMs: { min: 1, max: 5 }, ...options });
  t.teardown(async () => {
    await factory.close();
    await sim.close();
  });
  const service: DataService = { connector: 'http', endpoint: sim.endpoint('residents') };
  if (timeoutMs) service.timeoutMs = timeoutMs;
  return { sim, factory, connector: factory.create(service) };
}

/** Resolves with the provider error a call failed with (fails the test if it succeeded). */
async function failure(t: Test, call: Promise<unknown>): Promise<ProviderError> {
  try {
    await call;
  } catch (error) {
    t.ok(isProviderError(error), `a provider error: ${(error as Error).message}`);
    return error as ProviderError;
  }
  t.fail('the call succeeded');
  throw new Error('the call succeeded');
}

function requestsDuring(sim: Simulator) {
  const before = sim.stats().requests;
  return () => sim.stats().requests - before;
}

const IDS = sampleKeys('residents', 2501);

t.test('lookup, page and health against the simulator', async (t) => {
  const { connector } = await setup(t);
  t.same(await connector.lookup('idNumber', [IDS[7]!, IDS[2500]!, IDS[1]!], { requestId: 'req-1' }), [
    DATASET_KINDS.residents.row(7),
    DATASET_KINDS.residents.row(1),
  ]);
  t.same(await connector.lookup('idNumber', []), [], 'nothing asked, nothing sent');

  const seen: string[] = [];
  let after: string | undefined;
  do {
    const page = await connector.page(after ? { limit: 1000, after } : { limit: 1000 });
    t.equal(page.total, 2500);
    for (const row of page.rows) seen.push(String(row.idNumber));
    after = page.next;
  } while (after);
  t.same(seen, IDS.slice(0, 2500), 'every row once, in order');

  const since = '2024-12-25T00:00:00.000Z';
  const changed = await connector.page({ limit: 5000, since: { watermark: 'updatedAt', value: since } });
  const expected = IDS.slice(0, 2500).filter(
    (_, i) => DATASET_KINDS.residents.updatedAtMs(i) > Date.parse(since),
  );
  t.same(
    changed.rows.map((r) => r.idNumber),
    expected,
  );
  await t.rejects(connector.page({ limit: 0 }), RangeError);

  const health = await connector.health();
  t.equal(health.ok, true);
  t.ok(health.latencyMs >= 0 && health.latencyMs < 1000);
  t.equal(connector.circuit?.().state, 'closed');
});

t.test('a slow provider gives UPSTREAM_TIMEOUT within the timeout', async (t) => {
  const { sim, connector } = await setup(t, {}, 300);
  sim.setFault({ kind: 'delay', ms: 5_000 });
  for (const call of [() => connector.lookup('idNumber', [IDS[0]!]), () => connector.page({ limit: 10 })]) {
    const started = performance.now();
    const error = await failure(t, call());
    const elapsed = performance.now() - started;
    t.equal(error.code, 'UPSTREAM_TIMEOUT');
    t.equal(error.statusCode, 504);
    t.ok(elapsed >= 250 && elapsed < 300 + 1000, `returned after ${Math.round(elapsed)} ms`);
  }
  const health = await connector.health();
  t.equal(health.ok, false);
  t.match(health.detail, /no answer within 300 ms/);
});

t.test('connection refused gives UPSTREAM_UNAVAILABLE', async (t) => {
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  const factory = new HttpConnectorFactory();
  t.teardown(() => factory.close());
  const connector = factory.create({
    connector: 'http',
    endpoint: `http://127.0.0.1:${port}/datasets/residents`,
  });
  const error = await failure(t, connector.lookup('idNumber', [IDS[0]!]));
  t.equal(error.code, 'UPSTREAM_UNAVAILABLE');
  t.equal(error.statusCode, 502);
  t.equal(error.source, 'provider');
  t.equal(error.providerHost, `127.0.0.1:${port}`);
  t.match(error.message, /connection refused/);
  t.notMatch(error.message, new RegExp(IDS[0]!), 'no looked-up value in the message');
  const health = await connector.health();
  t.equal(health.ok, false);
  t.match(health.detail, /connection refused/);
});

t.test('answers that are not the protocol give UPSTREAM_BAD_RESPONSE', async (t) => {
  const { sim, connector } = await setup(t, { maxResponseBytes: 256 * 1024 });
  sim.setFault({ kind: 'garbage' });
  const garbage = await failure(t, connector.lookup('idNumber', [IDS[0]!]));
  t.equal(garbage.code, 'UPSTREAM_BAD_RESPONSE');
  t.match(garbage.message, /not JSON/);

  sim.setFault({ kind: 'oversized', bytes: 4 * 1024 * 1024 });
  const oversized = await failure(t, connector.page({ limit: 10 }));
  t.equal(oversized.code, 'UPSTREAM_BAD_RESPONSE');
  t.match(oversized.message, /over the size limit/);

  sim.setFault(undefined);
  const bigPage = await failure(t, connector.page({ limit: 2500 }));
  t.equal(bigPage.code, 'UPSTREAM_BAD_RESPONSE', 'a real page over the limit');
  t.ok((await connector.page({ limit: 100 })).rows.length === 100, 'a page under the limit passes');
});

t.test('2,000 calls to a failing provider: none hangs, and the heap returns to its baseline', async (t) => {
  // The breaker's clock moves 1 s per call, so the circuit keeps opening, probing and closing again.
  let clock = Date.now();
  const { sim, connector } = await setup(
    t,
    { maxResponseBytes: 256 * 1024, breaker: { now: () => clock } },
    100,
  );
  const faults = [
    { kind: 'garbage' },
    { kind: 'wrong-shape' },
    { kind: 'oversized', bytes: 1024 * 1024 },
    { kind: 'delay', ms: 1_000 },
    undefined,
  ] as const;
  const outcomes = new Map<string, number>();
  let warmHeap = 0;
  let slowest = 0;
  for (let i = 0; i < 2000; i++) {
    if (i === 200) warmHeap = heapAfterGc();
    sim.setFault(faults[Math.floor(i / 50) % faults.length]);
    clock += 1000;
    const started = performance.now();
    const code = await connector.lookup('idNumber', [IDS[i % 2500]!]).then(
      () => 'ok',
      (error: ProviderError) => error.code,
    );
    slowest = Math.max(slowest, performance.now() - started);
    outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
  }
  sim.setFault(undefined);
  const grownMiB = (heapAfterGc() - warmHeap) / 2 ** 20;
  t.ok(
    slowest < 100 + 500,
    `every call ended within its 100 ms deadline (slowest ${Math.round(slowest)} ms)`,
  );
  t.match(
    Object.fromEntries(outcomes),
    { ok: Number, UPSTREAM_BAD_RESPONSE: Number, UPSTREAM_TIMEOUT: Number, UPSTREAM_CIRCUIT_OPEN: Number },
    `answers, refusals and an open circuit: ${JSON.stringify(Object.fromEntries(outcomes))}`,
  );
  t.ok(grownMiB < 8, `the heap is back near its warm baseline (+${grownMiB.toFixed(1)} MiB)`);
});

t.test('JSON of the wrong shape gives UPSTREAM_BAD_RESPONSE', async (t) => {
  const { sim, connector } = await setup(t);
  sim.setFault({ kind: 'wrong-shape' });
  const lookup = await failure(t, connector.lookup('idNumber', [IDS[0]!]));
  t.equal(lookup.code, 'UPSTREAM_BAD_RESPONSE');
  t.match(lookup.message, /answered lookup with JSON that is not/);
  const page = await failure(t, connector.page({ limit: 1 }));
  t.equal(page.code, 'UPSTREAM_BAD_RESPONSE');
  t.equal(connector.circuit?.().consecutiveFailures, 2, 'counted against the provider');
});

t.test('retries once on a transient 503 or a dropped connection, never on a 400 or 500', async (t) => {
  const { sim, connector } = await setup(t);
  const cases: [string, Parameters<Simulator['setFault']>[0], number, string | undefined][] = [
    ['503 once', { kind: 'status', status: 503, times: 1 }, 2, undefined],
    ['502 once', { kind: 'status', status: 502, times: 1 }, 2, undefined],
    ['connection dropped once', { kind: 'close', times: 1 }, 2, undefined],
    ['503 twice', { kind: 'status', status: 503, times: 2 }, 2, 'UPSTREAM_UNAVAILABLE'],
    ['connection dropped twice', { kind: 'close', times: 2 }, 2, 'UPSTREAM_UNAVAILABLE'],
    ['400', { kind: 'status', status: 400, times: 1 }, 1, 'UPSTREAM_REJECTED'],
    ['500', { kind: 'status', status: 500, times: 1 }, 1, 'UPSTREAM_UNAVAILABLE'],
    ['504', { kind: 'status', status: 504, times: 1 }, 1, 'UPSTREAM_TIMEOUT'],
    ['garbage', { kind: 'garbage', times: 1 }, 1, 'UPSTREAM_BAD_RESPONSE'],
  ];
  for (const [label, fault, requests, code] of cases) {
    sim.setFault(fault);
    const count = requestsDuring(sim);
    if (code) {
      const error = await failure(t, connector.lookup('idNumber', [IDS[3]!]));
      t.equal(error.code, code, label);
    } else {
      t.same(await connector.lookup('idNumber', [IDS[3]!]), [DATASET_KINDS.residents.row(3)], label);
    }
    t.equal(count(), requests, `${label}: ${requests} request(s)`);
    sim.setFault(undefined);
  }
});

t.test('no retry when the deadline would pass first', async (t) => {
  const { sim, connector } = await setup(t, { retryDelayMs: { min: 400, max: 400 } }, 500);
  sim.setFault({ kind: 'status', status: 503 });
  const count = requestsDuring(sim);
  const error = await failure(t, connector.lookup('idNumber', [IDS[0]!]));
  t.equal(error.code, 'UPSTREAM_UNAVAILABLE');
  t.equal(error.providerStatus, 503);
  t.equal(count(), 1);
});

t.test(
  'the circuit opens after failures and closes after the cool-down when the provider recovers',
  async (t) => {
    const clock = { now: 1_000_000 };
    const { sim, connector } = await setup(t, {
      breaker: { failureThreshold: 3, coolDownMs: 10_000, now: () => clock.now },
    });
    sim.setFault({ kind: 'status', status: 500 });
    for (let k = 0; k < 3; k++)
      t.equal((await failure(t, connector.page({ limit: 1 }))).code, 'UPSTREAM_UNAVAILABLE');
    t.equal(connector.circuit?.().state, 'open');

    sim.setFault(undefined);
    const count = requestsDuring(sim);
    const open = await failure(t, connector.lookup('idNumber', [IDS[0]!]));
    t.equal(open.code, 'UPSTREAM_CIRCUIT_OPEN');
    t.equal(open.statusCode, 503);
    t.equal(open.retryAfterSeconds, 10);
    t.equal(count(), 0, 'the provider was not contacted');
    t.match((await connector.health()).detail, /circuit open/);

    clock.now += 10_000;
    sim.setFault({ kind: 'status', status: 500 });
    t.equal((await failure(t, connector.page({ limit: 1 }))).code, 'UPSTREAM_UNAVAILABLE', 'the probe fails');
    t.equal(connector.circuit?.().state, 'open', 'and the circuit opens again');
    t.equal((await failure(t, connector.page({ limit: 1 }))).code, 'UPSTREAM_CIRCUIT_OPEN');

    clock.now += 10_000;
    sim.setFault(undefined);
    t.equal((await connector.page({ limit: 1 })).rows.length, 1, 'the probe succeeds');
    t.equal(connector.circuit?.().state, 'closed');
    t.same(await connector.lookup('idNumber', [IDS[0]!]), [DATASET_KINDS.residents.row(0)]);
  },
);

t.test('4xx answers do not open the circuit', async (t) => {
  const { sim, connector } = await setup(t, { breaker: { failureThreshold: 2 } });
  sim.setFault({ kind: 'status', status: 400 });
  for (let k = 0; k < 4; k++)
    t.equal((await failure(t, connector.page({ limit: 1 }))).code, 'UPSTREAM_REJECTED');
  t.equal(connector.circuit?.().state, 'closed');
});

t.test("a caller's abort ends the call with the caller's reason, not a provider error", async (t) => {
  const { sim, connector } = await setup(t, { breaker: { failureThreshold: 1 } });
  sim.setFault({ kind: 'delay', ms: 5_000 });
  const controller = new AbortController();
  const reason = new Error('consumer went away');
  setTimeout(() => controller.abort(reason), 50);
  await t.rejects(connector.lookup('idNumber', [IDS[0]!], { signal: controller.signal }), reason);
  t.equal(connector.circuit?.().state, 'closed', 'not counted against the provider');
  await t.rejects(connector.page({ limit: 1, signal: AbortSignal.abort(reason) }), reason);
});

t.test('an abort while waiting to retry ends the wait at once', async (t) => {
  const { sim, connector } = await setup(t, { retryDelayMs: { min: 2_000, max: 2_000 } }, 10_000);
  sim.setFault({ kind: 'status', status: 503 });
  const count = requestsDuring(sim);
  const controller = new AbortController();
  const reason = new Error('job cancelled');
  setTimeout(() => controller.abort(reason), 100);
  const started = Date.now();
  await t.rejects(connector.lookup('idNumber', [IDS[0]!], { signal: controller.signal }), reason);
  t.ok(Date.now() - started < 1_500, 'not after the 2 s retry delay');
  t.equal(count(), 1, 'the retry was not sent');
});

t.test('endpoints with credentials, queries or other schemes are refused without echoing them', async (t) => {
  const factory = new HttpConnectorFactory();
  t.teardown(() => factory.close());
  const cases = [
    'http://admin:s3cret@127.0.0.1:1/x',
    'ftp://127.0.0.1/x',
    'not a url',
    'http://127.0.0.1:1/x?token=s3cret',
  ];
  for (const endpoint of cases) {
    try {
      factory.create({ connector: 'http', endpoint });
      t.fail(`accepted ${endpoint}`);
    } catch (error) {
      t.equal((error as ProviderError).code, 'CONNECTOR_CONFIG_INVALID', endpoint);
      t.notMatch((error as Error).message, /s3cret/);
    }
  }
});

t.test('connectors share pools per origin and breakers per endpoint', async (t) => {
  const { sim, factory } = await setup(t, { breaker: { failureThreshold: 1 } });
  const a = factory.create({ connector: 'http', endpoint: sim.endpoint('enterprises') });
  const b = factory.create({ connector: 'http', endpoint: `${sim.endpoint('enterprises')}/` });
  const other: Connector = factory.create({ connector: 'http', endpoint: sim.endpoint('social-insurance') });
  t.equal(a.endpoint, b.endpoint, 'trailing slash ignored');
  sim.setFault({ kind: 'status', status: 500, times: 1 });
  await failure(t, a.page({ limit: 1 }));
  t.equal(b.circuit?.().state, 'open', 'same endpoint, same breaker');
  t.equal(other.circuit?.().state, 'closed', 'another endpoint has its own');
  t.equal((await other.page({ limit: 2 })).rows.length, 2);
});

t.test('lookups are POSTed with the request id and no key values in the URL', async (t) => {
  const seen: { method?: string; url?: string; headers: Record<string, unknown>; body: string }[] = [];
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"rows":[{"idNumber":"x"}],"next":"c2","total":9}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const factory = new HttpConnectorFactory();
  t.teardown(async () => {
    await factory.close();
    await new Promise((resolve) => server.close(resolve));
  });
  const connector = factory.create({ connector: 'http', endpoint: `http://127.0.0.1:${port}/fep/v1/` });
  t.same(await connector.lookup('idNumber', [IDS[0]!], { requestId: 'req-42' }), [{ idNumber: 'x' }]);
  t.same(
    await connector.page({
      limit: 5,
      after: 'c1',
      since: { watermark: 'updatedAt', value: '2024-12-01T00:00:00Z' },
    }),
    {
      rows: [{ idNumber: 'x' }],
      next: 'c2',
      total: 9,
    },
  );
  t.equal(seen[0]?.method, 'POST');
  t.equal(seen[0]?.url, '/fep/v1/lookup');
  t.equal(seen[0]?.headers['x-request-id'], 'req-42');
  t.equal(seen[0]?.headers['content-type'], 'application/json');
  t.same(JSON.parse(seen[0]!.body), { key: 'idNumber', values: [IDS[0]] });
  t.equal(seen[1]?.method, 'GET');
  t.equal(seen[1]?.url, '/fep/v1/rows?limit=5&after=c1&since=2024-12-01T00%3A00%3A00Z&watermark=updatedAt');
  t.equal(seen[1]?.headers['x-request-id'], undefined);
});
