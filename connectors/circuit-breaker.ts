/**
 * A circuit breaker for one provider endpoint. Closed: calls pass and outcomes are counted. Open: calls
 * fail at once (the provider is given time to recover instead of a pile of doomed requests). After the
 * cool-down one probe call is let through (half-open): success closes the circuit, failure opens it again.
 *
 * It opens after `failureThreshold` consecutive failures, or when at least `minimumRequests` calls in the
 * sliding window ended with a failure ratio of `failureRatio` or more (catches a provider that fails every
 * other call, which never makes a long run of consecutive failures).
 */

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** @defaultValue 5 */
  failureThreshold?: number;
  /** @defaultValue 0.5 */
  failureRatio?: number;
  /** Calls in the window before the ratio counts. @defaultValue 20 */
  minimumRequests?: number;
  /** @defaultValue 10_000 */
  windowMs?: number;
  /** Time the circuit stays open before a probe. @defaultValue 5_000 */
  coolDownMs?: number;
  /** Clock in milliseconds; injectable for tests. @defaultValue Date.now */
  now?: () => number;
}

export interface CircuitSnapshot {
  state: CircuitState;
  consecutiveFailures: number;
  windowRequests: number;
  windowFailures: number;
  /** How many times the circuit has opened since start. */
  opened: number;
  /** Milliseconds until a probe may be tried (0 unless open). */
  retryAfterMs: number;
}

export type CircuitPermit = { allowed: true; probe: boolean } | { allowed: false; retryAfterMs: number };

const BUCKETS = 10;

export class CircuitBreaker {
  readonly #threshold: number;
  readonly #ratio: number;
  readonly #minimum: number;
  readonly #bucketMs: number;
  readonly #coolDownMs: number;
  readonly #now: () => number;

  #state: 'closed' | 'open' | 'half-open' = 'closed';
  #openedAt = 0;
  #probeInFlight = false;
  #consecutive = 0;
  #opened = 0;
  readonly #bucketEpoch = new Array<number>(BUCKETS).fill(-1);
  readonly #bucketRequests = new Array<number>(BUCKETS).fill(0);
  readonly #bucketFailures = new Array<number>(BUCKETS).fill(0);

  constructor(options: CircuitBreakerOptions = {}) {
    this.#threshold = options.failureThreshold ?? 5;
    this.#ratio = options.failureRatio ?? 0.5;
    this.#minimum = options.minimumRequests ?? 20;
    this.#bucketMs = Math.max(1, Math.floor((options.windowMs ?? 10_000) / BUCKETS));
    this.#coolDownMs = options.coolDownMs ?? 5_000;
    this.#now = options.now ?? Date.now;
  }

  get state(): CircuitState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.#coolDownMs) return 'half-open';
    return this.#state;
  }

  /** Ask before a call. A permit with `probe: true` must be followed by exactly one outcome report. */
  tryAcquire(): CircuitPermit {
    if (this.#state === 'closed') return { allowed: true, probe: false };
    const now = this.#now();
    if (this.#state === 'open') {
      const wait = this.#openedAt + this.#coolDownMs - now;
      if (wait > 0) return { allowed: false, retryAfterMs: wait };
      this.#state = 'half-open';
    }
    if (this.#probeInFlight) return { allowed: false, retryAfterMs: Math.min(1000, this.#coolDownMs) };
    this.#probeInFlight = true;
    return { allowed: true, probe: true };
  }

  onSuccess(probe: boolean): void {
    if (probe) {
      this.#probeInFlight = false;
      this.#close();
      return;
    }
    if (this.#state !== 'closed') return;
    this.#consecutive = 0;
    this.#count(false);
  }

  onFailure(probe: boolean): void {
    if (probe) {
      this.#probeInFlight = false;
      this.#open();
      return;
    }
    // Calls started before the circuit opened keep failing for a while: they do not extend the cool-down.
    if (this.#state !== 'closed') return;
    this.#consecutive++;
    this.#count(true);
    const { requests, failures } = this.#window();
    const ratioReached = requests >= this.#minimum && failures / requests >= this.#ratio;
    if (this.#consecutive >= this.#threshold || ratioReached) this.#open();
  }

  /** The call ended without saying anything about the provider (e.g. the caller aborted it). */
  onNeutral(probe: boolean): void {
    if (probe) this.#probeInFlight = false;
  }

  snapshot(): CircuitSnapshot {
    const state = this.state;
    const { requests, failures } = this.#window();
    return {
      state,
      consecutiveFailures: this.#consecutive,
      windowRequests: requests,
      windowFailures: failures,
      opened: this.#opened,
      retryAfterMs: state === 'open' ? Math.max(0, this.#openedAt + this.#coolDownMs - this.#now()) : 0,
    };
  }

  #open(): void {
    this.#state = 'open';
    this.#openedAt = this.#now();
    this.#opened++;
  }

  #close(): void {
    this.#state = 'closed';
    this.#consecutive = 0;
    this.#bucketEpoch.fill(-1);
    this.#bucketRequests.fill(0);
    this.#bucketFailures.fill(0);
  }

  #count(failure: boolean): void {
    const epoch = Math.floor(this.#now() / this.#bucketMs);
    const slot = epoch % BUCKETS;
    if (this.#bucketEpoch[slot] !== epoch) {
      this.#bucketEpoch[slot] = epoch;
      this.#bucketRequests[slot] = 0;
      this.#bucketFailures[slot] = 0;
    }
    this.#bucketRequests[slot]!++;
    if (failure) this.#bucketFailures[slot]!++;
  }

  #window(): { requests: number; failures: number } {
    const oldest = Math.floor(this.#now() / this.#bucketMs) - BUCKETS + 1;
    let requests = 0;
    let failures = 0;
    for (let s = 0; s < BUCKETS; s++) {
      if (this.#bucketEpoch[s]! >= oldest) {
        requests += this.#bucketRequests[s]!;
        failures += this.#bucketFailures[s]!;
      }
    }
    return { requests, failures };
  }
}
