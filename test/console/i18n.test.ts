import { readFileSync } from 'node:fs';
import t from 'tap';
import { problemRegistry } from '../../gateway/app/problem-registry.js';

const source = readFileSync(new URL('../../../console/src/i18n.ts', import.meta.url), 'utf8');
const [zh, en] = source.split('const en:') as [string, string];

t.test(
  'every problem code the console translates is a code of docs/errors.md, in both languages',
  async (t) => {
    const codes = (text: string) => [...text.matchAll(/^\s+problem_([A-Z_]+):/gm)].map((m) => m[1]!);
    const zhCodes = codes(zh);
    const enCodes = codes(en);
    t.ok(zhCodes.length >= 20);
    t.same(enCodes, zhCodes, 'English translates the same codes');
    const unknown = zhCodes.filter((code) => code !== 'NETWORK' && !problemRegistry.has(code));
    t.same(unknown, [], 'no translation of a code the API does not have');
    for (const code of [
      'SIGNIN_FAILED',
      'TOTP_REQUIRED',
      'ACCOUNT_LOCKED',
      'SESSION_INVALID',
      'CSRF_TOKEN_INVALID',
    ])
      t.ok(zhCodes.includes(code), `sign-in code ${code} is translated`);
  },
);
