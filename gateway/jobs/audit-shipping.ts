/**
 * The worker's audit shipping loop: ships every instance's stream to the PostgreSQL store, again at
 * once while batches come back full (catching up), else every GOVSHARE_AUDIT_SHIP_INTERVAL_MS. A store
 * that is down is retried with backoff up to 10 s; the gateways keep serving into the streams meanwhile,
 * up to their high-water mark. Several workers may run it: the store's per-instance lock and position
 * check make them take turns, never duplicate.
 */
import type { AuditShipper, InstanceShipping, ShipResult } from '../../audit/shipper.js';

export interface ShippingLoopOptions {
  intervalMs: number;
  onError: (err: Error) => void;
  onShipped?: (result: ShipResult) => void;
}

export interface ShippingLoop {
  /** The last status per instance (backlog, lag), for metrics and alerts. */
  status(): InstanceShipping[];
  close(): Promise<void>;
}

const MAX_BACKOFF_MS = 10_000;

export function startShippingLoop(shipper: AuditShipper, options: ShippingLoopOptions): ShippingLoop {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let last: InstanceShipping[] = [];
  let failures = 0;
  const reported = new Set<string>();

  const run = async () => {
    let delay = options.intervalMs;
    try {
      const result = await shipper.shipAll();
      failures = 0;
      last = result.instances;
      for (const instance of result.instances) {
        // A broken chain is reported once per instance and message, not every interval.
        const key = `${instance.instance}|${instance.broken}`;
        if (instance.broken && !reported.has(key)) {
          reported.add(key);
          options.onError(new Error(`audit shipping of ${instance.instance} stopped: ${instance.broken}`));
        }
      }
      options.onShipped?.(result);
      if (result.shipped > 0 && result.instances.some((i) => i.backlog > 0 && !i.broken)) delay = 0;
    } catch (err) {
      failures++;
      delay = Math.min(MAX_BACKOFF_MS, options.intervalMs * 2 ** failures);
      options.onError(err as Error);
    }
    if (!stopped) timer = setTimeout(tick, delay);
  };
  const tick = () => {
    running = run();
  };
  tick();

  return {
    status: () => last,
    async close() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
