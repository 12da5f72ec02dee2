import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { CONSOLE_ROOT } from '../../gateway/plugins/console.js';

t.test(
  'the console JavaScript stays under 600 KB gzipped; the statistics charts load only on their page',
  async (t) => {
    const assets = join(CONSOLE_ROOT, 'assets');
    const scripts = readdirSync(assets).filter((name) => name.endsWith('.js'));
    const gz = (name: string) => gzipSync(readFileSync(join(assets, name)), { level: 9 }).length;
    const total = scripts.reduce((sum, name) => sum + gz(name), 0);
    t.ok(total < 600 * 1024, `all JavaScript: ${(total / 1024).toFixed(1)} KiB gzipped`);
    const index = readFileSync(join(CONSOLE_ROOT, 'index.html'), 'utf8');
    const entry = /src="\/console\/assets\/([^"]+\.js)"/.exec(index)?.[1];
    t.ok(entry && scripts.includes(entry), 'index.html loads the entry chunk');
    const entryCode = readFileSync(join(assets, entry!), 'utf8');
    t.notMatch(entryCode, /echarts\.apache\.org|ECharts/, 'ECharts is not in the first load');
    t.notMatch(
      index,
      /<script>(?!<\/script>)|<style>|style="/,
      'no inline script or style (the CSP forbids them)',
    );
  },
);
