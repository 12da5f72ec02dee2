/**
 * Pre-signs the requests of one load run. Each signed request carries a fresh nonce (the gateway refuses
 * a replay) and an RSA signature costs ~0.7 ms, so signing inside the load generator would cap the load
 * it can offer; the signatures are made before the run instead, on every core, one per request sent.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export interface PresignJob {
  keyPem: string;
  /** The certificate serial (lowercase hex). */
  keyId: string;
  /** Scheme, host and port exactly as the load generator sends them in Host. */
  origin: string;
  /** Headers sent (and signed) with every request, e.g. x-purpose. */
  headers: Record<string, string>;
  /** Path and query of each request, in the order they are sent. */
  paths: string[];
  /**
   * JSON bodies, one per path: the requests are then POSTs with `content-type: application/json` and a
   * Content-Digest that the signature covers (as certs/client.ts signs them).
   */
  bodies?: string[];
}

export interface PresignedRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const workerUrl = new URL('./presign-worker.js', import.meta.url);

export async function presign(
  job: PresignJob,
  threads = availableParallelism(),
): Promise<PresignedRequest[]> {
  if (job.bodies && job.bodies.length !== job.paths.length) throw new Error('presign: one body per path');
  const size = Math.ceil(job.paths.length / threads);
  const shares = Array.from({ length: threads }, (_, i) => ({
    paths: job.paths.slice(i * size, (i + 1) * size),
    ...(job.bodies ? { bodies: job.bodies.slice(i * size, (i + 1) * size) } : {}),
  })).filter((share) => share.paths.length > 0);
  const signed = await Promise.all(
    shares.map(
      (share) =>
        new Promise<Record<string, string>[]>((resolve, reject) => {
          const worker = new Worker(workerUrl, { workerData: { ...job, ...share } satisfies PresignJob });
          worker.once('message', resolve);
          worker.once('error', reject);
          worker.once('exit', (code) => {
            if (code !== 0) reject(new Error(`presign worker exited with ${code}`));
          });
        }),
    ),
  );
  return signed.flat().map((headers, i) => {
    const body = job.bodies?.[i];
    return body === undefined
      ? { method: 'GET', path: job.paths[i]!, headers }
      : { method: 'POST', path: job.paths[i]!, headers, body };
  });
}
