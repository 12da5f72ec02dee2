/**
 * Faults the simulator can be told to show, so that connector tests run against a real, misbehaving
 * server instead of mocks. A fault applies to data set requests (health, lookup, rows), not to admin
 * routes; with `times` it applies to that many requests and then clears itself.
 */
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

const times = Type.Optional(
  Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Apply to this many requests, then clear' }),
);

export const Fault = Type.Union([
  Type.Object(
    { kind: Type.Literal('delay'), ms: Type.Integer({ minimum: 0, maximum: 600_000 }), times },
    { additionalProperties: false, description: 'Answer normally, after a delay' },
  ),
  Type.Object(
    { kind: Type.Literal('status'), status: Type.Integer({ minimum: 400, maximum: 599 }), times },
    { additionalProperties: false, description: 'Answer with this HTTP error status' },
  ),
  Type.Object(
    { kind: Type.Literal('garbage'), times },
    { additionalProperties: false, description: 'Answer 200 with a body that is not JSON' },
  ),
  Type.Object(
    { kind: Type.Literal('wrong-shape'), times },
    { additionalProperties: false, description: "Answer 200 with JSON that is not the protocol's shape" },
  ),
  Type.Object(
    { kind: Type.Literal('close'), times },
    { additionalProperties: false, description: 'Close the connection without answering' },
  ),
  Type.Object(
    { kind: Type.Literal('oversized'), bytes: Type.Integer({ minimum: 64, maximum: 1024 ** 3 }), times },
    { additionalProperties: false, description: 'Answer 200 with a valid JSON body of this many bytes' },
  ),
]);
export type Fault = Static<typeof Fault>;

export const checkFault = TypeCompiler.Compile(Fault);

/** The active fault, counted down per request. */
export class FaultSwitch {
  #fault: Fault | undefined;
  #left = Number.POSITIVE_INFINITY;

  set(fault: Fault | undefined): void {
    this.#fault = fault;
    this.#left = fault?.times ?? Number.POSITIVE_INFINITY;
  }

  get current(): Fault | undefined {
    return this.#fault;
  }

  /** The fault for the next request, if any. */
  take(): Fault | undefined {
    const fault = this.#fault;
    if (fault && --this.#left <= 0) this.#fault = undefined;
    return fault;
  }
}
