import { startWorker } from '../../worker.js';
import { CONFIG_FLAGS, type Command, configFrom, parseFlags } from '../command.js';

export const workerCommand: Command = {
  name: 'worker',
  summary:
    'Run the background workers: deadline clocks, webhooks, availability probes, quality checks, bulk exchange',
  usage: 'worker [--redis-url URL] [--data-dir DIR]',
  async run(argv, io) {
    const { values } = parseFlags(argv, CONFIG_FLAGS);
    const config = configFrom(values, io);
    const worker = await startWorker(config);
    io.out('govshare worker running (Ctrl-C to stop)');
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        const timer = setTimeout(() => process.exit(1), 30_000);
        timer.unref();
        worker.close().then(() => process.exit(0));
      });
    }
    return -1;
  },
};
