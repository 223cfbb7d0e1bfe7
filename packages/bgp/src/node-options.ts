import { setFlagsFromString } from 'node:v8';

// The Node options every Tabby daemon runs with. The daemons' shims (`bin/tabby.js`, `bin/bgpd.js`,
// `bin/tabby-rr.js`, `bin/tabby-node.js`) carry them in their `#!` line, so running a shim (or the
// `tabby` that npm links to it) is enough; what starts a daemon with `node` itself (the lab, the
// benchmarks, the interop tests) takes them from here. A test holds the two equal. A daemon started
// some other way (`node bin/bgpd.js` in a unit file, a wrapper) sets the ones it lacks itself as it
// starts (`applyDaemonNodeOptions`): the first three are V8 flags that V8 reads as it goes; the
// memory reducer and the young generation are made with the heap, so `--no-memory-reducer` and
// `--max-semi-space-size` work only on Node's command line.
//
// --concurrent-marking-max-worker-num=1: V8 marks the old generation on as many helper threads as
// Node's platform has, 4 whatever the machine. On two cores they took the CPU from the event loop
// that runs every session: while 10,000 clients came up, the loop's thread waited on the run queue
// for 42-50 ms of its longest gaps while the daemon's other threads ran (docs/benchmarks, the
// reflector report). With one helper, time, CPU and peak RSS stayed as they were.
//
// --no-incremental-marking-task: V8 also advances its marking from the main thread in steps it
// posts as tasks. With 10,000 sessions up and idle, a full collection then ran 50-90 ms of marking
// steps on the main thread within 85-160 ms of wall time, and held the loop up to 67 ms
// (`--trace-gc`: "+ 66.8 ms in 461 steps"). Without the tasks the main thread marks only as it
// allocates, a millisecond or less per collection while idle, and the helper does the rest.
//
// --interrupt-budget=270336 (4x V8's 67,584): how much bytecode a function runs before V8 counts it
// toward optimizing it with TurboFan. With V8's default, TurboFan compiled every function that ran
// a few thousand times: per-session setup while 10,000 clients connect (565 compile jobs,
// `--trace-opt`), per-UPDATE code through a 4,000-UPDATE table (76 jobs). Each job runs on a helper
// thread, and on two cores it took a core from the event loop or added to the daemon's CPU; the
// code ran too few times more to pay it back. With 4x, what runs per prefix or per message at scale
// is still optimized, a little later, and the rest stays in V8's baseline code: 376 jobs for the
// 10,000 clients, 28 for the table. Alternated runs: the reflector's worst stall with 10,000
// clients 28-36 ms against 24-71 (seven each), its fan-out 0.18-0.27 CPU s against 0.26-0.37
// (four); BIRD-fed packed ingest 0.25-0.30 CPU s against 0.30-0.35 (six); diverse ingest unchanged.
//
// --no-memory-reducer: once a process that had been allocating goes quiet, V8's memory reducer runs
// up to three full collections in a row that compact the heap to hand pages back. A reflector whose
// 10,000 clients had come up went quiet (keepalives only) and, about 50 s later, had its loop held
// 58-78 ms by them (`--trace-gc-nvp`: pauses of 19-21 ms, 49-55 ms, most of it copying live objects
// to compact, and 10-12 ms, with the main thread waiting for a core meanwhile). Without it the
// garbage goes at the next ordinary collection, and the pages were not handed back anyway: a speaker
// idle 25 s after a full table held 212 MB either way.
//
// --max-semi-space-size=8 (MB; V8's default on 64 bits is 16): while objects keep surviving, as
// every session's do while 10,000 clients come up, V8 grows its young generation to the largest
// and each scavenge copies nearly all of it: 17-35 ms pauses, the largest part of the reflector's
// stalls over 50 ms once the options above were in. With 8 MB, alternated runs of 10,000 clients:
// worst stall 27-42 ms in 11 runs against 34-66 ms (5 of 22 over 50); time to Established, CPU
// and peak RSS within the noise; a diverse full table 190-200 MB against 205-218, its CPU the same.
// V8 sizes the young generation with the heap: like the memory reducer, only the command line sets it.
export const DAEMON_NODE_OPTIONS: readonly string[] = [
  '--concurrent-marking-max-worker-num=1',
  '--no-incremental-marking-task',
  '--interrupt-budget=270336',
  '--no-memory-reducer',
  '--max-semi-space-size=8',
];

/** An option's name: `--no-incremental-marking-task` and `--incremental_marking_task=1` name the same flag. */
function optionName(option: string): string {
  return option
    .replace(/=.*$/, '')
    .replace(/^--(no-?)?/, '')
    .replace(/_/g, '-');
}

/**
 * The daemon options that neither Node's command line (`execArgv`) nor NODE_OPTIONS set, in either
 * sense (a user's own value for one is left as it is).
 */
export function missingDaemonOptions(execArgv: readonly string[], nodeOptions = ''): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)].filter((o) => o.startsWith('--')).map(optionName));
  return DAEMON_NODE_OPTIONS.filter((o) => !given.has(optionName(o)));
}

/** Options V8 takes only on Node's command line: what they set is made with the heap. */
const COMMAND_LINE_ONLY = new Set(['memory-reducer', 'max-semi-space-size']);
const commandLineOnly = (option: string) => COMMAND_LINE_ONLY.has(optionName(option));

/** The daemon options a running process can still set itself (`applyDaemonNodeOptions`). */
export const RUNTIME_DAEMON_OPTIONS: readonly string[] = DAEMON_NODE_OPTIONS.filter((o) => !commandLineOnly(o));

/** What `applyDaemonNodeOptions` set in this process, and what it could not (null before it ran). */
let atStart: { set: readonly string[]; notSet: readonly string[] } | null = null;

/**
 * Sets the daemon options Node was not started with, as V8 flags (`v8.setFlagsFromString`), once
 * per process (the flags are the process's). Called first thing by each daemon, before it runs any
 * of its own code enough for V8 to optimize it. Returns the options it set; those V8 takes only on
 * the command line are left missing (and named in the started line).
 */
export function applyDaemonNodeOptions(): readonly string[] {
  if (atStart) return atStart.set;
  const missing = missingDaemonOptions(process.execArgv, process.env.NODE_OPTIONS);
  atStart = { set: missing.filter((o) => !commandLineOnly(o)), notSet: missing.filter(commandLineOnly) };
  for (const o of atStart.set) setFlagsFromString(o);
  return atStart.set;
}

/**
 * For a daemon's "started" log line: the options it set itself (`nodeOptionsSet`), and those Node
 * lacks that only its command line can give (`nodeOptionsMissing`), when any.
 */
export function nodeOptionsLogged(): { nodeOptionsSet?: readonly string[]; nodeOptionsMissing?: readonly string[] } {
  return {
    ...(atStart?.set.length ? { nodeOptionsSet: atStart.set } : {}),
    ...(atStart?.notSet.length ? { nodeOptionsMissing: atStart.notSet } : {}),
  };
}

/** The argv that starts a daemon's shim `bin` as its `#!` line does, with `nodeArgs` (profiling) added. */
export function daemonCommand(bin: string, nodeArgs: readonly string[] = []): string[] {
  return [process.execPath, ...DAEMON_NODE_OPTIONS, ...nodeArgs, bin];
}
