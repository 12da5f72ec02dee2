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
}

export interface PresignedRequest {
  path: string;
  headers: Record<string, string>;
}

const workerUrl = new URL('./presign-worker.js', import.meta.url);

export async function presign(
  job: PresignJob,
  threads = availableParallelism(),
): Promise<PresignedRequest[]> {
  const size = Math.ceil(job.paths.length / threads);
  const shares = Array.from({ length: threads }, (_, i) => job.paths.slice(i * size, (i + 1) * size)).filter(
    (share) => share.length > 0,
  );
  const signed = await Promise.all(
    shares.map(
      (paths) =>
        new Promise<Record<string, string>[]>((resolve, reject) => {
          const worker = new Worker(workerUrl, { workerData: { ...job, paths } satisfies PresignJob });
          worker.once('message', resolve);
          worker.once('error', reject);
          worker.once('exit', (code) => {
            if (code !== 0) reject(new Error(`presign worker exited with ${code}`));
          });
        }),
    ),
  );
  return signed.flat().map((headers, i) => ({ path: job.paths[i]!, headers }));
}
