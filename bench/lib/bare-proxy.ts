/**
 * The baseline the gateway is compared with: a bare Fastify + undici proxy in front of the same simulator,
 * with no identity, policy, masking or audit. `GET /v1/data/:code?idNumber=…` forwards to
 * `POST {upstream}/datasets/residents/lookup` over a keep-alive pool of the same size as the gateway's
 * connector pool, and answers the rows; `POST /v1/data/:code/query` with `{"keys": [...]}` forwards the batch
 * to the same lookup.
 *
 *   node bare-proxy.js --upstream http://127.0.0.1:PORT [--connections 32] [--port 0]
 */
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: {
    upstream: { type: 'string' },
    connections: { type: 'string', default: '32' },
    port: { type: 'string', default: '0' },
  },
});
if (!values.upstream) throw new Error('--upstream URL of the simulator is required');

const pool = new Pool(values.upstream, { connections: Number(values.connections) });
const app = Fastify({ logger: false });

app.get<{ Params: { code: string }; Querystring: { idNumber?: string } }>(
  '/v1/data/:code',
  async (request, reply) => {
    const idNumber = request.query.idNumber;
    if (!idNumber) return reply.code(400).send({ error: 'idNumber is required' });
    const res = await pool.request({
      method: 'POST',
      path: '/datasets/residents/lookup',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'idNumber', values: [idNumber] }),
    });
    const answer = (await res.body.json()) as { rows: unknown[] };
    return { data: answer.rows };
  },
);

app.post<{ Params: { code: string }; Body: { keys?: unknown } }>(
  '/v1/data/:code/query',
  { bodyLimit: 2 * 1024 * 1024 },
  async (request, reply) => {
    const keys = request.body?.keys;
    if (!Array.isArray(keys) || keys.length === 0) return reply.code(400).send({ error: 'keys is required' });
    const res = await pool.request({
      method: 'POST',
      path: '/datasets/residents/lookup',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'idNumber', values: keys }),
    });
    const answer = (await res.body.json()) as { rows: unknown[] };
    return { data: answer.rows };
  },
);

const address = await app.listen({ host: '127.0.0.1', port: Number(values.port) });
console.log(`bare proxy listening on ${address}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void app
      .close()
      .then(() => pool.close())
      .then(() => process.exit(0));
  });
}
