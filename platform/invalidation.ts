/**
 * Process-local caches that every gateway instance drops when another instance changes the data behind
 * them. Changes are announced on Redis pub/sub channels; because a subscriber can miss messages while it
 * is reconnecting, every cache is also cleared whenever the subscription (re)connects, and entries carry a
 * TTL as a last bound on staleness.
 */
import type { RedisClient } from './redis.js';

export class LocalCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V): void {
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

type Listener = { onMessage(message: string): void; onReset(): void };

export class InvalidationBus {
  private readonly listeners = new Map<string, Listener[]>();
  private connectedOnce = false;

  constructor(private readonly subscriber: RedisClient) {
    subscriber.on('message', (channel: string, message: string) => {
      for (const listener of this.listeners.get(channel) ?? []) listener.onMessage(message);
    });
    subscriber.on('ready', () => {
      // A reconnect may have hidden messages: drop everything cached.
      if (this.connectedOnce) this.resetAll();
      this.connectedOnce = true;
    });
    subscriber.on('error', () => undefined);
  }

  async listen(channel: string, listener: Listener): Promise<void> {
    const existing = this.listeners.get(channel);
    if (existing) existing.push(listener);
    else {
      this.listeners.set(channel, [listener]);
      await this.subscriber.subscribe(channel);
    }
  }

  resetAll(): void {
    for (const list of this.listeners.values()) for (const listener of list) listener.onReset();
  }

  async close(): Promise<void> {
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }
}
