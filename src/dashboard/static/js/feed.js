// One live feed of task changes for the whole page (GET api/tasks/events): rows for the list, counts for the
// status strip. It reconnects after a drop, and tells listeners so they can reload what they may have missed.
import { AuthError, root, sse } from './api.js';

const taskListeners = new Set();
const statsListeners = new Set();
const reconnectListeners = new Set();
let running = false;

function listen(set, listener, signal) {
  set.add(listener);
  signal?.addEventListener('abort', () => set.delete(listener), { once: true });
  start();
}

/** Each changed task's row, as long as `signal` is not aborted. */
export function onTask(listener, signal) {
  listen(taskListeners, listener, signal);
}

/** Active and queued counts whenever they may have changed. */
export function onStats(listener, signal) {
  listen(statsListeners, listener, signal);
}

/** After the feed came back from a drop. */
export function onReconnect(listener, signal) {
  listen(reconnectListeners, listener, signal);
}

function start() {
  if (running) return;
  running = true;
  void run();
}

async function run() {
  let failures = 0;
  for (;;) {
    try {
      for await (const event of sse(new URL('api/tasks/events', root))) {
        if (failures > 0) {
          failures = 0;
          for (const l of reconnectListeners) l();
        }
        const data = JSON.parse(event.data);
        if (event.event === 'task') for (const l of taskListeners) l(data);
        else if (event.event === 'stats') for (const l of statsListeners) l(data);
      }
    } catch (err) {
      if (err instanceof AuthError) {
        running = false;
        return;
      }
    }
    failures += 1;
    // Back off up to 10 s between tries; the first retry is quick.
    await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 250 * 2 ** Math.min(failures, 6))));
  }
}
