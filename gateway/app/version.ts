import { readFileSync } from 'node:fs';

/** The package version, read once from package.json (two levels up from dist/gateway/). */
export const VERSION: string = (() => {
  for (const path of ['../../package.json', '../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { version: string })
        .version;
    } catch {}
  }
  return '0.0.0';
})();
