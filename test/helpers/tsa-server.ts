/**
 * A throw-away RFC 3161 time-stamping authority on loopback, answered by the real `openssl ts -reply`
 * (one process per request): a fresh CA and a TSA certificate with the critical timeStamping EKU in a
 * temporary directory, removed when the server stops.
 *
 * `mode` changes how it answers, for the refusal tests:
 * - `grant`: a token for the request, as a TSA should;
 * - `reject`: the TSA accepts only SHA-512 imprints, so openssl answers status rejection (badAlg);
 * - `other-digest`: a granted token, but for another digest than the one asked for;
 * - `http-error`: HTTP 503 with no body.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { requireBinary } from '../../scripts/lib/local-tools.js';

export type TsaMode = 'grant' | 'reject' | 'other-digest' | 'http-error';

export interface TestTsa {
  url: string;
  /** PEM of the TSA's root CA: the trust anchor to configure. */
  caPem: string;
  caFile: string;
  /** PEM of the TSA's signing certificate. */
  tsaCertFile: string;
  dir: string;
  mode: TsaMode;
  /** Requests answered so far. */
  requests: number;
  stop(): Promise<void>;
}

const OPENSSL = () => requireBinary('openssl', 'openssl');

function run(dir: string, args: string[], input?: Buffer): Buffer {
  const result = spawnSync(OPENSSL(), args, { cwd: dir, ...(input ? { input } : {}) });
  if (result.status !== 0) {
    throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr.toString()}`);
  }
  return result.stdout;
}

/** A fresh CA and a TSA certificate under it (critical timeStamping EKU), made with openssl in `dir`. */
export function makeTsaCertificates(
  dir: string,
  name: string,
): { caFile: string; tsaCert: string; tsaKey: string } {
  const file = (suffix: string) => join(dir, `${name}-${suffix}`);
  const [caFile, caKey, tsaCert, tsaKey, csr, ext] = [
    'ca.pem',
    'ca.key',
    'tsa.pem',
    'tsa.key',
    'tsa.csr',
    'tsa.ext',
  ].map(file) as [string, string, string, string, string, string];
  const newKey = ['-newkey', 'rsa:2048', '-nodes'];
  run(
    dir,
    ['req', '-x509', ...newKey, '-keyout', caKey, '-out', caFile, '-days', '2']
      .concat(['-subj', `/CN=${name} test TSA root`, '-addext', 'basicConstraints=critical,CA:TRUE'])
      .concat(['-addext', 'keyUsage=critical,keyCertSign,cRLSign']),
  );
  run(dir, ['req', ...newKey, '-keyout', tsaKey, '-out', csr, '-subj', `/CN=${name} test TSA`]);
  writeFileSync(
    ext,
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n',
  );
  run(
    dir,
    ['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-set_serial', '0x1001'].concat([
      '-days',
      '2',
      '-extfile',
      ext,
      '-out',
      tsaCert,
    ]),
  );
  return { caFile, tsaCert, tsaKey };
}

function tsaConfig(dir: string, digests: string): string {
  return `[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = ${dir}
serial = $dir/tsaserial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = ${digests}
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`;
}

/** Starts the TSA; stopped (and its directory removed) when the test ends, or by `stop()`. */
export async function startTestTsa(t: Test, mode: TsaMode = 'grant'): Promise<TestTsa> {
  const dir = mkdtempSync(join(tmpdir(), 'govshare-tsa-'));
  const { caFile, tsaCert, tsaKey } = makeTsaCertificates(dir, 'tsa');
  writeFileSync(join(dir, 'tsaserial'), '01\n');
  writeFileSync(join(dir, 'grant.cnf'), tsaConfig(dir, 'sha256, sha384, sha512'));
  writeFileSync(join(dir, 'reject.cnf'), tsaConfig(dir, 'sha512'));
  let counter = 0;

  const reply = (query: Buffer, config: string): Promise<Buffer> => {
    const n = ++counter;
    const queryFile = join(dir, `q${n}.tsq`);
    const replyFile = join(dir, `r${n}.tsr`);
    writeFileSync(queryFile, query);
    const args = ['ts', '-reply', '-config', join(dir, config), '-queryfile', queryFile];
    args.push('-signer', tsaCert, '-inkey', tsaKey, '-chain', caFile, '-out', replyFile);
    return new Promise((resolve, reject) => {
      const child = spawn(OPENSSL(), args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on('error', reject);
      child.on('exit', (code) => {
        if (code === 0) resolve(readFileSync(replyFile));
        else reject(new Error(`openssl ts -reply failed: ${stderr}`));
      });
    });
  };

  const tsa: TestTsa = {
    url: '',
    caPem: readFileSync(caFile, 'utf8'),
    caFile,
    tsaCertFile: tsaCert,
    dir,
    mode,
    requests: 0,
    stop: async () => undefined,
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 65_536) request.destroy();
      else chunks.push(chunk);
    });
    request.on('end', () => {
      tsa.requests++;
      if (request.method !== 'POST' || tsa.mode === 'http-error') {
        response.writeHead(request.method !== 'POST' ? 405 : 503).end();
        return;
      }
      let query: Buffer = Buffer.concat(chunks);
      if (tsa.mode === 'other-digest') {
        query = run(dir, ['ts', '-query', '-digest', randomBytes(32).toString('hex'), '-sha256', '-cert']);
      }
      reply(query, tsa.mode === 'reject' ? 'reject.cnf' : 'grant.cnf').then(
        (body) => response.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(body),
        (err: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(err.message),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tsa.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tsa`;
  let stopped: Promise<void> | undefined;
  tsa.stop = () => {
    stopped ??= new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }).then(() => rmSync(dir, { recursive: true, force: true }));
    return stopped;
  };
  t.teardown(() => tsa.stop());
  return tsa;
}
