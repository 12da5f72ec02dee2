// Regenerates the configuration table in README.md from the schema (node scripts/lib/update-readme-config.mjs).
import { readFileSync, writeFileSync } from 'node:fs';
import { configMarkdownTable } from '../../dist/gateway/config.js';

const readme = readFileSync('README.md', 'utf8');
const start = readme.indexOf('| variable | default | meaning |');
const end = readme.indexOf('\n\n', start);
writeFileSync('README.md', readme.slice(0, start) + configMarkdownTable() + readme.slice(end));
