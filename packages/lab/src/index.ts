export { uiPort } from '@tabby/ui';
export { type DemoIo, runLab } from './demo.js';
export { InProcessLab, type InProcessLabOptions, LAB_DEFAULTS, LAB_POOL, type LabNode } from './in-process.js';
export {
  type ClusterNode,
  clusterYaml,
  DS_ADDRESS,
  DS_URL,
  NetnsLab,
  type Pod,
  V6_POOL,
  V6_UNDERLAY,
} from './netns-lab.js';
export { LAB_STATE, type LabState, labDown, labStatus, type NetnsLabOptions, runNetnsLab } from './netns-run.js';
export { inProcessLabSource, netnsLabSource } from './ui-source.js';
