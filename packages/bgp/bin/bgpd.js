#!/usr/bin/env -S node --concurrent-marking-max-worker-num=1 --no-incremental-marking-task --interrupt-budget=270336 --no-memory-reducer --max-semi-space-size=8
// Shim for `tabby bgpd` (tsc output is not executable by itself). Run `npm run build` first.
import { runBgpd } from '../dist/daemon.js';

process.exit(await runBgpd(process.argv.slice(2)));
