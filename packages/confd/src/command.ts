import { watch as fsWatch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { createFlatKvView, type Datastore, DatastoreError, openDatastore } from '@tabby/datastore';
import { FlatViewSource } from './kv/datastore-source.js';
import { KeysFileError, readKeysFile } from './kv/keys-file.js';
import { MemoryKeyValueSource } from './kv/memory-source.js';
import type { CommandRunner } from './loop/command-runner.js';
import { ConfdLoop } from './loop/confd-loop.js';
import type { Logger } from './loop/runtime.js';
import { loadTemplateResources, TemplateResourceError } from './loop/template-resource.js';
import { SHIPPED_CONFDIR } from './shipped.js';

/** Where `tabby confd` writes and what it may use; injected for tests. */
export interface ConfdCommandIO {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborting stops the watch loop (the CLI wires SIGINT and SIGTERM to it). */
  readonly signal?: AbortSignal;
  readonly runner?: CommandRunner;
}

export const CONFD_HELP = `Usage: tabby confd [options]

Renders configuration files from the datastore's key/value view, as confd does. For each
template resource in <confdir>/conf.d/*.toml: wait for the datastore's first full sync,
render the template, and if the output differs from the destination byte-for-byte, run the
check command on a staged copy, move it over the destination (atomically) and run the reload
command. Then watch the resource's keys and do it again on every change. A failed check
keeps the old file; errors are retried with back-off.

Options:
  --confdir DIR   Directory holding conf.d/*.toml and templates/ (default /etc/tabby/confd;
                  this package ships one with a BIRD 2 resource: ${SHIPPED_CONFDIR})
  --datastore URL The datastore whose flat key/value view to render (redis://..., etcd://...,
                  file:///x.json; default $TABBY_DATASTORE). Rendering waits for its first sync.
  --keys FILE     Read keys from a JSON or YAML file instead of the datastore: a mapping of
                  absolute key to value. In watch mode the file is re-read when it changes.
  --node NAME     Node to render for (sets NODENAME for getenv; default $NODENAME)
  --onetime       Render every resource once and exit (status 1 if any failed)
  --noop          Render and print a diff of what would change; write and run nothing
  --debounce MS   Quiet time after a change before rendering (default 100)
  -h, --help      Show this help

Template resource (TOML, confd's format):
  [template]
  src = "bird.cfg.template"           # under <confdir>/templates
  dest = "/etc/bird/bird.cfg"
  mode = "0644"
  prefix = "/calico"                  # keys are relative to it, in the resource and the template
  keys = ["/bgp/v1/global", "/bgp/v1/host"]
  check_cmd = "bird -p -c {{.src}}"   # .src is the staged file
  reload_cmd = "birdc configure"

Keys file example (YAML):
  /calico/bgp/v1/global/as_num: "64512"
  /calico/bgp/v1/global/node_mesh: {enabled: true}
  /calico/bgp/v1/host/node-a/ip_addr_v4: 198.19.0.1

Examples:
  tabby confd --onetime --datastore redis://127.0.0.1:6379/0 --node node-a
  tabby confd --onetime --noop --keys cluster.yaml --node node-a --confdir ./confdir
  tabby confd --keys cluster.yaml --node node-a

Exit status: 0 success, 1 a resource failed, 2 usage or setup error.
See docs/confd.md for the template functions and the key layout.
`;

function jsonLogger(stderr: { write(s: string): unknown }): Logger {
  const at =
    (level: number) =>
    (obj: object | string, msg?: string): void => {
      const fields = typeof obj === 'string' ? { msg: obj } : { ...obj, msg };
      stderr.write(`${JSON.stringify({ level, time: Date.now(), name: 'confd', ...fields })}\n`);
    };
  return { debug: () => {}, info: at(30), warn: at(40), error: at(50) };
}

/**
 * `tabby confd`: parses `argv` (the words after `confd`) and runs. Resolves with the exit code.
 * Keys come from the datastore's flat view (`--datastore URL`) or from `--keys FILE`.
 */
export async function runConfdCommand(argv: readonly string[], io: ConfdCommandIO): Promise<number> {
  let values: {
    confdir?: string;
    datastore?: string;
    keys?: string;
    node?: string;
    onetime?: boolean;
    noop?: boolean;
    debounce?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        confdir: { type: 'string' },
        datastore: { type: 'string' },
        keys: { type: 'string' },
        node: { type: 'string' },
        onetime: { type: 'boolean' },
        noop: { type: 'boolean' },
        debounce: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    io.stderr.write(`tabby confd: ${(e as Error).message}\nRun 'tabby confd --help' for usage.\n`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(CONFD_HELP);
    return 0;
  }
  const usage = (msg: string) => {
    io.stderr.write(`tabby confd: ${msg}\nRun 'tabby confd --help' for usage.\n`);
    return 2;
  };
  const datastoreUrl = values.datastore ?? io.env.TABBY_DATASTORE;
  if (!values.keys && !datastoreUrl) {
    return usage('no key/value source: give --datastore URL (or set TABBY_DATASTORE), or --keys FILE');
  }
  if (values.keys && values.datastore) return usage('give --datastore or --keys, not both');
  const debounceMs = values.debounce === undefined ? 100 : Number(values.debounce);
  if (!Number.isFinite(debounceMs) || debounceMs < 0) return usage(`--debounce must be a number of milliseconds`);
  const env = { ...io.env, ...(values.node ? { NODENAME: values.node } : {}) };
  if (!env.NODENAME) return usage('no node name: give --node NAME or set NODENAME');
  const confdir = values.confdir ?? '/etc/tabby/confd';
  const logger = jsonLogger(io.stderr);

  let resources: Awaited<ReturnType<typeof loadTemplateResources>>;
  let source: MemoryKeyValueSource | FlatViewSource;
  let datastore: Datastore | undefined;
  try {
    resources = await loadTemplateResources(confdir);
    if (resources.length === 0) return usage(`no template resources in ${confdir}/conf.d (*.toml)`);
    if (values.keys) source = new MemoryKeyValueSource(await readKeysFile(values.keys), { inSync: true });
    else {
      datastore = openDatastore(datastoreUrl!);
      source = new FlatViewSource(createFlatKvView(datastore));
    }
  } catch (e) {
    if (e instanceof TemplateResourceError || e instanceof KeysFileError || e instanceof DatastoreError) {
      io.stderr.write(`tabby confd: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const closeSource = async () => {
    if (source instanceof FlatViewSource) source.close();
    await datastore?.close();
  };

  const loop = new ConfdLoop({
    resources,
    source,
    env,
    logger,
    noop: values.noop ?? false,
    debounceMs,
    ...(io.runner ? { runner: io.runner } : {}),
    onResult: (r) => {
      if ('error' in r) io.stderr.write(`tabby confd: ${r.error.message}\n`);
      else if (r.diff) io.stdout.write(r.diff);
    },
  });

  if (values.onetime) {
    const results = await loop.runOnce(io.signal);
    await closeSource();
    return results.some((r) => 'error' in r) ? 1 : 0;
  }
  if (!(source instanceof MemoryKeyValueSource) || !values.keys) {
    try {
      await loop.run(io.signal);
    } finally {
      await closeSource();
    }
    return 0;
  }

  // Watch mode: re-read the keys file when it changes. The directory is watched, not the file,
  // because editors replace files by renaming over them.
  const keysFile = values.keys;
  const fileSource = source;
  const watcher = fsWatch(dirname(keysFile), (_event, name) => {
    if (name !== null && name !== basename(keysFile)) return;
    readKeysFile(keysFile).then(
      (pairs) => fileSource.replaceAll(pairs),
      (e: Error) => logger.warn({ err: e.message }, 'confd: keys file unreadable, keeping the previous keys'),
    );
  });
  try {
    await loop.run(io.signal);
  } finally {
    watcher.close();
  }
  return 0;
}
