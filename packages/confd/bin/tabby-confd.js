#!/usr/bin/env node
// Shim for running `tabby confd` before the CLI wires it: node packages/confd/bin/tabby-confd.js --help
// tsc output is not executable by itself. Run `npm run build` first.
import { runConfdCommand } from '../dist/index.js';

const ac = new AbortController();
process.once('SIGINT', () => ac.abort());
process.once('SIGTERM', () => ac.abort());
process.exitCode = await runConfdCommand(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: ac.signal,
});
