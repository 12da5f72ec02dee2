/**
 * Request-signature verification throughput on the gateway's path (verifyRequestSignature: parse,
 * checks, signature base, async crypto.verify on the thread pool, Content-Digest), per algorithm.
 * The nonce store is left out (checkNonce always accepts) so that only this library is measured.
 *
 *   npx tsc -p . --outDir .build/bench && node .build/bench/bench/httpsig-verify.js [verifies] [concurrency]
 *
 * Each run stops after `verifies` (default 5000) or 3 seconds, whichever comes first.
 */

import { generateKeyPairSync } from 'node:crypto';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  type SignatureAlgorithm,
  type SignedRequest,
  signRequest,
  signSignatureBase,
  verifyRequestSignature,
  verifySignatureBase,
} from '../certs/httpsig/index.js';

const total = Number(process.argv[2] ?? 5000);
const concurrency = Number(process.argv[3] ?? 64);
const budgetMs = 3000;
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

async function measure(name: string, once: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 500; i++) await once(); // let the JIT settle before timing
  let done = 0;
  const start = performance.now();
  const worker = async () => {
    while (done < total && performance.now() - start < budgetMs) {
      done++;
      await once();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  console.log(
    `${name.padEnd(44)} ${String(done).padStart(6)} in ${seconds.toFixed(2)} s = ${Math.round(done / seconds)}/s`,
  );
}

async function main(): Promise<void> {
  console.log(
    `node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model}), load ${loadavg()[0]?.toFixed(1)}, ` +
      `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, concurrency ${concurrency}, RSA-2048`,
  );
  for (const alg of ['rsa-pss-sha512', 'rsa-v1_5-sha256'] as SignatureAlgorithm[]) {
    const body = Buffer.from(
      JSON.stringify({ idNumber: '330102199001011234', fields: ['name', 'household'] }),
    );
    const base: SignedRequest = {
      method: 'POST',
      url: 'https://gw.example.gov.cn/v1/data/household-registration?id=42',
      headers: { 'content-type': 'application/json', 'x-purpose': 'review', 'x-user-id': 'u-1' },
      body,
    };
    const created = Math.floor(Date.now() / 1000);
    const request = {
      ...base,
      headers: { ...base.headers, ...signRequest({ ...base, keyId: '01', privateKey, alg, created }) },
    };
    const options = {
      resolveKey: async () => ({ key: publicKey }),
      checkNonce: async () => true,
    };
    await verifyRequestSignature(request, options); // it must verify before it is timed
    await measure(`verifyRequestSignature ${alg}`, () => verifyRequestSignature(request, options));
    const sigBase = `"@method": POST\n"@signature-params": ("@method");created=${created}`;
    const signature = signSignatureBase(alg, privateKey, sigBase);
    await measure(`  verifySignatureBase alone ${alg}`, () =>
      verifySignatureBase(alg, publicKey, sigBase, signature),
    );
  }
}

await main();
