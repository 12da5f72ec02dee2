import { readFileSync, writeFileSync } from 'node:fs';
import { exportCatalog, importCatalog } from '../../../catalog/io.js';
import { CatalogService } from '../../../catalog/service.js';
import { CertsStore } from '../../../certs/store.js';
import { problemsMarkdown } from '../../app/problem-registry.js';
import { cliAudit } from '../cli-audit.js';
import { CONFIG_FLAGS, type Command, configFrom, parseFlags, UsageError } from '../command.js';
import { withRedis } from './identities.js';

const operator = { role: 'system' as const, name: 'govshare catalog (operator)' };

export const catalogImportCommand: Command = {
  name: 'catalog import',
  summary:
    'Import catalog entries from a JSON file (an export, or an array of entries); each is checked and published',
  usage: 'catalog import FILE',
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, CONFIG_FLAGS);
    const file = positionals[0];
    if (!file) throw new UsageError('FILE is required');
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new UsageError(`${file}: ${(err as Error).message}`);
    }
    const config = configFrom(values, io);
    await withRedis(config, async (redis) => {
      const certs = new CertsStore(redis, config.GOVSHARE_REDIS_PREFIX);
      const catalog = new CatalogService(redis, config.GOVSHARE_REDIS_PREFIX, {
        isKnownDepartment: async (code) => (await certs.getDepartment(code)) !== null,
      });
      const summary = await importCatalog(catalog, operator, data);
      await cliAudit(config, redis, 'catalog.import', { file, ...summary });
      io.out(
        `imported ${file}: ${summary.created} created, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.skipped} skipped`,
      );
    });
    return 0;
  },
};

export const catalogExportCommand: Command = {
  name: 'catalog export',
  summary: 'Export the whole catalog as JSON (to --out FILE or standard output)',
  usage: 'catalog export [--out FILE]',
  async run(argv, io) {
    const { values } = parseFlags(argv, { ...CONFIG_FLAGS, out: { type: 'string' } });
    const config = configFrom(values, io);
    await withRedis(config, async (redis) => {
      const catalog = new CatalogService(redis, config.GOVSHARE_REDIS_PREFIX);
      const json = JSON.stringify(
        await exportCatalog(catalog, { role: 'bureau', name: operator.name }),
        null,
        2,
      );
      if (values.out) {
        writeFileSync(values.out, `${json}\n`);
        io.err(`wrote ${values.out}`);
      } else io.out(json);
    });
    return 0;
  },
};

export const errorsCommand: Command = {
  name: 'errors',
  summary: 'Print every error code with its status and meaning (docs/errors.md is generated from it)',
  usage: 'errors [--markdown]',
  async run(argv, io) {
    parseFlags(argv, { markdown: { type: 'boolean' } });
    io.out(problemsMarkdown().trimEnd());
    return 0;
  },
};
