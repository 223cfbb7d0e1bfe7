// The executor: walks a parse tree against data, as Go's text/template does.

import type {
  ChainNode,
  CommandNode,
  FieldNode,
  IdentifierNode,
  ListNode,
  Node,
  NumberNode,
  PipeNode,
  RangeNode,
  TemplateNode,
  Tree,
  VariableNode,
} from './ast.js';
import { lineCol, nodeToString } from './ast.js';
import { ArgumentCountError, TemplateExecError } from './errors.js';
import { formatV } from './format.js';
import { Float64, goTypeName, isMapLike, isNil, isTrue, mapGet, plain, sortedKeys } from './values.js';

/** A function callable from a template. Throwing reports `error calling NAME: message`. */
// biome-ignore lint/suspicious/noExplicitAny: template functions take and return arbitrary values.
export type TemplateFunction = (...args: any[]) => unknown;

/** What happens when a field names a key the map lacks (Go's `missingkey` option). */
export const MissingKey = { Default: 'default', Zero: 'zero', Error: 'error' } as const;
export type MissingKey = (typeof MissingKey)[keyof typeof MissingKey];

/**
 * Bounds on one execution, so that no template runs away: each exceeded is a TemplateExecError
 * at the node where it happened. Go has only the depth (100,000).
 */
export interface ExecLimits {
  /** Nesting of template calls, `if`/`range`/`with` bodies and parenthesised pipelines. Default 1,000. */
  readonly maxDepth: number;
  /**
   * Steps: nodes walked, commands evaluated, range iterations. Default 10,000,000, a few seconds
   * of work; the shipped BIRD template takes about 50,000 for a 1,000-node mesh.
   */
  readonly maxSteps: number;
  /** Characters of output, and of any string a function returns. Default 64 Mi (64 × 2^20). */
  readonly maxOutput: number;
}

export const DEFAULT_EXEC_LIMITS: ExecLimits = { maxDepth: 1000, maxSteps: 10_000_000, maxOutput: 64 * 2 ** 20 };

/** What the executor needs from a template set. */
export interface ExecContext {
  lookupTree(name: string): Tree | undefined;
  lookupFunc(name: string): TemplateFunction | undefined;
  /** True for the engine's own functions, which understand template values (Float64). */
  isBuiltin(fn: TemplateFunction): boolean;
  readonly missingKey: MissingKey;
  readonly limits: ExecLimits;
}

const NO_FINAL: unique symbol = Symbol('no final value');
type Final = unknown;

const NORMAL = 0;
const BREAK = 1;
const CONTINUE = 2;
type Flow = 0 | 1 | 2;

interface Variable {
  name: string;
  value: unknown;
}

/** A number constant's value: a float constant with an integral value stays a float64 (Float64). */
function constant(n: NumberNode): unknown {
  return n.float && Number.isInteger(n.value) ? new Float64(n.value) : n.value;
}

/** Executes `tree` with `data` as dot and returns the output text. Throws TemplateExecError. */
export function executeTree(ctx: ExecContext, tree: Tree, data: unknown): string {
  const s = new State(ctx, tree, data);
  try {
    s.walk(data, tree.root);
  } catch (e) {
    // The depth limit keeps the JavaScript stack far from exhausted; this is a last resort.
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw new TemplateExecError(
        `template: ${tree.name}: exceeded maximum template depth (the JavaScript stack is exhausted)`,
        tree.name,
        0,
        0,
        { cause: e },
      );
    }
    throw e;
  }
  return s.out;
}

class State {
  out = '';
  private vars: Variable[];
  private node: Node | undefined;
  private depth = 0;
  private steps = 0;
  private readonly limits: ExecLimits;

  constructor(
    private readonly ctx: ExecContext,
    private tree: Tree,
    data: unknown,
  ) {
    this.vars = [{ name: '$', value: data }];
    this.limits = ctx.limits;
  }

  // ---- limits ----

  private step(): void {
    if (++this.steps > this.limits.maxSteps) {
      this.errorf(`exceeded ${this.limits.maxSteps} execution steps (a loop that long is stopped)`);
    }
  }

  /** Runs `f` one level deeper (template call, control body, parenthesised pipeline). */
  private deeper<T>(f: () => T): T {
    if (this.depth >= this.limits.maxDepth) this.errorf(`exceeded maximum template depth (${this.limits.maxDepth})`);
    this.depth++;
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private emit(s: string): void {
    this.out += s;
    if (this.out.length > this.limits.maxOutput) {
      this.errorf(`output exceeds ${this.limits.maxOutput} characters`);
    }
  }

  // ---- errors ----

  private at(node: Node): void {
    this.node = node;
  }

  private errorf(message: string, cause?: unknown): never {
    // A message quotes values (a huge string, a long list): keep it to one short line.
    const msg = message.length > 300 ? `${message.slice(0, 300)}…` : message;
    const tree = this.tree;
    const node = this.node;
    if (!node) throw new TemplateExecError(`template: ${tree.name}: ${msg}`, tree.name, 0, 0, { cause });
    const { line, col } = lineCol(tree.text, node.pos);
    let context = nodeToString(node);
    if (context.length > 20) context = `${context.slice(0, 20)}...`;
    throw new TemplateExecError(
      `template: ${tree.parseName}:${line}:${col}: executing ${JSON.stringify(tree.name)} at <${context}>: ${msg}`,
      tree.name,
      line,
      col,
      { cause },
    );
  }

  // ---- variables ----

  /** Drops variables declared since `mark` (setting an array's length is slow in V8, so only when needed). */
  private popTo(mark: number): void {
    if (this.vars.length > mark) this.vars.length = mark;
  }

  private push(name: string, value: unknown): void {
    this.vars.push({ name, value });
  }

  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const v = this.vars[i]!;
      if (v.name === name) {
        v.value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  private varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const v = this.vars[i]!;
      if (v.name === name) return v.value;
    }
    this.errorf(`undefined variable: ${name}`);
  }

  // ---- walking ----

  walk(dot: unknown, node: Node): Flow {
    this.step();
    switch (node.kind) {
      case 'text':
        this.emit(node.text);
        return NORMAL;
      case 'list':
        return this.walkList(dot, node);
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return NORMAL;
      }
      case 'if':
      case 'with': {
        const mark = this.vars.length;
        const val = this.evalPipeline(dot, node.pipe);
        let flow: Flow = NORMAL;
        if (isTrue(val)) flow = this.deeper(() => this.walkList(node.kind === 'with' ? val : dot, node.list));
        else if (node.elseList) {
          const els = node.elseList;
          flow = this.deeper(() => this.walkList(dot, els));
        }
        this.popTo(mark);
        return flow;
      }
      case 'range':
        this.at(node);
        this.deeper(() => this.walkRange(dot, node));
        return NORMAL;
      case 'template':
        this.walkTemplate(dot, node);
        return NORMAL;
      case 'break':
        return BREAK;
      case 'continue':
        return CONTINUE;
      default:
        this.at(node);
        this.errorf(`unknown node: ${nodeToString(node)}`);
    }
  }

  private walkList(dot: unknown, list: ListNode): Flow {
    for (const n of list.nodes) {
      const flow = this.walk(dot, n);
      if (flow !== NORMAL) return flow;
    }
    return NORMAL;
  }

  private walkRange(dot: unknown, r: RangeNode): void {
    this.at(r);
    const mark = this.vars.length;
    const val = this.evalCommands(dot, r.pipe);
    const decl = r.pipe.decl;
    const one = (key: unknown, elem: unknown): Flow => {
      this.at(r);
      this.step();
      const m = this.vars.length;
      if (decl.length > 0) {
        const first = decl[0]!.ident[0]!;
        const second = decl[1]?.ident[0];
        if (r.pipe.isAssign) {
          if (second !== undefined) {
            this.setVar(first, key);
            this.setVar(second, elem);
          } else this.setVar(first, elem);
        } else if (second !== undefined) {
          this.push(first, key);
          this.push(second, elem);
        } else this.push(first, elem);
      }
      const flow = this.walkList(elem, r.list);
      this.popTo(m);
      return flow;
    };
    let ran = false;
    if (Array.isArray(val) || val instanceof Uint8Array) {
      for (let i = 0; i < val.length; i++) {
        ran = true;
        if (one(i, val[i]) === BREAK) break;
      }
    } else if (isMapLike(val)) {
      for (const k of sortedKeys(val)) {
        ran = true;
        if (one(k, mapGet(val, k).value) === BREAK) break;
      }
    } else if (typeof val === 'number' && Number.isInteger(val)) {
      if (decl.length > 1) this.errorf(`can't use ${val} to iterate over more than one variable`);
      for (let i = 0; i < val; i++) {
        ran = true;
        if (one(i, i) === BREAK) break;
      }
    } else if (!isNil(val)) {
      this.at(r);
      this.errorf(`range can't iterate over ${formatV(val)}`);
    }
    if (!ran && r.elseList) this.walkList(dot, r.elseList);
    this.popTo(mark);
  }

  private walkTemplate(dot: unknown, t: TemplateNode): void {
    this.at(t);
    const tree = this.ctx.lookupTree(t.name);
    if (!tree) this.errorf(`template ${JSON.stringify(t.name)} not defined`);
    const newDot = t.pipe ? this.evalPipeline(dot, t.pipe) : undefined;
    this.at(t);
    this.deeper(() => {
      const saved = { tree: this.tree, vars: this.vars };
      this.tree = tree;
      this.vars = [{ name: '$', value: newDot }];
      this.walkList(newDot, tree.root);
      this.tree = saved.tree;
      this.vars = saved.vars;
    });
  }

  private printValue(node: Node, v: unknown): void {
    this.at(node);
    if (typeof v === 'string') {
      this.emit(v);
      return;
    }
    if (isNil(v)) {
      this.emit('<no value>');
      return;
    }
    if (typeof v === 'function') this.errorf(`can't print ${nodeToString(node)} of type func`);
    this.emit(formatV(v));
  }

  // ---- evaluation ----

  private evalCommands(dot: unknown, pipe: PipeNode): unknown {
    this.at(pipe);
    let value: Final = NO_FINAL;
    for (const cmd of pipe.cmds) {
      this.step();
      value = this.evalCommand(dot, cmd, value);
    }
    return value;
  }

  private evalPipeline(dot: unknown, pipe: PipeNode): unknown {
    const value = this.evalCommands(dot, pipe);
    for (const d of pipe.decl) {
      const name = d.ident[0]!;
      if (pipe.isAssign) this.setVar(name, value);
      else this.push(name, value);
    }
    return value;
  }

  private notAFunction(args: Node[], final: Final): void {
    if (args.length > 1 || final !== NO_FINAL)
      this.errorf(`can't give argument to non-function ${nodeToString(args[0]!)}`);
  }

  private evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
    const first = cmd.args[0]!;
    switch (first.kind) {
      case 'field':
        return this.evalFieldChain(dot, dot, first, first.ident, cmd.args, final);
      case 'chain':
        return this.evalChain(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.deeper(() => this.evalPipeline(dot, first));
      case 'variable':
        return this.evalVariable(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.kind) {
      case 'bool':
        return first.value;
      case 'number':
        return constant(first);
      case 'string':
        return first.text;
      case 'dot':
        return dot;
      case 'nil':
        this.errorf('nil is not a command');
    }
    this.errorf(`can't evaluate command ${JSON.stringify(nodeToString(first))}`);
  }

  private evalVariable(dot: unknown, v: VariableNode, args: Node[], final: Final): unknown {
    this.at(v);
    const value = this.varValue(v.ident[0]!);
    if (v.ident.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.ident.slice(1), args, final);
  }

  private evalChain(dot: unknown, chain: ChainNode, args: Node[], final: Final): unknown {
    if (chain.node.kind === 'nil') {
      this.at(chain);
      this.errorf(`indirection through explicit nil in ${nodeToString(chain)}`);
    }
    const base = this.evalArg(dot, chain.node);
    return this.evalFieldChain(dot, base, chain, chain.field, args, final);
  }

  private evalFieldChain(
    dot: unknown,
    receiver: unknown,
    node: FieldNode | VariableNode | ChainNode,
    ident: string[],
    args: Node[],
    final: Final,
  ): unknown {
    this.at(node);
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) receiver = this.evalField(dot, ident[i]!, node, [], NO_FINAL, receiver);
    return this.evalField(dot, ident[n - 1]!, node, args, final, receiver);
  }

  private evalField(dot: unknown, name: string, node: Node, args: Node[], final: Final, receiver: unknown): unknown {
    const hasArgs = args.length > 1 || final !== NO_FINAL;
    if (isNil(receiver)) {
      if (this.ctx.missingKey === MissingKey.Error) this.errorf(`nil data; no entry for key ${JSON.stringify(name)}`);
      return undefined;
    }
    if (isMapLike(receiver)) {
      if (hasArgs) this.errorf(`${name} is not a method but has arguments`);
      if (this.ctx.missingKey === MissingKey.Error) {
        const { found, value } = mapGet(receiver, name);
        if (!found) this.errorf(`map has no entry for key ${JSON.stringify(name)}`);
        return value;
      }
      // Hot path: no allocation. Own properties only, as a Go map has no inherited keys.
      if (receiver instanceof Map) return receiver.get(name);
      return Object.hasOwn(receiver, name) ? receiver[name] : undefined;
    }
    if (typeof receiver === 'object' && !Array.isArray(receiver) && !ArrayBuffer.isView(receiver) && name in receiver) {
      const member = (receiver as Record<string, unknown>)[name];
      if (typeof member === 'function') {
        const method = (...a: unknown[]) => (member as TemplateFunction).apply(receiver, a.map(plain));
        return this.evalCall(dot, method, node, node, name, args, final);
      }
      if (hasArgs) this.errorf(`${name} has arguments but cannot be invoked as function`);
      return member;
    }
    this.errorf(`can't evaluate field ${name} in type ${goTypeName(receiver)}`);
  }

  private evalFunction(dot: unknown, id: IdentifierNode, cmd: Node, args: Node[], final: Final): unknown {
    this.at(id);
    const name = id.name;
    if (name === 'and' || name === 'or') return this.evalAndOr(dot, name, args, final);
    const fn = this.ctx.lookupFunc(name);
    if (!fn) this.errorf(`${JSON.stringify(name)} is not a defined function`);
    return this.evalCall(dot, fn, id, cmd, name, args, final);
  }

  /** and/or evaluate lazily and return the deciding value, as Go 1.18+ does. */
  private evalAndOr(dot: unknown, name: 'and' | 'or', args: Node[], final: Final): unknown {
    const n = args.length - 1 + (final === NO_FINAL ? 0 : 1);
    if (n < 1) this.errorf(`wrong number of args for ${name}: want at least 1 got 0`);
    let v: unknown;
    for (let i = 1; i <= n; i++) {
      v = i < args.length ? this.evalArg(dot, args[i]!) : final;
      if (isTrue(v) === (name === 'or')) return v;
    }
    return v;
  }

  private evalCall(
    dot: unknown,
    fn: TemplateFunction,
    nameNode: Node,
    callNode: Node,
    name: string,
    args: Node[],
    final: Final,
  ): unknown {
    const argv: unknown[] = [];
    for (let i = 1; i < args.length; i++) argv.push(this.evalArg(dot, args[i]!));
    if (final !== NO_FINAL) argv.push(final);
    // Functions from outside the engine get plain JavaScript numbers.
    const own = this.ctx.isBuiltin(fn);
    try {
      const result = own ? fn(...argv) : fn(...argv.map(plain));
      if (typeof result === 'string' && result.length > this.limits.maxOutput) {
        this.at(callNode);
        this.errorf(`${name} returned more than ${this.limits.maxOutput} characters`);
      }
      return result;
    } catch (e) {
      if (e instanceof TemplateExecError) throw e;
      if (e instanceof ArgumentCountError) {
        this.at(nameNode);
        this.errorf(e.message, e);
      }
      this.at(callNode);
      this.errorf(`error calling ${name}: ${e instanceof Error ? e.message : String(e)}`, e);
    }
  }

  private evalArg(dot: unknown, n: Node): unknown {
    this.at(n);
    switch (n.kind) {
      case 'dot':
        return dot;
      case 'nil':
        return undefined;
      case 'field':
        return this.evalFieldChain(dot, dot, n, n.ident, [n], NO_FINAL);
      case 'variable':
        return this.evalVariable(dot, n, [n], NO_FINAL);
      case 'pipe':
        return this.deeper(() => this.evalPipeline(dot, n));
      case 'identifier':
        return this.evalFunction(dot, n, n, [n], NO_FINAL);
      case 'chain':
        return this.evalChain(dot, n, [n], NO_FINAL);
      case 'bool':
        return n.value;
      case 'number':
        return constant(n);
      case 'string':
        return n.text;
    }
    this.errorf(`can't handle ${nodeToString(n)} as an argument`);
  }
}
