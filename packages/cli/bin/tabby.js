#!/usr/bin/env -S node --concurrent-marking-max-worker-num=1 --no-incremental-marking-task --interrupt-budget=270336 --no-memory-reducer --max-semi-space-size=8
// Shim: tsc output is not executable by itself. Run `npm run build` first.
// A reader that stops early (`| head`) is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

import { main } from '../dist/main.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// A command is over once main resolves: a handle it left open (a stopped daemon's helper pipe, a
// timer) must not keep the process alive. Output is written already (pipes and files are
// synchronous on Linux); an idle event loop ends the process sooner.
setTimeout(() => process.exit(code), 100).unref();
