// Regenerates the configuration table in README.md from the schema (node scripts/lib/update-readme-config.mjs,
// after a build). The table is found by its header row, padded or not, and ends at its last `|` line.
import { readFileSync, writeFileSync } from 'node:fs';
import { configMarkdownTable } from '../../dist/gateway/app/config.js';

const lines = readFileSync('README.md', 'utf8').split('\n');
const start = lines.findIndex((line) => /^\|\s*variable\s*\|\s*default\s*\|\s*meaning\s*\|$/.test(line));
if (start < 0)
  throw new Error('README.md has no configuration table (header "| variable | default | meaning |")');
let end = start;
while (end < lines.length && lines[end].startsWith('|')) end++;
lines.splice(start, end - start, ...configMarkdownTable().split('\n'));
writeFileSync('README.md', lines.join('\n'));
