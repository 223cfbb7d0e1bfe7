export {
  DEFAULT_YAML_LIMITS,
  type Position,
  parseYamlFile,
  parseYamlStream,
  readYamlStream,
  type YamlDocument,
  type YamlIssue,
  type YamlItem,
  type YamlLimits,
  type YamlStream,
} from './load.js';
export { findExcessiveNesting, type NestingExcess } from './nesting.js';
export { preview } from './preview.js';
