import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { ProgressReporter, type ProgressUpdate } from '../../src/run/progress.js';

const logger = pino({ level: 'silent' });

function reporter(opts: { coalesceMs?: number; burstGapMs?: number } = {}): {
  progress: ProgressReporter;
  sent: { text: string; at: number }[];
} {
  const sent: { text: string; at: number }[] = [];
  const progress = new ProgressReporter({
    logger,
    ...opts,
    publish: (update: ProgressUpdate) => {
      sent.push({ text: update.text, at: performance.now() });
    },
  });
  return { progress, sent };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('progress updates', () => {
  test('a line on an idle stream goes out at once, with the lines that came in the same turn', async () => {
    const { progress, sent } = reporter({ coalesceMs: 10_000 });
    const t0 = performance.now();
    progress.handle({ type: 'text', text: 'first' });
    progress.handle({ type: 'text', text: 'second' });
    await tick();
    assert.deepEqual(
      sent.map((s) => s.text),
      ['first\nsecond'],
    );
    assert.ok((sent[0]?.at ?? Infinity) - t0 < 1000, 'not held for the coalescing window');
    progress.close();
  });

  test('a burst of token deltas is coalesced into one update per window', async () => {
    const { progress, sent } = reporter({ coalesceMs: 200, burstGapMs: 50 });
    progress.handle({ type: 'text', text: 'Hel', delta: true });
    await tick();
    // Tokens arriving close together: a burst, held for the window.
    for (const token of ['lo', ', ', 'wor', 'ld']) {
      await sleep(5);
      progress.handle({ type: 'text', text: token, delta: true });
    }
    assert.deepEqual(
      sent.map((s) => s.text),
      ['Hel'],
    );
    await sleep(300);
    assert.deepEqual(
      sent.map((s) => s.text),
      ['Hel', 'lo, world'],
    );
    progress.close();
  });

  test('megabytes of output in one window are joined once (not quadratically) and cut to the update size', () => {
    const { progress, sent } = reporter({ coalesceMs: 10_000 });
    const line = 'x'.repeat(99);
    const t0 = performance.now();
    for (let i = 0; i < 20_000; i++) progress.handle({ type: 'text', text: line });
    progress.flush();
    const ms = performance.now() - t0;
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.text.length, 4001, '4000 characters and the ellipsis');
    // Appending to one string and checking its end flattened 2 MB per line: seconds. Pieces take milliseconds.
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
    progress.close();
  });
});
