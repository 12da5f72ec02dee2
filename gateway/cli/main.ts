/** The `govshare` command: one line per command in --help; each command has its own --help. */
import { ConfigError } from '../app/config.js';
import { VERSION } from '../app/version.js';
import { type CliIo, type Command, UsageError } from './command.js';
import { commands } from './commands/index.js';

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(helpText(commands));
    return 0;
  }
  if (argv[0] === '--version') {
    io.out(VERSION);
    return 0;
  }
  const command = findCommand(commands, argv);
  if (!command) {
    io.err(`govshare: unknown command "${argv.slice(0, 2).join(' ')}". Run govshare --help.`);
    return 2;
  }
  const rest = argv.slice(command.name.split(' ').length);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`${command.summary}\n\nusage: govshare ${command.usage}`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`govshare ${command.name}: ${err.message}\nusage: govshare ${command.usage}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      io.err(`govshare: configuration error: ${err.message}`);
      return 78;
    }
    const error = err as Error & { code?: string };
    io.err(`govshare ${command.name}: ${error.code ? `${error.code}: ` : ''}${error.message}`);
    return 1;
  }
}

function findCommand(list: Command[], argv: string[]): Command | undefined {
  const two = argv.slice(0, 2).join(' ');
  return list.find((c) => c.name === two) ?? list.find((c) => c.name === argv[0]);
}

function helpText(list: Command[]): string {
  const width = Math.max(...list.map((c) => c.name.length));
  return [
    `govshare ${VERSION} — government data-sharing exchange gateway`,
    '',
    'usage: govshare <command> [flags]   (govshare <command> --help for its flags)',
    '',
    ...list.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Every command reads the GOVSHARE_* variables (see README); flags override them.',
  ].join('\n');
}
