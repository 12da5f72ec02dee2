/** A set of at most `limit` values: adding one more forgets the oldest (insertion order). */
export class BoundedSet<T> {
  readonly #values = new Set<T>();

  constructor(private readonly limit: number) {}

  add(value: T): void {
    if (this.#values.size >= this.limit && !this.#values.has(value)) {
      const oldest = this.#values.values().next();
      if (!oldest.done) this.#values.delete(oldest.value);
    }
    this.#values.add(value);
  }

  has(value: T): boolean {
    return this.#values.has(value);
  }

  /** Removes the value; true when it was there. */
  delete(value: T): boolean {
    return this.#values.delete(value);
  }

  get size(): number {
    return this.#values.size;
  }
}
