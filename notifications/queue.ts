/**
 * The slice of a job queue that notifications use. BullMQ's `Queue` has this shape; the gateway's job
 * wiring (gateway/jobs) passes one in, so this folder knows nothing of BullMQ.
 */
export interface JobOptions {
  /** Deterministic id: adding the same job twice queues nothing new. */
  jobId: string;
  delay?: number;
  attempts: number;
  backoff: { type: 'exponential'; delay: number };
  removeOnComplete: { age: number };
  removeOnFail: { age: number };
}

export interface JobQueue<T> {
  add(name: string, data: T, options: JobOptions): Promise<unknown>;
  remove(jobId: string): Promise<unknown>;
}
