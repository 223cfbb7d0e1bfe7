export { DEFAULT_SOCKET, type Io, main, parseRibWords } from './cli.js';
export { ControlClient, ControlClientError } from './client.js';
export {
  fmtTimeframe,
  formatFib,
  formatNeighbor,
  formatRib,
  formatStatus,
  formatSummary,
  RIB_LEGEND,
} from './format.js';
