/** Heap measurements for "memory returns to its baseline" assertions. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Used heap in bytes after a full garbage collection (exposes `gc` for this process on first use). */
export function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}
