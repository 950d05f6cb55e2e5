import type { TaskState } from '@a2a-js/sdk';
import yoctoSpinner, { type Spinner } from 'yocto-spinner';
import type { Output } from './output.js';
import { stateName } from './task-view.js';

/** `1:05`, `12:00:03`. */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

export const dollars = (cost: number): string => `$${cost < 0.01 ? cost.toFixed(4) : cost.toFixed(2)}`;

/**
 * Shows a task's progress while it runs. On a terminal: one status line (spinner, state, the tool the agent is
 * running, elapsed time, cost so far) with the agent's words printed above it. Elsewhere: plain lines, each with
 * the elapsed time, nothing redrawn.
 */
export class ProgressView {
  private spinner: Spinner | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private readonly started = Date.now();
  private state = 'submitted';
  private tool: string | undefined;
  private cost: number | undefined;
  private taskId: string | undefined;

  constructor(private readonly out: Output) {}

  /** The task is known: say which one (so a reader can reattach to it). */
  task(id: string, skill: string | undefined): void {
    if (this.taskId === id) return;
    this.taskId = id;
    this.print(`task ${id}${skill ? ` (${skill})` : ''}`, true);
  }

  setState(state: TaskState): void {
    const name = stateName(state);
    if (name === this.state) return;
    this.state = name;
    if (name !== 'working') this.tool = undefined;
    if (!this.out.live) this.print(name);
    this.redraw();
  }

  /** What the agent says, or the tool it runs. */
  progress(text: string, tool: string | undefined): void {
    if (tool) {
      this.tool = tool;
      this.print(this.out.ce.dim(`→ ${text}`), true);
    } else {
      this.print(text, true);
    }
    this.redraw();
  }

  setCost(cost: number | undefined): void {
    if (cost === undefined || cost === this.cost) return;
    this.cost = cost;
    this.redraw();
  }

  /** Clears the status line (before a prompt, or at the end); {@link resume} brings it back. */
  pause(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    this.spinner?.stop();
    this.spinner?.clear();
    this.spinner = undefined;
  }

  resume(): void {
    if (!this.out.live || this.spinner) return;
    this.spinner = yoctoSpinner({
      text: this.statusText(),
      stream: this.out.stderr,
      handleSignals: false,
    }).start();
    this.ticker = setInterval(() => this.redraw(), 1000);
    this.ticker.unref();
  }

  stop(): void {
    this.pause();
  }

  private statusText(): string {
    const c = this.out.ce;
    const bits = [c.bold(this.state)];
    if (this.tool) bits.push(c.cyan(this.tool));
    bits.push(elapsed(Date.now() - this.started));
    if (this.cost !== undefined) bits.push(dollars(this.cost));
    return bits.join(c.dim(' · '));
  }

  private redraw(): void {
    if (this.spinner) this.spinner.text = this.statusText();
  }

  /** A line above the status line on a terminal; a timestamped line elsewhere. */
  private print(text: string, plainPrefix = true): void {
    if (this.out.live) {
      this.out.stderr.write(`${text}\n`);
      return;
    }
    const prefix = plainPrefix ? `[${elapsed(Date.now() - this.started)}] ` : '';
    this.out.stderr.write(`${prefix}${text}\n`);
  }
}
