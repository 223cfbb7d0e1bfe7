// The BFD worker thread: every session's timers and sockets live on this event loop, so a main
// thread busy with a full-table ingest or a flooded control socket does not delay BFD packets.
import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from './clock.js';
import { BfdEngine } from './engine.js';
import type { FromWorker, ToWorker, WorkerSettings } from './messages.js';
import { UdpTransport } from './udp-transport.js';

const port = parentPort;
if (!port) throw new Error('bfd worker: must run as a worker thread');
const settings = workerData as WorkerSettings;
const post = (m: FromWorker) => port.postMessage(m);

const engine = new BfdEngine({
  clock: systemClock,
  random: Math.random,
  maxSessions: settings.maxSessions,
  transport: (e) =>
    new UdpTransport(e, {
      clock: systemClock,
      singleHopPort: settings.singleHopPort,
      multiHopPort: settings.multiHopPort,
      singleHopSourceCheck: settings.singleHopSourceCheck,
    }),
  onEvent: post,
});

port.on('message', (m: ToWorker) => {
  try {
    switch (m.op) {
      case 'add':
        engine.add(m.id, m.config);
        break;
      case 'update':
        engine.update(m.id, m.timers);
        break;
      case 'admin':
        engine.setAdminDown(m.id, m.down);
        break;
      case 'remove':
        engine.remove(m.id);
        break;
      case 'status':
        post({ type: 'status', req: m.req, sessions: engine.status(), unmatched: { ...engine.unmatched } });
        break;
      case 'stop':
        engine.stop();
        // Let the last AdminDown packets leave (their sockets close once sent), then end.
        setTimeout(() => {
          post({ type: 'stopped' });
          port.close();
        }, 20);
        break;
    }
  } catch (err) {
    const e = err as { code?: string; message?: string };
    post({
      type: 'failed',
      id: 'id' in m ? m.id : -1,
      code: e.code ?? 'BFD_WORKER_FAILED',
      message: String(e.message),
    });
  }
});
post({ type: 'ready' });
