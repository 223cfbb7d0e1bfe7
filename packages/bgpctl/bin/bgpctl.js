#!/usr/bin/env node
// Shim: tsc output is not executable by itself. Run `npm run build` first.
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
