/**
 * Request-signature verification throughput on the gateway's path (verifyRequestSignature: parse,
 * checks, signature base, signature, Content-Digest), per algorithm: rsa-pss-sha512 and rsa-v1_5-sha256
 * (RSA-2048, node:crypto) and sm2-sm3 (SM2 with SM3 and the default ID, sm-crypto-v2 with the public
 * key's precomputed tables, as the gateway caches them), in the same run. ECDSA P-256 (node:crypto) and
 * SM2 without precomputation are measured alone for reference. The nonce store is left out (checkNonce
 * always accepts) so that only this library is measured.
 *
 *   npx tsc -p . --outDir .build/bench && node .build/bench/bench/httpsig-verify.js [verifies] [concurrency]
 *
 * Each run stops after `verifies` (default 5000) or 3 seconds, whichever comes first.
 */

import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { sm2 } from 'sm-crypto-v2';
import {
  type SignatureAlgorithm,
  type SignedRequest,
  signRequest,
  signSignatureBase,
  verifyRequestSignature,
  verifySignatureBase,
} from '../certs/httpsig/index.js';
import { generateSm2KeyPair, SM2_DEFAULT_ID, sm2PrivateKeyHex, sm2PublicKeyHex } from '../certs/sm2.js';

const total = Number(process.argv[2] ?? 5000);
const concurrency = Number(process.argv[3] ?? 64);
const budgetMs = 3000;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const sm2Pair = await generateSm2KeyPair();
const sm2Keys = {
  privateKey: createPrivateKey(sm2Pair.privateKeyPem),
  publicKey: createPublicKey(sm2Pair.publicKeyPem),
};
const keysFor = (alg: SignatureAlgorithm) => (alg === 'sm2-sm3' ? sm2Keys : rsa);

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
      `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, concurrency ${concurrency}, RSA-2048, SM2`,
  );
  for (const alg of ['rsa-pss-sha512', 'rsa-v1_5-sha256', 'sm2-sm3'] as SignatureAlgorithm[]) {
    const { publicKey, privateKey } = keysFor(alg);
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
  // References: ECDSA P-256 by node:crypto, and SM2 verification without the precomputed tables.
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = Buffer.from(`"@method": POST\n"@signature-params": ("@method");created=1`);
  const ecSignature = sign('sha256', data, ec.privateKey);
  await measure('  crypto.verify ECDSA P-256 (reference)', async () =>
    verify('sha256', data, ec.publicKey, ecSignature),
  );
  const hex = sm2PublicKeyHex(sm2Pair.publicKeyPem);
  const sm2Signature = sm2.doSignature(data, sm2PrivateKeyHex(sm2Pair.privateKeyPem), {
    hash: true,
    publicKey: hex,
  });
  await measure('  sm2 verify, no precomputation (reference)', async () =>
    sm2.doVerifySignature(data, sm2Signature, hex, { hash: true, userId: SM2_DEFAULT_ID }),
  );
}

await main();
