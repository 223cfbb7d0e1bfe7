// Messages between the BFD service (main thread) and its worker thread. Structured-clone data only.
import type { SessionConfig } from './config.js';
import type { EngineEvent, SessionStatus } from './engine.js';
import type { SessionTimers } from './session.js';
import type { SingleHopSourceCheck } from './udp-transport.js';

export interface WorkerSettings {
  readonly singleHopPort?: number;
  readonly multiHopPort?: number;
  readonly singleHopSourceCheck?: SingleHopSourceCheck;
  readonly maxSessions?: number;
}

export type ToWorker =
  | { readonly op: 'add'; readonly id: number; readonly config: SessionConfig }
  | { readonly op: 'update'; readonly id: number; readonly timers: SessionTimers }
  | { readonly op: 'admin'; readonly id: number; readonly down: boolean }
  | { readonly op: 'remove'; readonly id: number }
  | { readonly op: 'status'; readonly req: number }
  | { readonly op: 'stop' };

export type FromWorker =
  | { readonly type: 'ready' }
  | EngineEvent
  | {
      readonly type: 'status';
      readonly req: number;
      readonly sessions: SessionStatus[];
      readonly unmatched: Record<string, number>;
    }
  | { readonly type: 'failed'; readonly id: number; readonly code: string; readonly message: string }
  | { readonly type: 'stopped' };
