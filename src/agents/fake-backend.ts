import { setTimeout as sleep } from 'node:timers/promises';
import { abortedOutcome } from './outcome.js';
import type { AgentEvent, Backend, BackendOutcome, BackendRunContext } from './types.js';

export type FakeStep = { event: AgentEvent } | { sleepMs: number };

export interface FakeBackendOptions {
  name: string;
  steps: readonly FakeStep[];
  outcome: 'completed' | 'failed';
  summary: string;
}

/**
 * A scripted backend for tests and demos: replays its steps (events and pauses) and ends as told. It honours the
 * abort signal like a real backend, so cancellation and deadlines can be tested without a child process.
 */
export class FakeBackend implements Backend {
  readonly type = 'fake';
  readonly name: string;

  constructor(private readonly opts: FakeBackendOptions) {
    this.name = opts.name;
  }

  async run(ctx: BackendRunContext): Promise<BackendOutcome> {
    for (const step of this.opts.steps) {
      if (ctx.signal.aborted) return abortedOutcome(ctx.signal);
      if ('sleepMs' in step) {
        try {
          await sleep(step.sleepMs, undefined, { signal: ctx.signal });
        } catch {
          return abortedOutcome(ctx.signal);
        }
      } else {
        ctx.emit(step.event);
      }
    }
    if (ctx.signal.aborted) return abortedOutcome(ctx.signal);
    return this.opts.outcome === 'completed'
      ? { status: 'completed', summary: this.opts.summary }
      : { status: 'failed', summary: '', reason: this.opts.summary };
  }
}
