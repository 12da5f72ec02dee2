/**
 * The in-process copy of the search documents, kept in resource-code order so that a search never sorts
 * by code, and with a lazily built rank of names in Chinese (pinyin) collation order so that sorting by
 * name compares integers. Both are maintained incrementally when single documents change.
 */
import type { SearchDocument } from './search-document.js';

export interface IndexedDocument {
  doc: SearchDocument;
  /** Sorts like the natural order of resource codes: classification code, then sequence as a number. */
  codeKey: string;
}

const nameCollator = new Intl.Collator('zh-Hans-CN', { numeric: true });

export function codeSortKey(code: string): string {
  const [classification = '', sequence = ''] = code.split('/');
  return `${classification}\u0000${sequence.padStart(12, '0')}`;
}

export class SearchIndex {
  private byCode = new Map<string, IndexedDocument>();
  private ordered: IndexedDocument[] = [];
  /** Distinct names in collation order; undefined until a search sorts by name. */
  private names: string[] | undefined;
  private ranks: Map<string, number> | undefined;
  /** The texts of the versions in force, joined (NUL-separated) in code order, with each one's start. */
  private textBlock: { text: string; starts: Int32Array } | undefined;

  get size(): number {
    return this.ordered.length;
  }

  replaceAll(docs: SearchDocument[]): void {
    this.byCode = new Map(docs.map((doc) => [doc.code, { doc, codeKey: codeSortKey(doc.code) }]));
    this.ordered = [...this.byCode.values()].sort((a, b) => (a.codeKey < b.codeKey ? -1 : 1));
    this.names = undefined;
    this.ranks = undefined;
    this.textBlock = undefined;
  }

  upsert(doc: SearchDocument): void {
    const existing = this.byCode.get(doc.code);
    if (existing) existing.doc = doc;
    else {
      const indexed = { doc, codeKey: codeSortKey(doc.code) };
      this.byCode.set(doc.code, indexed);
      this.ordered.splice(this.insertionPoint(indexed.codeKey), 0, indexed);
    }
    if (this.names) for (const name of namesOf(doc)) this.addName(name);
    this.textBlock = undefined;
  }

  remove(code: string): void {
    const existing = this.byCode.get(code);
    if (!existing) return;
    this.byCode.delete(code);
    this.ordered.splice(this.ordered.indexOf(existing), 1);
    this.textBlock = undefined;
  }

  /** All documents in ascending code order (do not modify). */
  inCodeOrder(): readonly IndexedDocument[] {
    return this.ordered;
  }

  /**
   * Which documents (by position in code order) have a version in force whose text contains `q`.
   * One indexOf scan over a single string is several times faster than a substring test per document,
   * whose texts lie scattered over the heap.
   */
  publishedTextHits(q: string): Uint8Array {
    const { text, starts } = this.publishedTexts();
    const hits = new Uint8Array(this.ordered.length);
    let from = 0;
    for (;;) {
      const at = text.indexOf(q, from);
      if (at < 0) return hits;
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (starts[mid]! <= at) lo = mid;
        else hi = mid - 1;
      }
      hits[lo] = 1;
      from = lo + 1 < starts.length ? starts[lo + 1]! : text.length;
    }
  }

  private publishedTexts(): { text: string; starts: Int32Array } {
    if (this.textBlock) return this.textBlock;
    const starts = new Int32Array(this.ordered.length);
    const parts: string[] = [];
    let offset = 0;
    this.ordered.forEach(({ doc }, i) => {
      starts[i] = offset;
      const text = doc.current?.text ?? '';
      parts.push(text);
      offset += text.length + 1;
    });
    this.textBlock = { text: parts.join('\u0000'), starts };
    return this.textBlock;
  }

  /** Position of a name in collation order; names never seen sort as if added now. */
  nameRank(name: string): number {
    if (!this.names) {
      const all = new Set<string>();
      for (const { doc } of this.ordered) for (const n of namesOf(doc)) all.add(n);
      this.names = [...all].sort(nameCollator.compare);
    }
    if (!this.ranks) this.ranks = new Map(this.names.map((n, i) => [n, i]));
    const rank = this.ranks.get(name);
    if (rank !== undefined) return rank;
    this.addName(name);
    return this.nameRank(name);
  }

  private addName(name: string): void {
    const names = this.names!;
    if (this.ranks?.has(name)) return;
    let lo = 0;
    let hi = names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (nameCollator.compare(names[mid]!, name) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (names[lo] === name) return;
    names.splice(lo, 0, name);
    this.ranks = undefined;
  }

  private insertionPoint(key: string): number {
    let lo = 0;
    let hi = this.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ordered[mid]!.codeKey < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function namesOf(doc: SearchDocument): string[] {
  const names: string[] = [];
  if (doc.current) names.push(doc.current.name);
  if (doc.pending) names.push(doc.pending.name);
  return names;
}
