/**
 * docs/conformance.md (and docs/conformance-defects.md when present) map every rule to the code that
 * enforces it and the test that proves it. This test keeps the tables honest: every code path named
 * exists (with the symbol named beside it), every test file named exists and contains the test name
 * quoted beside it, and a row without any test says "not enforced" with its reason.
 *
 * Cell forms (see the top of docs/conformance.md):
 *   code:  `catalog/rules.ts` › `checkEntry`            (symbol optional)
 *   tests: `test/catalog/rules.test.ts` › "test name"   (name optional; several separated by <br>)
 */
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';

const ROOT = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');

export interface Problem {
  file: string;
  line: number;
  message: string;
}

interface Row {
  line: number;
  cells: Record<string, string>;
}

const split = (line: string) =>
  line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());

/** The rows of every table whose header names a test column, with cells keyed by 'code' and 'tests'. */
export function tableRows(markdown: string): Row[] {
  const lines = markdown.split('\n');
  const rows: Row[] = [];
  for (let i = 0; i < lines.length - 1; i++) {
    if (!lines[i]!.trim().startsWith('|') || !/^\|?\s*:?-{3,}/.test(lines[i + 1]!.trim())) continue;
    const header = split(lines[i]!).map((h) => h.toLowerCase());
    const testCol = header.findIndex((h) => h.includes('test') || h.includes('proved'));
    const codeCol = header.findIndex((h) => h.includes('code') || h.includes('enforced'));
    let j = i + 2;
    for (; j < lines.length && lines[j]!.trim().startsWith('|'); j++) {
      if (testCol < 0) continue;
      const cells = split(lines[j]!);
      rows.push({
        line: j + 1,
        cells: { tests: cells[testCol] ?? '', code: codeCol < 0 ? '' : (cells[codeCol] ?? '') },
      });
    }
    i = j - 1;
  }
  return rows;
}

const TEST_REF = /`(test\/[^`]+?\.ts)`(?:\s*›\s*"([^"]+)")?/g;
const CODE_REF = /`([a-z][\w-]*\/[^`\s]+?\.(?:ts|mjs|sh|md))`(?:\s*›\s*`([^`]+)`)?/g;

/** What is wrong with the tables of one document (empty when nothing). */
export function checkConformance(
  file: string,
  markdown: string,
  exists: (path: string) => boolean,
  readFile: (path: string) => string,
): Problem[] {
  const problems: Problem[] = [];
  const rows = tableRows(markdown);
  if (rows.length === 0) problems.push({ file, line: 1, message: 'no table with a tests column' });
  for (const { line, cells } of rows) {
    const report = (message: string) => problems.push({ file, line, message });
    const tests = [...cells.tests!.matchAll(TEST_REF)];
    if (tests.length === 0 && !/not enforced/i.test(cells.tests!)) {
      report('names no test and does not say "not enforced" with a reason');
    }
    for (const [, path, name] of tests) {
      if (!exists(path!)) {
        report(`test file ${path} does not exist`);
        continue;
      }
      if (name !== undefined && !readFile(path!).includes(name)) {
        report(`test file ${path} has no test named "${name}"`);
      }
    }
    for (const [, path, symbol] of cells.code!.matchAll(CODE_REF)) {
      if (path!.startsWith('test/')) continue;
      if (!exists(path!)) {
        report(`code file ${path} does not exist`);
        continue;
      }
      if (symbol !== undefined && !readFile(path!).includes(symbol)) {
        report(`code file ${path} has no ${symbol}`);
      }
    }
  }
  return problems;
}

const onDisk = (path: string) => existsSync(new URL(path, ROOT));

t.test('every row of the conformance tables names real code and real tests', async (t) => {
  const documents = ['docs/conformance.md', 'docs/conformance-defects.md'].filter(onDisk);
  t.ok(documents.includes('docs/conformance.md'), 'docs/conformance.md exists');
  for (const file of documents) {
    const problems = checkConformance(file, read(file), onDisk, read);
    t.same(
      problems.map((p) => `${p.file}:${p.line}: ${p.message}`),
      [],
      `${file}: every named test and code path exists`,
    );
    t.ok(tableRows(read(file)).length > 0, `${file} has rows`);
  }
});

t.test(
  'the checker finds a missing file, a missing test name, a missing symbol and an empty row',
  async (t) => {
    const doc = [
      '| rule | enforced by | proved by |',
      '|---|---|---|',
      '| ok | `catalog/rules.ts` › `checkEntry` | `test/catalog/rules.test.ts` › "good" |',
      '| gone | `catalog/nowhere.ts` | `test/catalog/nowhere.test.ts` |',
      '| renamed | `catalog/rules.ts` › `checkNothing` | `test/catalog/rules.test.ts` › "bad" |',
      '| silent | `catalog/rules.ts` | — |',
      '| honest | — | not enforced: nothing built yet |',
    ].join('\n');
    const files: Record<string, string> = {
      'catalog/rules.ts': 'export function checkEntry() {}',
      'test/catalog/rules.test.ts': "t.test('good', ...)",
    };
    const problems = checkConformance(
      'x.md',
      doc,
      (p) => p in files,
      (p) => files[p]!,
    );
    t.same(
      problems.map((p) => `${p.line}: ${p.message}`),
      [
        '4: test file test/catalog/nowhere.test.ts does not exist',
        '4: code file catalog/nowhere.ts does not exist',
        '5: test file test/catalog/rules.test.ts has no test named "bad"',
        '5: code file catalog/rules.ts has no checkNothing',
        '6: names no test and does not say "not enforced" with a reason',
      ],
    );
  },
);
