import {
  DefaultExecutionEventBusManager,
  type AgentExecutionEvent,
  type ExecutionEventBus,
  type ExecutionEventBusManager,
  type ServerCallContext,
} from '@a2a-js/sdk/server';
import type { TaskEventLog } from './task-event-log.js';

/** Key in `ServerCallContext.state` under which a stream asks for the seq of each event it will yield. */
export const EVENT_TAP_KEY = 'a2a-gateway.event-tap';

/**
 * The seqs of the events a task's bus publishes from the moment a stream attaches, in publish order. The SDK's
 * stream attaches its own queue to the bus in the same synchronous step, so the n-th response it yields is the
 * n-th event seen here, whatever shape the SDK gives the response (it reloads a Task from the store).
 */
export class EventTap {
  private readonly seqs: Promise<number | undefined>[] = [];
  private detach: (() => void) | undefined;
  private attached = false;

  /** Starts listening; a tap attaches to one bus once. */
  attach(bus: ExecutionEventBus, seqOf: (event: AgentExecutionEvent) => Promise<number | undefined>): void {
    if (this.attached) return;
    this.attached = true;
    const listener = (event: AgentExecutionEvent): void => {
      this.seqs.push(seqOf(event));
    };
    bus.on('event', listener);
    this.detach = () => bus.off('event', listener);
  }

  /** The seq of the next response the stream yields (undefined for one the log does not keep). */
  next(): Promise<number | undefined> {
    return this.seqs.shift() ?? Promise.resolve(undefined);
  }

  close(): void {
    this.detach?.();
    this.detach = undefined;
  }
}

/** Sees every event a task publishes (task snapshots, status and artifact updates, with their metadata). */
export type TaskEventObserver = (taskId: string, event: AgentExecutionEvent) => void;

/**
 * The SDK's per-task event buses, with every published event also written to the task's event log (the first
 * listener of each bus, so an event is numbered before anyone else sees it), and a stream's {@link EventTap}
 * attached when it asks for one. Observers (metrics) hear each event after the log; one that throws is skipped.
 */
export class LoggingEventBusManager implements ExecutionEventBusManager {
  private readonly inner = new DefaultExecutionEventBusManager();
  private readonly logged = new WeakSet<ExecutionEventBus>();

  constructor(
    private readonly log: TaskEventLog,
    private readonly observers: readonly TaskEventObserver[] = [],
  ) {}

  createOrGetByTaskId(taskId: string, context?: ServerCallContext): ExecutionEventBus {
    const bus = this.inner.createOrGetByTaskId(taskId, context);
    if (!this.logged.has(bus)) {
      this.logged.add(bus);
      bus.on('event', (event) => {
        this.log.record(taskId, event);
        for (const observe of this.observers) {
          try {
            observe(taskId, event);
          } catch {
            // An observer's fault must not break the task's stream.
          }
        }
      });
    }
    const tap = context?.state.get(EVENT_TAP_KEY);
    if (tap instanceof EventTap) tap.attach(bus, (event) => this.log.seqOf(event));
    return bus;
  }

  getByTaskId(taskId: string, context?: ServerCallContext): ExecutionEventBus | undefined {
    return this.inner.getByTaskId(taskId, context);
  }

  cleanupByTaskId(taskId: string, context?: ServerCallContext): void {
    this.inner.cleanupByTaskId(taskId, context);
  }
}
