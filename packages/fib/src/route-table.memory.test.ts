import { MemoryDriver } from './memory-driver.js';
import { routeTableComplianceTests } from './testing/route-table-compliance.js';

routeTableComplianceTests('memory driver', async () => {
  const links = ['eth0', 'cali0000000000a', 'cali0000000000b'];
  let mem = new MemoryDriver(links);
  return {
    driver: () => mem,
    links: { uplink: 'eth0', workloadA: 'cali0000000000a', workloadB: 'cali0000000000b' },
    list: async () => mem.list(),
    externalAdd: async (r) => mem.externalAdd(r),
    externalDelete: async (dst) => {
      mem.externalDelete(dst);
    },
    addLink: async (n) => mem.addLink(n),
    deleteLink: async (n) => mem.deleteLink(n),
    reset: async () => {
      mem = new MemoryDriver(links);
    },
  };
});
