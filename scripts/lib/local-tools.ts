import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

/** A port that was free on 127.0.0.1 a moment ago. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

const SEARCH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/**
 * The absolute path of a server binary, or an error that gives the exact command to install it.
 * Installation itself is done by scripts/ensure-deps.sh, which runs as part of the two README commands.
 */
export function requireBinary(name: string, debianPackage: string, extraDirs: string[] = []): string {
  for (const dir of [...extraDirs, ...(process.env.PATH ?? '').split(':'), ...SEARCH_DIRS]) {
    if (dir && existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  try {
    return execFileSync('which', [name], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      `${name} is not installed. Install it with:\n  sudo apt-get update && sudo apt-get install -y ${debianPackage}\n` +
        'or run ./scripts/test.sh (or ./scripts/demo.sh) as root, which installs it.',
    );
  }
}
