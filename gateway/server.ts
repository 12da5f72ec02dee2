/** Starts the gateway and stops it gracefully on SIGINT/SIGTERM: stop accepting, drain, close Redis. */

import type { GovshareConfig } from './app/config.js';
import { createContext } from './app/context.js';
import { buildApp } from './app.js';

export async function startServer(config: GovshareConfig): Promise<{ url: string; close(): Promise<void> }> {
  const context = await createContext(config);
  const app = await buildApp({ context });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      app.log.info('shutting down');
      await app.close();
      await context.close();
    })();
    return closing;
  };
  const address = await app.listen({ host: config.GOVSHARE_HOST, port: config.GOVSHARE_PORT });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      const timer = setTimeout(() => process.exit(1), 10_000);
      timer.unref();
      close().then(
        () => process.exit(0),
        (err) => {
          app.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
  return { url: address, close };
}
