// A separate allocator process for the IPAM concurrency tests (run from dist):
//   node dist/testing/ipam-worker.js <datastore-url> <node> <count> <release-every>
// Assigns <count> addresses with handles <node>-<i>, releases every <release-every>th one again,
// and prints one JSON line: { node, held: [[handle, ip]...], released: [ip...] }.
import { Ipam } from '../ipam/ipam.js';
import { openDatastore } from '../open.js';

const [url, node, count, every] = process.argv.slice(2);
if (!url || !node || !count) {
  process.stderr.write('usage: ipam-worker <url> <node> <count> [release-every]\n');
  process.exit(2);
}
const ds = openDatastore(url);
const ipam = new Ipam(ds);
const held: [string, string][] = [];
const released: string[] = [];
const n = Number(count);
const k = Number(every ?? 0);
try {
  for (let i = 0; i < n; i++) {
    const handle = `${node}-${i}`;
    const ip = await ipam.assign({ node, handle });
    if (k && i % k === 0) {
      const r = await ipam.releaseByHandle(handle);
      if (r.length !== 1 || r[0] !== ip)
        throw new Error(`release of ${handle} returned ${JSON.stringify(r)}, expected [${ip}]`);
      released.push(ip);
    } else held.push([handle, ip]);
  }
  process.stdout.write(`${JSON.stringify({ node, held, released })}\n`);
} catch (err) {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exitCode = 1;
} finally {
  await ds.close();
}
