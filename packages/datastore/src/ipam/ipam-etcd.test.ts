import { startEtcd } from '@tabby/test-helpers';
import { ipamCrossProcessSuite } from '../testing/ipam-cross-process.js';

ipamCrossProcessSuite('etcd', async () => {
  const s = await startEtcd();
  return { url: s.url, destroy: () => s.destroy() };
});
