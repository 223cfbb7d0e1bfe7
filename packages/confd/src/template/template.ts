import type { Tree } from './ast.js';
import { BUILTINS } from './builtins.js';
import { TemplateNotDefinedError } from './errors.js';
import {
  DEFAULT_EXEC_LIMITS,
  type ExecContext,
  type ExecLimits,
  executeTree,
  MissingKey,
  type TemplateFunction,
} from './exec.js';
import { parseTemplate } from './parser.js';

/** Options for a template set. */
export interface TemplateOptions {
  /** Functions added to the built-ins (they may override them). */
  readonly funcs?: Readonly<Record<string, TemplateFunction>>;
  /** Go's `missingkey` option: `default` (and `zero`) give nil, `error` fails. */
  readonly missingKey?: MissingKey;
  /** Bounds on an execution (depth, steps, output); see DEFAULT_EXEC_LIMITS. */
  readonly limits?: Partial<ExecLimits>;
}

const BUILTIN_FUNCTIONS: ReadonlySet<TemplateFunction> = new Set(Object.values(BUILTINS));

/**
 * A named template and the set of templates associated with it (`define`, `block`), with Go
 * text/template semantics. Functions must be registered before `parse`, since calling an
 * unknown function is a parse error.
 *
 * @example
 * const t = new Template('greeting').parse('Hello, {{ .name }}!');
 * t.execute({ name: 'world' }); // 'Hello, world!'
 */
export class Template implements ExecContext {
  readonly missingKey: MissingKey;
  readonly limits: ExecLimits;
  private readonly trees = new Map<string, Tree>();
  private readonly fns = new Map<string, TemplateFunction>(Object.entries(BUILTINS));

  constructor(
    readonly name: string,
    options: TemplateOptions = {},
  ) {
    this.missingKey = options.missingKey ?? MissingKey.Default;
    this.limits = { ...DEFAULT_EXEC_LIMITS, ...options.limits };
    if (options.funcs) this.funcs(options.funcs);
  }

  /** Adds functions; returns this for chaining. */
  funcs(map: Readonly<Record<string, TemplateFunction>>): this {
    for (const [k, v] of Object.entries(map)) this.fns.set(k, v);
    return this;
  }

  /**
   * Parses `text` as the body of this template (and any templates it defines). May be called
   * again to add definitions. Throws TemplateParseError.
   */
  parse(text: string, name: string = this.name): this {
    const { trees } = parseTemplate(name, text, (fn) => this.fns.has(fn));
    for (const [k, tree] of trees) {
      const old = this.trees.get(k);
      const empty = tree.root.nodes.every((n) => n.kind === 'text' && n.text.trim() === '');
      if (old && empty && old.root.nodes.length > 0) continue;
      this.trees.set(k, tree);
    }
    return this;
  }

  /** Renders this template with `data` as dot. Throws TemplateExecError. */
  execute(data?: unknown): string {
    return this.executeTemplate(this.name, data);
  }

  /** Renders the associated template `name`. */
  executeTemplate(name: string, data?: unknown): string {
    const tree = this.trees.get(name);
    if (!tree) throw new TemplateNotDefinedError(name, this.name);
    return executeTree(this, tree, data);
  }

  /** Names of every template in the set, sorted. */
  definedTemplates(): string[] {
    return [...this.trees.keys()].sort();
  }

  lookupTree(name: string): Tree | undefined {
    return this.trees.get(name);
  }

  lookupFunc(name: string): TemplateFunction | undefined {
    return this.fns.get(name);
  }

  isBuiltin(fn: TemplateFunction): boolean {
    return BUILTIN_FUNCTIONS.has(fn);
  }
}
