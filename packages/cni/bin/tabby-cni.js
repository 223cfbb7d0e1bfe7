#!/usr/bin/env node
// The Tabby CNI plugin executable (CNI_COMMAND ADD | DEL | CHECK | VERSION; config on stdin).
import { main } from '../dist/main.js';

await main();
