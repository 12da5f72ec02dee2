/**
 * One connector per data service definition, made on first use and kept for the life of the process, so
 * that keep-alive pools and circuit breakers survive across requests. Two catalog entries that mount the
 * same service (kind, endpoint, table, watermark, timeout) share one connector; factories share pools and
 * breakers further, per origin or endpoint.
 */
import type { DataService, ResourceEntry } from '../catalog/schema.js';
import type { CircuitSnapshot } from './circuit-breaker.js';
import { connectorErrors } from './errors.js';
import type { Connector, ConnectorFactory, ConnectorKind, ServiceShape } from './types.js';

export interface ConnectorStatus {
  kind: ConnectorKind;
  endpoint: string;
  circuit?: CircuitSnapshot;
}

export class ConnectorRegistry {
  readonly #factories: Partial<Record<ConnectorKind, ConnectorFactory>>;
  readonly #connectors = new Map<string, Connector>();
  #closed = false;

  constructor(factories: Partial<Record<ConnectorKind, ConnectorFactory>>) {
    this.#factories = factories;
  }

  /** `shape` (see `serviceShape`) is required by the SQL connector: its columns and key come from the entry. */
  get(service: DataService, shape?: ServiceShape): Connector {
    if (this.#closed) throw new connectorErrors.CONNECTOR_CONFIG_INVALID('the connector registry is closed');
    const key = serviceKey(service, shape);
    const existing = this.#connectors.get(key);
    if (existing) return existing;
    const factory = this.#factories[service.connector];
    if (!factory) {
      throw new connectorErrors.CONNECTOR_CONFIG_INVALID(
        `connector kind "${service.connector}" is not configured on this gateway`,
      );
    }
    const connector = factory.create(service, shape);
    this.#connectors.set(key, connector);
    return connector;
  }

  /** Every connector made so far with its circuit state, for metrics and the health page. */
  status(): ConnectorStatus[] {
    return [...this.#connectors.values()].map((c) => {
      const circuit = c.circuit?.();
      return circuit
        ? { kind: c.kind, endpoint: c.endpoint, circuit }
        : { kind: c.kind, endpoint: c.endpoint };
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const connectors = [...this.#connectors.values()];
    this.#connectors.clear();
    await Promise.allSettled(connectors.map((c) => c.close()));
    await Promise.allSettled(Object.values(this.#factories).map((f) => f.close()));
  }
}

function serviceKey(s: DataService, shape: ServiceShape | undefined): string {
  return JSON.stringify([
    s.connector,
    s.endpoint,
    s.table ?? null,
    s.watermark ?? null,
    s.timeoutMs ?? null,
    shape ? [shape.items, shape.key] : null,
  ]);
}

/** The item names and key items of a catalog entry, as connectors need them. */
export function serviceShape(entry: Pick<ResourceEntry, 'items'>): ServiceShape {
  return {
    items: entry.items.map((item) => item.name),
    key: entry.items.filter((item) => item.key === true).map((item) => item.name),
  };
}
