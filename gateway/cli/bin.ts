#!/usr/bin/env node
import { runCli } from './main.js';

runCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
}).then(
  (code) => {
    // Long-running commands (serve, simulator, worker) return -1 and keep the process alive.
    if (code !== -1) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`govshare: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
