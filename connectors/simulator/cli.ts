/**
 * `govshare simulator --port P --residents N …`: starts the simulator, prints where its data sets are, and
 * closes on Ctrl-C (SIGINT) or SIGTERM.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_SIZES, type Simulator, startSimulator } from './server.js';

export const SIMULATOR_USAGE = `Usage: govshare simulator [options]

Starts a front-end processor simulator with deterministic synthetic data.

Options:
  --host HOST                 address to listen on (default 127.0.0.1)
  --port P                    port (default 0: a free port)
  --residents N               rows of 人口基础信息 (default ${DEFAULT_SIZES.residents})
  --enterprises N             rows of 企业登记信息 (default ${DEFAULT_SIZES.enterprises})
  --social-insurance N        rows of 社会保险参保信息 (default ${DEFAULT_SIZES.socialInsurance})
  --latency MS                added to every lookup and page (default 0)
  -h, --help                  show this help`;

export interface SimulatorCliIo {
  print(line: string): void;
}

/**
 * Runs the simulator command. Resolves once it listens, with the running simulator (undefined after
 * --help); invalid arguments reject with an Error whose message says what to fix.
 */
export async function runSimulatorCli(
  argv: string[],
  io: SimulatorCliIo = { print: (line) => console.log(line) },
): Promise<Simulator | undefined> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      residents: { type: 'string' },
      enterprises: { type: 'string' },
      'social-insurance': { type: 'string' },
      latency: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.print(SIMULATOR_USAGE);
    return undefined;
  }
  const simulator = await startSimulator({
    host: values.host ?? '127.0.0.1',
    port: integerOption('--port', values.port, 0, 65_535) ?? 0,
    latencyMs: integerOption('--latency', values.latency, 0, 600_000) ?? 0,
    datasets: {
      residents:
        integerOption('--residents', values.residents, 0, Number.MAX_SAFE_INTEGER) ?? DEFAULT_SIZES.residents,
      enterprises:
        integerOption('--enterprises', values.enterprises, 0, Number.MAX_SAFE_INTEGER) ??
        DEFAULT_SIZES.enterprises,
      socialInsurance:
        integerOption('--social-insurance', values['social-insurance'], 0, Number.MAX_SAFE_INTEGER) ??
        DEFAULT_SIZES.socialInsurance,
    },
  });
  io.print(`simulator listening on ${simulator.url}`);
  for (const d of simulator.datasets) {
    io.print(
      `  ${d.name.padEnd(17)} ${String(d.size).padStart(10)} rows  key ${d.keyItem.padEnd(9)} ${d.endpoint}  ${d.title}`,
    );
  }
  io.print('Ctrl-C to stop');

  const stop = () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    void simulator.close().then(() => io.print('simulator stopped'));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return {
    ...simulator,
    close: async () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await simulator.close();
    },
  };
}

function integerOption(flag: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${flag} must be a whole number from ${min} to ${max}, not "${text}"`);
  }
  return value;
}
