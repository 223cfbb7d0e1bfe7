import { startRedis } from '@tabby/test-helpers';
import { ipamCrossProcessSuite } from '../testing/ipam-cross-process.js';

ipamCrossProcessSuite('redis', async () => {
  const s = await startRedis();
  return { url: s.url, destroy: () => s.destroy() };
});
