/**
 * Bindings added to a request's logger for the rest of the request (who is calling, which resource), so
 * that one grep of the request id follows it through the data path, connector and audit.
 */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';

type Bindings = Record<string, string>;

/**
 * Adds the bindings to the request's own logger in place (pino's `setBindings`) rather than replacing it
 * with `request.log.child(...)`. A child makes the request's logger its prototype, and V8 keeps an object
 * that has become a prototype, with what it references, through every young-generation collection until
 * the next full one: under load such children were a quarter of what the gateway promoted to the old
 * generation, which brought on the full collections that held requests up (bench/README.md). Loggers
 * without `setBindings` (a custom or disabled logger) get a child as before.
 */
export function bindRequestLog(request: FastifyRequest, bindings: Bindings): void {
  const log = request.log as FastifyBaseLogger & { setBindings?: (bindings: Bindings) => void };
  if (typeof log.setBindings === 'function') log.setBindings(bindings);
  else request.log = log.child(bindings);
}
