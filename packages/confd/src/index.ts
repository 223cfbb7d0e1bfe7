// @tabby/confd: see README.md.

// `tabby confd` and the shipped templates.
export { CONFD_HELP, type ConfdCommandIO, runConfdCommand } from './command.js';
// confd's functions and key snapshot.
export { type ConfdFunctionContext, createConfdFunctions, GoTime } from './functions/confd-functions.js';
export { compareIP } from './functions/ip.js';
export { KeyNotFoundError, KeyStore, KVPair } from './functions/key-store.js';
export { FlatViewSource } from './kv/datastore-source.js';
// Key/value sources.
export { isUnderPrefix, type KeyValue, type KeyValueSource, type Unsubscribe } from './kv/key-value-source.js';
export { KeysFileError, readKeysFile } from './kv/keys-file.js';
export { MemoryKeyValueSource } from './kv/memory-source.js';
// The render loop.
export { type CommandResult, type CommandRunner, ShellCommandRunner } from './loop/command-runner.js';
export { ConfdLoop, type ConfdLoopOptions, type ConfdStats } from './loop/confd-loop.js';
export { CheckFailedError, ReloadFailedError } from './loop/errors.js';
export { Outcome, type ProcessResult, ResourceProcessor } from './loop/resource-processor.js';
export { type Clock, type Logger, silentLogger, systemClock } from './loop/runtime.js';
export {
  joinKey,
  loadTemplateResources,
  parseTemplateResource,
  type TemplateResource,
  TemplateResourceError,
} from './loop/template-resource.js';
export { ConfdMetrics } from './metrics.js';
export { ConfdTemplate, type RenderOptions, renderConfdTemplate } from './render.js';
export { BGPD_TEMPLATE_PATH, BIRD_TEMPLATE_PATH, SHIPPED_CONFDIR } from './shipped.js';
// Template engine (Go text/template semantics).
export type { Tree } from './template/ast.js';
export {
  ArgumentCountError,
  checkArgs,
  TemplateErrorCode,
  TemplateExecError,
  TemplateNotDefinedError,
  TemplateParseError,
} from './template/errors.js';
export { DEFAULT_EXEC_LIMITS, type ExecLimits, MissingKey, type TemplateFunction } from './template/exec.js';
export { formatV, sprint, sprintf, sprintln } from './template/format.js';
export { Template, type TemplateOptions } from './template/template.js';
export { isTrue } from './template/values.js';
