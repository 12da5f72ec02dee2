import type { CliIo } from '../../gateway/cli/command.js';
import { runCli } from '../../gateway/cli/main.js';

/** Runs the govshare CLI in-process with the given environment and captures what it prints. */
export async function cli(
  argv: string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), env };
  const code = await runCli(argv, io);
  return { code, out, err };
}
