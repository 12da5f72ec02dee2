/**
 * What the gateway and the workers need from a provider's data, whatever holds it: a front-end processor
 * over HTTP (前置机), a front-end database (前置库) over SQL, or a file drop. A connector serves one data
 * service (one catalog entry's `service`); heavy resources (HTTP pools, database pools, circuit breakers)
 * are shared per origin/endpoint by the factory that makes the connectors.
 */
import type { DataService } from '../catalog/schema.js';
import type { CircuitSnapshot } from './circuit-breaker.js';

export type Row = Record<string, unknown>;

export type ConnectorKind = DataService['connector'];

export interface LookupOptions {
  /** Aborts the call (e.g. the consumer went away); the connector then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Passed to the provider for correlation (X-Request-Id over HTTP). */
  requestId?: string;
  /**
   * The verified caller the data path serves. Provider connectors ignore it; the federation connector
   * forwards it to the upper platform in signed headers.
   */
  origin?: CallOrigin;
}

/** Who a data call is made for: the calling department's system, the acting official, purpose and case. */
export interface CallOrigin {
  deptCode: string;
  systemId: string;
  purpose: string;
  userId?: string;
  caseId?: string;
}

export interface PageOptions extends LookupOptions {
  /** Opaque cursor from a previous page's `next`; absent for the first page. */
  after?: string;
  /** Most rows to return; a page may hold fewer (even none) and still have a `next`. */
  limit: number;
  /** Only rows whose watermark item is later than `value` (incremental exchange). */
  since?: { watermark: string; value: string };
}

export interface Page {
  rows: Row[];
  /** Cursor of the following page; absent on the last page. */
  next?: string;
  /** Rows in the whole result when the provider knows it cheaply. */
  total?: number;
  /**
   * The largest watermark value among this page's rows as the provider holds them, when the rows handed
   * on may lack the watermark item (a federated page projected to a grant's items).
   */
  watermark?: string;
}

export interface HealthReport {
  ok: boolean;
  latencyMs: number;
  detail?: string;
}

export interface Connector {
  readonly kind: ConnectorKind;
  /** The provider endpoint this connector talks to (safe to log: no credentials). */
  readonly endpoint: string;
  /** Rows whose key item `keyItem` equals one of `values` (no unkeyed scans). */
  lookup(keyItem: string, values: string[], opts?: LookupOptions): Promise<Row[]>;
  /** One page of the whole data set, in a stable order, for bulk exchange. */
  page(opts: PageOptions): Promise<Page>;
  /** Never throws: reports whether the provider answers, and how fast. */
  health(): Promise<HealthReport>;
  /** Circuit breaker state for metrics, when the connector has one. */
  circuit?(): CircuitSnapshot;
  close(): Promise<void>;
}

/**
 * What a connector may need from the catalog entry besides its data service: the item names and the key
 * items, in entry order. The SQL connector reads them as the table's columns and key columns; the HTTP
 * connector does not need them.
 */
export interface ServiceShape {
  items: readonly string[];
  key: readonly string[];
}

/** Makes connectors of one kind and owns what they share (pools); closed after all its connectors. */
export interface ConnectorFactory {
  create(service: DataService, shape?: ServiceShape): Connector;
  close(): Promise<void>;
}
