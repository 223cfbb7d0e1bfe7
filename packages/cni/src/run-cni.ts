import { type Datastore, openDatastore, resolveDatastoreUrl } from '@tabby/datastore';
import { cmdAdd } from './add.js';
import { cmdCheck } from './check.js';
import { parseNetConf } from './config.js';
import { makeContext } from './context.js';
import { toCniError } from './datastore-errors.js';
import { cmdDel } from './del.js';
import { CniCommand, parseCniEnv, parseCommand } from './env.js';
import type { CniError } from './errors.js';
import { DEFAULT_VERSION, SUPPORTED_VERSIONS } from './versions.js';

/** What one plugin invocation produced: the exit code and stdout (result or error JSON). */
export interface CniOutcome {
  code: number;
  stdout: string;
  /** Human-readable diagnostics (the executable writes them to stderr). */
  stderr: string;
}

export interface RunCniOptions {
  /** Use this datastore instead of opening the config's URL (left open afterwards). */
  datastore?: Datastore;
}

function versionOf(stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    if (typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v)) return v;
  } catch {
    // not JSON: the error itself reports that
  }
  return DEFAULT_VERSION;
}

function errorOutcome(err: CniError, stdin: string): CniOutcome {
  const body = {
    cniVersion: versionOf(stdin),
    code: err.code,
    msg: err.message,
    ...(err.details ? { details: err.details } : {}),
  };
  return {
    code: 1,
    stdout: `${JSON.stringify(body)}\n`,
    stderr: `tabby-cni: error ${err.code}: ${err.message}${err.details ? `\n${err.details}` : ''}\n`,
  };
}

/**
 * Runs the CNI plugin once: `env` holds the `CNI_*` variables (and `TABBY_*` defaults), `stdin`
 * the network config. Never throws: failures come back as CNI error JSON with exit code 1.
 */
export async function runCni(env: NodeJS.ProcessEnv, stdin: string, opts: RunCniOptions = {}): Promise<CniOutcome> {
  let ds: Datastore | undefined;
  try {
    const command = parseCommand(env);
    if (command === CniCommand.Version) {
      const out = { cniVersion: versionOf(stdin), supportedVersions: [...SUPPORTED_VERSIONS] };
      return { code: 0, stdout: `${JSON.stringify(out)}\n`, stderr: '' };
    }
    const cniEnv = parseCniEnv(env);
    const conf = parseNetConf(stdin);
    try {
      ds = opts.datastore ?? openDatastore(resolveDatastoreUrl(conf.datastore, env));
    } catch (err) {
      throw toCniError(err, 'opening the datastore');
    }
    const ctx = makeContext(cniEnv, conf, ds, env);
    switch (cniEnv.command) {
      case CniCommand.Add: {
        const result = await cmdAdd(ctx);
        return { code: 0, stdout: `${JSON.stringify(result)}\n`, stderr: '' };
      }
      case CniCommand.Del:
        await cmdDel(ctx);
        return { code: 0, stdout: '', stderr: '' };
      default:
        await cmdCheck(ctx);
        return { code: 0, stdout: '', stderr: '' };
    }
  } catch (err) {
    return errorOutcome(toCniError(err, 'tabby-cni'), stdin);
  } finally {
    if (ds && ds !== opts.datastore) await ds.close().catch(() => {});
  }
}
