import t from 'tap';
import { request } from 'undici';
import { DATASET_KINDS, sampleKeys } from '../../../connectors/simulator/datasets.js';
import { SIMULATOR_EPOCH_MS } from '../../../connectors/simulator/random.js';
import { startSimulator } from '../../../connectors/simulator/server.js';
import type { Row } from '../../../connectors/types.js';

async function post(url: string, body: unknown) {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

async function get(url: string) {
  const res = await request(url);
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

t.test('two instances serve the same rows', async (t) => {
  const a = await startSimulator({ datasets: { residents: 50, enterprises: 50, socialInsurance: 50 } });
  const b = await startSimulator({ datasets: { residents: 50, enterprises: 50, socialInsurance: 50 } });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  t.not(a.port, b.port);
  for (const name of ['residents', 'enterprises', 'social-insurance'] as const) {
    const fromA = await get(`${a.endpoint(name)}/rows?limit=20`);
    const fromB = await get(`${b.endpoint(name)}/rows?limit=20`);
    t.equal(fromA.status, 200);
    t.same(fromA.body, fromB.body, name);
    t.equal((fromA.body.rows as Row[]).length, 20);
    t.equal(fromA.body.total, 50);
  }
});

t.test('lookup answers the rows of known keys only, once each', async (t) => {
  const sim = await startSimulator({ datasets: { residents: 100, enterprises: 100, socialInsurance: 10 } });
  t.teardown(() => sim.close());
  const ids = sampleKeys('residents', 101);
  const answer = await post(`${sim.endpoint('residents')}/lookup`, {
    key: 'idNumber',
    values: [ids[3], ids[100], ids[3], '11010519491231002X', ids[99]],
  });
  t.equal(answer.status, 200);
  t.same(answer.body.rows, [DATASET_KINDS.residents.row(3), DATASET_KINDS.residents.row(99)]);

  const insured = await post(`${sim.endpoint('social-insurance')}/lookup`, {
    key: 'idNumber',
    values: [ids[9], ids[10]],
  });
  t.same(insured.body.rows, [DATASET_KINDS['social-insurance'].row(9)], 'resident 10 is not insured');

  const uscc = sampleKeys('enterprises', 1)[0]!;
  const firm = await post(`${sim.endpoint('enterprises')}/lookup`, { key: 'uscc', values: [uscc] });
  t.same(firm.body.rows, [DATASET_KINDS.enterprises.row(0)]);
});

t.test('bad requests get 400 or 404 with a message', async (t) => {
  const sim = await startSimulator({ datasets: { residents: 10, enterprises: 10, socialInsurance: 10 } });
  t.teardown(() => sim.close());
  const base = sim.endpoint('residents');
  const cases: [string, () => Promise<{ status: number; body: Record<string, unknown> }>, number, RegExp][] =
    [
      [
        'wrong key item',
        () => post(`${base}/lookup`, { key: 'uscc', values: ['x'] }),
        400,
        /keyed by "idNumber"/,
      ],
      ['not JSON', () => post(`${base}/lookup`, '{"key":'), 400, /not JSON/],
      ['no values', () => post(`${base}/lookup`, { key: 'idNumber', values: [] }), 400, /1 to 1000 values/],
      [
        'too many values',
        () => post(`${base}/lookup`, { key: 'idNumber', values: Array(1001).fill('1') }),
        400,
        /1000/,
      ],
      ['limit 0', () => get(`${base}/rows?limit=0`), 400, /limit/],
      ['limit too large', () => get(`${base}/rows?limit=10001`), 400, /limit/],
      ['bad cursor', () => get(`${base}/rows?limit=5&after=nonsense`), 400, /cursor/],
      ['bad since', () => get(`${base}/rows?limit=5&since=yesterday`), 400, /ISO 8601/],
      [
        'other watermark',
        () => get(`${base}/rows?limit=5&since=2024-01-01T00:00:00Z&watermark=createdAt`),
        400,
        /updatedAt/,
      ],
      ['unknown data set', () => get(`${sim.url}/datasets/taxes/rows`), 404, /no such data set/],
      ['unknown route', () => get(`${base}/everything`), 404, /no route/],
      ['wrong method', () => get(`${base}/lookup`), 405, /method/],
    ];
  for (const [label, call, status, message] of cases) {
    const answer = await call();
    t.equal(answer.status, status, label);
    t.match(String(answer.body.error), message, label);
  }
});

t.test('paging covers 2,500 rows exactly once, in order', async (t) => {
  const sim = await startSimulator({ datasets: { residents: 2500, enterprises: 10, socialInsurance: 10 } });
  t.teardown(() => sim.close());
  const seen: string[] = [];
  let after: string | undefined;
  let pages = 0;
  do {
    const page = await get(`${sim.endpoint('residents')}/rows?limit=300${after ? `&after=${after}` : ''}`);
    t.equal(page.body.total, 2500);
    for (const row of page.body.rows as Row[]) seen.push(String(row.idNumber));
    after = page.body.next as string | undefined;
    pages++;
  } while (after);
  t.equal(pages, 9);
  t.same(seen, sampleKeys('residents', 2500));
});

t.test('since keeps rows changed after the value, scanning in bounded steps', async (t) => {
  const size = 120_000;
  const sim = await startSimulator({ datasets: { residents: 10, enterprises: size, socialInsurance: 10 } });
  t.teardown(() => sim.close());
  const since = new Date(SIMULATOR_EPOCH_MS - 3_600_000).toISOString();
  const expected: string[] = [];
  for (let i = 0; i < size; i++) {
    if (DATASET_KINDS.enterprises.updatedAtMs(i) > Date.parse(since))
      expected.push(DATASET_KINDS.enterprises.keyAt(i));
  }
  t.ok(expected.length > 10, `${expected.length} rows changed in the last hour`);
  const seen: string[] = [];
  let after: string | undefined;
  let pages = 0;
  do {
    const query = new URLSearchParams({ limit: '1000', since, watermark: 'updatedAt' });
    if (after) query.set('after', after);
    const page = await get(`${sim.endpoint('enterprises')}/rows?${query}`);
    t.equal(page.body.total, undefined, 'no total for a filtered scan');
    for (const row of page.body.rows as Row[]) {
      seen.push(String(row.uscc));
      if (!(String(row.updatedAt) > since)) t.fail(`row changed at ${row.updatedAt} is not after ${since}`);
    }
    after = page.body.next as string | undefined;
    pages++;
  } while (after);
  t.same(seen, expected);
  t.ok(pages >= 3, `a scan of ${size} rows answers in steps (${pages} pages)`);
});

t.test('admin routes set faults and count requests', async (t) => {
  const sim = await startSimulator({ datasets: { residents: 10, enterprises: 10, socialInsurance: 10 } });
  t.teardown(() => sim.close());
  const put = await request(`${sim.url}/_admin/fault`, {
    method: 'PUT',
    body: JSON.stringify({ kind: 'status', status: 503, times: 2 }),
  });
  t.equal(put.statusCode, 200);
  await put.body.dump();
  t.equal((await get(`${sim.endpoint('residents')}/health`)).status, 503);
  t.equal((await get(`${sim.endpoint('residents')}/health`)).status, 503);
  t.same(await get(`${sim.endpoint('residents')}/health`), { status: 200, body: { status: 'ok', size: 10 } });
  t.same((await get(`${sim.url}/_admin/stats`)).body, { requests: 3 });

  const bad = await request(`${sim.url}/_admin/fault`, { method: 'PUT', body: '{"kind":"explode"}' });
  t.equal(bad.statusCode, 400);
  await bad.body.dump();
  sim.setFault({ kind: 'garbage' });
  t.same((await get(`${sim.url}/_admin/fault`)).body, { fault: { kind: 'garbage' } });
  const cleared = await request(`${sim.url}/_admin/fault`, { method: 'DELETE' });
  await cleared.body.dump();
  t.same((await get(`${sim.url}/_admin/fault`)).body, { fault: null });
  t.same((await get(`${sim.url}/datasets`)).body.datasets, sim.datasets);
});

t.test('invalid options are refused', async (t) => {
  await t.rejects(startSimulator({ datasets: { residents: 1.5 } }), RangeError);
  // @ts-expect-error: not a fault
  await t.rejects(startSimulator({ faults: { kind: 'explode' } }), TypeError);
});
