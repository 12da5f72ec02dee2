/**
 * Worker thread of presign.ts: signs its share of the requests with the caller's key, each with a fresh
 * nonce, and posts back the headers to send.
 */
import { createPrivateKey } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { signRequest } from '../../certs/httpsig/index.js';
import type { PresignJob } from './presign.js';

const job = workerData as PresignJob;
const privateKey = createPrivateKey(job.keyPem);
const created = Math.floor(Date.now() / 1000);
const signed = job.paths.map((path, i) => {
  const body = job.bodies?.[i];
  const headers =
    body === undefined ? { ...job.headers } : { ...job.headers, 'content-type': 'application/json' };
  return {
    ...headers,
    // With a body, signRequest adds Content-Digest and covers it.
    ...signRequest({
      method: body === undefined ? 'GET' : 'POST',
      url: `${job.origin}${path}`,
      headers,
      ...(body === undefined ? {} : { body }),
      keyId: job.keyId,
      privateKey,
      created,
    }),
  };
});
parentPort!.postMessage(signed);
