// Received messages are handled in a budget of time per turn of the event loop, shared by every
// session, and sessions whose messages must wait for a later turn queue here (see Session.drain).

/** How long the sessions handle received messages per turn of the event loop, all together (ms; see PROCESS_MS in speaker.ts). */
const READ_MS = 5;

/** A session whose received messages wait for a later turn. */
export interface Waiter {
  resumeWaiting(): void;
}

/**
 * Time the sessions spent handling received messages in this turn of the loop (ms): one budget for
 * every session. 10,000 reflector clients' OPENs arrive in one poll phase of the event loop; with
 * a budget per session each was handled at once (about 80 µs each, stalls of a quarter second).
 */
let turnSpent = 0;
let turnResetScheduled = false;

/** What is left of this turn's reading time (ms); the turn's account is reset in its check phase. */
export function readTimeLeft(): number {
  if (!turnResetScheduled) {
    turnResetScheduled = true;
    setImmediate(() => {
      turnSpent = 0;
      turnResetScheduled = false;
    });
  }
  return READ_MS - turnSpent;
}

/** Counts `ms` spent handling received messages against this turn's budget. */
export function spentReading(ms: number): void {
  turnSpent += ms;
}

/**
 * Sessions whose received messages wait for a later turn (their sockets paused), first come first
 * served: one queue for all, so a turn costs what it handles, not a callback per waiting session.
 */
const waiting: Waiter[] = [];
let waitingHead = 0;
let waitingScheduled = false;

/** Whether sessions wait already (a new read then queues behind them). */
export function othersWaiting(): boolean {
  return waitingHead < waiting.length;
}

/** Queues `w` for a later turn (the caller queues it once until its turn comes). */
export function waitForTurn(w: Waiter): void {
  waiting.push(w);
  scheduleWaiting();
}

function scheduleWaiting(): void {
  if (waitingScheduled) return;
  waitingScheduled = true;
  // The next turn of the loop (after its timers), not this one's check phase.
  setImmediate(() => setImmediate(runWaiting));
}

/** Handles waiting sessions in order, for this turn's reading time; the rest wait for the next. */
function runWaiting(): void {
  waitingScheduled = false;
  while (waitingHead < waiting.length && readTimeLeft() > 0) waiting[waitingHead++]!.resumeWaiting();
  if (waitingHead >= waiting.length) {
    waiting.length = 0;
    waitingHead = 0;
  } else {
    if (waitingHead > 1024) {
      waiting.splice(0, waitingHead);
      waitingHead = 0;
    }
    scheduleWaiting();
  }
}
