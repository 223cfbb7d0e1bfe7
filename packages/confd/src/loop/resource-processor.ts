import { chmod, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createConfdFunctions } from '../functions/confd-functions.js';
import { KeyStore } from '../functions/key-store.js';
import type { KeyValue, KeyValueSource } from '../kv/key-value-source.js';
import { Template } from '../template/template.js';
import type { CommandRunner } from './command-runner.js';
import { lineDiff } from './diff.js';
import { CheckFailedError, ReloadFailedError } from './errors.js';
import type { Clock, Logger } from './runtime.js';
import type { TemplateResource } from './template-resource.js';

/** What processing a resource did. */
export const Outcome = {
  /** The rendered output equals the destination: nothing written, nothing reloaded. */
  Unchanged: 'unchanged',
  /** The destination was replaced and the reload command run. */
  Updated: 'updated',
  /** `--noop`: the output differs; the diff was reported and nothing written. */
  WouldUpdate: 'would-update',
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

export interface ProcessResult {
  readonly resource: string;
  readonly outcome: Outcome;
  /** With `noop`: the diff between the destination and the rendered output. */
  readonly diff?: string;
}

export interface ProcessorDeps {
  readonly source: KeyValueSource;
  readonly runner: CommandRunner;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly noop: boolean;
}

/** Renders one template resource and, when the output changed, checks, swaps and reloads. */
export class ResourceProcessor {
  private store = new KeyStore();
  private template: Template | undefined;
  private templateText: string | undefined;
  private reloadPending = false;
  /** Number of renders done (for tests and metrics). */
  renders = 0;

  constructor(
    readonly resource: TemplateResource,
    private readonly deps: ProcessorDeps,
  ) {}

  /** Renders the template against the current keys; returns the text. */
  async render(): Promise<string> {
    const pairs: KeyValue[] = [];
    for (const prefix of this.resource.keys) pairs.push(...(await this.deps.source.list(prefix)));
    this.store = KeyStore.fromPrefixed(pairs, this.resource.prefix);
    const tpl = await this.loadTemplate();
    this.renders++;
    return tpl.execute({});
  }

  private async loadTemplate(): Promise<Template> {
    const text = await readFile(this.resource.src, 'utf8');
    if (this.template && text === this.templateText) return this.template;
    const funcs = createConfdFunctions({
      store: () => this.store,
      env: this.deps.env,
      now: () => this.deps.clock.now(),
    });
    this.template = new Template(basename(this.resource.src), { funcs }).parse(text);
    this.templateText = text;
    return this.template;
  }

  /** One pass: render, compare, then (unless noop) check, swap and reload. */
  async process(): Promise<ProcessResult> {
    const { resource, deps } = this;
    const output = await this.render();
    const dest = resource.dest;
    const current = await readIfExists(dest);
    const modeOk = current !== undefined && (await modeOf(dest)) === resource.mode;
    if (current?.equals(Buffer.from(output)) && modeOk) {
      if (this.reloadPending && !deps.noop) await this.reload();
      deps.logger.debug({ resource: resource.name, dest }, 'confd: target config in sync');
      return { resource: resource.name, outcome: Outcome.Unchanged };
    }
    if (deps.noop) {
      const diff = lineDiff(current?.toString('utf8') ?? '', output, dest, `${dest} (rendered)`);
      deps.logger.info({ resource: resource.name, dest }, 'confd: noop, target config would change');
      return { resource: resource.name, outcome: Outcome.WouldUpdate, diff };
    }
    const staged = join(dirname(dest), `.${basename(dest)}.tabby-staged`);
    try {
      // Written and flushed before the rename, so a crash leaves either the old or the new file.
      const fh = await open(staged, 'w', resource.mode);
      try {
        await fh.writeFile(output);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await chmod(staged, resource.mode);
      if (resource.checkCmd) {
        const cmd = renderCommand(resource.checkCmd, staged, dest);
        const r = await deps.runner.run(cmd);
        if (r.code !== 0) throw new CheckFailedError(resource.name, cmd, r.code, r.output);
      }
      await rename(staged, dest);
    } catch (e) {
      await rm(staged, { force: true });
      throw e;
    }
    deps.logger.info({ resource: resource.name, dest }, 'confd: target config updated');
    this.reloadPending = true;
    await this.reload();
    return { resource: resource.name, outcome: Outcome.Updated };
  }

  private async reload(): Promise<void> {
    const { resource, deps } = this;
    if (resource.reloadCmd) {
      const cmd = renderCommand(resource.reloadCmd, resource.dest, resource.dest);
      const r = await deps.runner.run(cmd);
      if (r.code !== 0) throw new ReloadFailedError(resource.name, cmd, r.code, r.output);
      deps.logger.info({ resource: resource.name, command: cmd }, 'confd: reloaded');
    }
    this.reloadPending = false;
  }
}

/** check_cmd and reload_cmd are templates: `.src` is the staged file, `.dest` the destination. */
function renderCommand(cmd: string, src: string, dest: string): string {
  return new Template('command').parse(cmd).execute({ src, dest });
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o7777;
}
