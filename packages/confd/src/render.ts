import { createConfdFunctions } from './functions/confd-functions.js';
import { KeyStore } from './functions/key-store.js';
import type { KeyValue } from './kv/key-value-source.js';
import { Template } from './template/template.js';

/** Inputs for a one-off render outside the loop. */
export interface RenderOptions {
  /** Name used in error messages (Go uses the template file's base name). */
  readonly name: string;
  /** Absolute keys; those outside `prefix` are ignored. */
  readonly pairs: Iterable<KeyValue>;
  /** Prefix the template's keys are relative to. Default `/`. */
  readonly prefix?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly now?: () => Date;
}

/** A parsed confd template that can be rendered against successive key snapshots. */
export class ConfdTemplate {
  private store = new KeyStore();
  private readonly template: Template;

  constructor(
    text: string,
    name: string,
    env: Readonly<Record<string, string | undefined>> = {},
    now: () => Date = () => new Date(0),
  ) {
    const funcs = createConfdFunctions({ store: () => this.store, env, now });
    this.template = new Template(name, { funcs }).parse(text);
  }

  /** Renders against `pairs` (absolute keys), stripping `prefix`. */
  render(pairs: Iterable<KeyValue>, prefix = '/'): string {
    this.store = KeyStore.fromPrefixed(pairs, prefix);
    return this.template.execute({});
  }
}

/** Parses and renders a confd template once. */
export function renderConfdTemplate(text: string, options: RenderOptions): string {
  return new ConfdTemplate(text, options.name, options.env, options.now).render(options.pairs, options.prefix);
}
