import type { LiveEvents, LoggedEvent } from './task-event-store.js';

/**
 * Live subscriptions to task events within this process: what the embedded stores (memory, SQLite) offer as
 * `subscribeTaskEvents`. The store calls {@link publish} once an event is stored.
 */
export class LiveFeed {
  private readonly listeners = new Map<string, Set<(event: LoggedEvent) => void>>();

  /** Hands a stored event to the task's subscribers. A subscriber only buffers, so this cannot throw. */
  publish(taskId: string, event: LoggedEvent): void {
    const set = this.listeners.get(taskId);
    if (set) for (const listener of set) listener(event);
  }

  subscribe(taskId: string, signal?: AbortSignal): LiveEvents {
    const buffer: LoggedEvent[] = [];
    let wake: (() => void) | undefined;
    let closed = false;
    const listener = (event: LoggedEvent): void => {
      buffer.push(event);
      wake?.();
    };
    const close = (): void => {
      if (closed) return;
      closed = true;
      const set = this.listeners.get(taskId);
      set?.delete(listener);
      if (set?.size === 0) this.listeners.delete(taskId);
      signal?.removeEventListener('abort', close);
      wake?.();
    };
    let set = this.listeners.get(taskId);
    if (!set) {
      set = new Set();
      this.listeners.set(taskId, set);
    }
    set.add(listener);
    if (signal?.aborted) close();
    else signal?.addEventListener('abort', close, { once: true });
    return {
      close,
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const next = buffer.shift();
          if (next) {
            yield next;
            continue;
          }
          if (closed) return;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      },
    };
  }
}
