/**
 * A front-end processor (前置机) simulator speaking the wire protocol of ../http-connector.ts, serving
 * deterministic synthetic data sets under /datasets/<name>. Plain node:http: it must stay far cheaper per
 * request than the gateway it is used to benchmark.
 *
 * Routes: GET /health; GET /datasets (list); GET /datasets/<name>/health; POST /datasets/<name>/lookup;
 * GET /datasets/<name>/rows; GET|PUT|DELETE /_admin/fault (see faults.ts); GET /_admin/stats.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Row } from '../types.js';
import { checkLookupRequest, MAX_PAGE_LIMIT } from '../wire.js';
import { DATASET_NAMES, Dataset, type DatasetName } from './datasets.js';
import { checkFault, type Fault, FaultSwitch } from './faults.js';

export interface SimulatorOptions {
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @defaultValue 0 */
  port?: number;
  /** Rows per data set. @defaultValue residents 100 000, enterprises 20 000, socialInsurance 80 000 */
  datasets?: { residents?: number; enterprises?: number; socialInsurance?: number };
  /** Added to every lookup and page, like a provider's own database time. @defaultValue 0 */
  latencyMs?: number;
  /** A fault active from the start. */
  faults?: Fault;
  /** Serve HTTPS with this certificate and key (PEM), as a front-end processor behind TLS. */
  tls?: { cert: string; key: string };
}

export interface DatasetInfo {
  name: DatasetName;
  title: string;
  keyItem: string;
  watermark: string;
  size: number;
  endpoint: string;
}

export interface Simulator {
  url: string;
  port: number;
  datasets: DatasetInfo[];
  /** Base URL to mount as a data service endpoint. */
  endpoint(name: DatasetName): string;
  /** Make the simulator misbehave (undefined: behave). */
  setFault(fault: Fault | undefined): void;
  /** Data set requests received (faulted ones included). */
  stats(): { requests: number };
  close(): Promise<void>;
}

export const DEFAULT_SIZES = { residents: 100_000, enterprises: 20_000, socialInsurance: 80_000 };
const MAX_BODY_BYTES = 1024 * 1024;
/** Rows a `since` page may skip over before it answers with what it has and a cursor. */
const MAX_SCAN = 50_000;

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const host = options.host ?? '127.0.0.1';
  const sizes = { ...DEFAULT_SIZES, ...options.datasets };
  const datasets = new Map<string, Dataset>([
    ['residents', new Dataset('residents', sizes.residents)],
    ['enterprises', new Dataset('enterprises', sizes.enterprises)],
    ['social-insurance', new Dataset('social-insurance', sizes.socialInsurance)],
  ]);
  const latencyMs = options.latencyMs ?? 0;
  const faults = new FaultSwitch();
  if (options.faults) {
    if (!checkFault.Check(options.faults)) throw new TypeError('faults: not a valid fault (see faults.ts)');
    faults.set(options.faults);
  }
  const timers = new Set<NodeJS.Timeout>();
  let requests = 0;
  let baseUrl = '';

  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (url.startsWith('/datasets/')) {
      requests++;
      const fault = faults.take();
      if (!fault) return void serveDataset(req, res, url, datasets, latencyMs, later);
      if (fault.kind === 'delay') {
        return later(fault.ms, () => serveDataset(req, res, url, datasets, latencyMs, later));
      }
      return void applyFault(fault, req, res);
    }
    const path = url.split('?', 1)[0];
    if (path === '/health') return sendJson(res, 200, { status: 'ok' });
    if (path === '/datasets') return sendJson(res, 200, { datasets: info(datasets, baseUrl) });
    if (path === '/_admin/stats') return sendJson(res, 200, { requests });
    if (path === '/_admin/fault') return adminFault(req, res, faults);
    sendJson(res, 404, { error: `no route ${path}` });
  };
  const server = options.tls
    ? createHttpsServer({ keepAliveTimeout: 65_000, minVersion: 'TLSv1.2', ...options.tls }, handler)
    : createServer({ keepAliveTimeout: 65_000 }, handler);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  baseUrl = url;

  return {
    url,
    port,
    datasets: info(datasets, url),
    endpoint: (name) => `${url}/datasets/${name}`,
    setFault: (fault) => faults.set(fault),
    stats: () => ({ requests }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function info(datasets: Map<string, Dataset>, url: string): DatasetInfo[] {
  return DATASET_NAMES.map((name) => {
    const { kind, size } = datasets.get(name)!;
    return {
      name,
      title: kind.title,
      keyItem: kind.keyItem,
      watermark: kind.watermark,
      size,
      endpoint: `${url}/datasets/${name}`,
    };
  });
}

function serveDataset(
  req: IncomingMessage,
  res: ServerResponse,
  url: string,
  datasets: Map<string, Dataset>,
  latencyMs: number,
  later: (ms: number, run: () => void) => void,
) {
  const rest = url.slice('/datasets/'.length);
  const slash = rest.indexOf('/');
  const dataset = slash > 0 ? datasets.get(rest.slice(0, slash)) : undefined;
  if (!dataset) return sendJson(res, 404, { error: 'no such data set' });
  const question = rest.indexOf('?', slash);
  const op = question < 0 ? rest.slice(slash + 1) : rest.slice(slash + 1, question);
  const query = question < 0 ? '' : rest.slice(question + 1);
  const respond = (status: number, body: unknown) =>
    latencyMs > 0 ? later(latencyMs, () => sendJson(res, status, body)) : sendJson(res, status, body);

  if (op === 'health' && req.method === 'GET')
    return sendJson(res, 200, { status: 'ok', size: dataset.size });
  if (op === 'rows' && req.method === 'GET') {
    const page = readPage(dataset, new URLSearchParams(query));
    return 'error' in page ? sendJson(res, 400, page) : respond(200, page);
  }
  if (op === 'lookup' && req.method === 'POST') {
    return readBody(req, res, (body) => {
      const answer = lookup(dataset, body);
      respond('error' in answer ? 400 : 200, answer);
    });
  }
  if (op === 'health' || op === 'rows' || op === 'lookup')
    return sendJson(res, 405, { error: 'method not allowed' });
  sendJson(res, 404, { error: `no route ${op}` });
}

function lookup(dataset: Dataset, body: string): { rows: Row[] } | { error: string } {
  let request: unknown;
  try {
    request = JSON.parse(body);
  } catch {
    return { error: 'body is not JSON' };
  }
  if (!checkLookupRequest.Check(request)) {
    return { error: 'body must be {"key": string, "values": [string, …]} with 1 to 1000 values' };
  }
  if (request.key !== dataset.kind.keyItem)
    return { error: `this data set is keyed by "${dataset.kind.keyItem}"` };
  const rows: Row[] = [];
  const seen = new Set<number>();
  for (const value of request.values) {
    const found = dataset.lookup(value);
    if (found && !seen.has(found.index)) {
      seen.add(found.index);
      rows.push(found.row);
    }
  }
  return { rows };
}

function readPage(
  dataset: Dataset,
  query: URLSearchParams,
): { rows: Row[]; next?: string; total?: number } | { error: string } {
  const limitText = query.get('limit') ?? '100';
  const limit = /^[0-9]{1,6}$/.test(limitText) ? Number(limitText) : 0;
  if (limit < 1 || limit > MAX_PAGE_LIMIT)
    return { error: `limit must be an integer from 1 to ${MAX_PAGE_LIMIT}` };
  const after = query.get('after');
  const start = after === null ? 0 : decodeCursor(after);
  if (start === undefined || start > dataset.size)
    return { error: 'after is not a cursor this data set gave' };
  const watermark = query.get('watermark');
  if (watermark !== null && watermark !== dataset.kind.watermark) {
    return { error: `changes are ordered by "${dataset.kind.watermark}", not "${watermark}"` };
  }
  const sinceText = query.get('since');
  const since = sinceText === null ? undefined : Date.parse(sinceText);
  if (since !== undefined && Number.isNaN(since)) return { error: 'since must be an ISO 8601 date-time' };

  const rows: Row[] = [];
  let i = start;
  const scanEnd = since === undefined ? dataset.size : Math.min(dataset.size, start + MAX_SCAN);
  for (; i < scanEnd && rows.length < limit; i++) {
    if (since === undefined || dataset.kind.updatedAtMs(i) > since) rows.push(dataset.kind.row(i));
  }
  const page: { rows: Row[]; next?: string; total?: number } = { rows };
  if (i < dataset.size) page.next = encodeCursor(i);
  if (since === undefined) page.total = dataset.size;
  return page;
}

function encodeCursor(index: number): string {
  return Buffer.from(`r:${index}`).toString('base64url');
}

function decodeCursor(cursor: string): number | undefined {
  const match = /^r:([0-9]{1,10})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  return match ? Number(match[1]) : undefined;
}

function readBody(req: IncomingMessage, res: ServerResponse, then: (body: string) => void): void {
  const chunks: Buffer[] = [];
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes <= MAX_BODY_BYTES) chunks.push(chunk);
  });
  req.on('end', () => {
    if (bytes > MAX_BODY_BYTES) return sendJson(res, 413, { error: `body over ${MAX_BODY_BYTES} bytes` });
    then(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function applyFault(
  fault: Exclude<Fault, { kind: 'delay' }>,
  req: IncomingMessage,
  res: ServerResponse,
) {
  switch (fault.kind) {
    case 'status':
      return sendJson(res, fault.status, { error: `simulated HTTP ${fault.status}` });
    case 'garbage':
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end('<html><body>502 Bad Gateway (not JSON)</body></html>');
    case 'wrong-shape':
      return sendJson(res, 200, { result: 'ok', data: { rows: 'none' } });
    case 'close':
      return void req.socket.destroy();
    case 'oversized':
      return writeOversized(res, fault.bytes);
  }
}

/** A valid JSON page of `bytes` bytes, streamed with backpressure so the simulator's memory stays flat. */
async function writeOversized(res: ServerResponse, bytes: number): Promise<void> {
  const head = '{"rows":[{"pad":"';
  const tail = '"}]}';
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes });
  res.write(head);
  const chunk = 'x'.repeat(64 * 1024);
  let left = bytes - head.length - tail.length;
  while (left > 0 && !res.destroyed) {
    const piece = left >= chunk.length ? chunk : chunk.slice(0, left);
    left -= piece.length;
    if (!res.write(piece)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (!res.destroyed) res.end(tail);
}

function adminFault(req: IncomingMessage, res: ServerResponse, faults: FaultSwitch) {
  if (req.method === 'GET') return sendJson(res, 200, { fault: faults.current ?? null });
  if (req.method === 'DELETE') {
    faults.set(undefined);
    return sendJson(res, 200, { fault: null });
  }
  if (req.method !== 'PUT' && req.method !== 'POST')
    return sendJson(res, 405, { error: 'method not allowed' });
  readBody(req, res, (body) => {
    let fault: unknown;
    try {
      fault = JSON.parse(body);
    } catch {
      return sendJson(res, 400, { error: 'body is not JSON' });
    }
    if (!checkFault.Check(fault))
      return sendJson(res, 400, { error: 'not a fault: see connectors/simulator/faults.ts' });
    faults.set(fault);
    sendJson(res, 200, { fault });
  });
}
