/**
 * Who tears down what a test helper starts. Under tap, a test (`t`) for what lives as long as the test and
 * the file's root test for what lives as long as the process (one Redis, one platform directory per
 * file). Under `@playwright/test` (the browser tests) there is no tap root: the worker's fixtures
 * (test/helpers/browser.ts) register their own process scope, and a test's teardowns run when it ends.
 */

/** Anything that runs functions when it ends: a tap `Test`, or a {@link Teardowns}. */
export interface Scope {
  teardown(fn: () => unknown): void;
}

/** A scope of its own: `run()` calls the registered functions, the last registered first (as tap does). */
export class Teardowns implements Scope {
  readonly #fns: (() => unknown)[] = [];

  teardown(fn: () => unknown): void {
    this.#fns.push(fn);
  }

  async run(): Promise<void> {
    for (let fn = this.#fns.pop(); fn; fn = this.#fns.pop()) await fn();
  }
}

let processScope: Scope | undefined;

/** Makes `scope` the end of the process for {@link atProcessEnd} (a Playwright worker; tap needs none). */
export function setProcessScope(scope: Scope | undefined): void {
  processScope = scope;
}

/** Runs `fn` when the process's tests are over: the worker's scope when one is set, else tap's root. */
export async function atProcessEnd(fn: () => unknown): Promise<void> {
  if (processScope) {
    processScope.teardown(fn);
    return;
  }
  const root = await import('tap');
  root.default.teardown(fn);
}
