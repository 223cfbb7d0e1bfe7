export {
  DEFAULT_YAML_LIMITS,
  type Position,
  parseYamlFile,
  parseYamlStream,
  type YamlDocument,
  type YamlIssue,
  type YamlLimits,
  type YamlStream,
} from './load.js';
export { findExcessiveNesting, type NestingExcess } from './nesting.js';
export { preview } from './preview.js';
