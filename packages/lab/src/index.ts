export { type DemoIo, runLab } from './demo.js';
export { InProcessLab, type InProcessLabOptions, LAB_DEFAULTS, LAB_POOL, type LabNode } from './in-process.js';
