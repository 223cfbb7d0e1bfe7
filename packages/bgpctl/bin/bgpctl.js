#!/usr/bin/env node
// Shim: tsc output is not executable by itself. Run `npm run build` first.
// A reader that stops early (`| head`) is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
