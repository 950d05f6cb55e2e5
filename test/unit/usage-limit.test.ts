// Usage limits: the reset time read from each CLI's limit message, and the wait per account, on a fake clock.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { claudeParser } from '../../src/agents/parsers/claude.js';
import { codexParser } from '../../src/agents/parsers/codex.js';
import type { OutputParser } from '../../src/agents/parsers/types.js';
import { UsageLimits, limitReportOf, resetTimeIn, type Clock } from '../../src/agents/usage-limit.js';

const NOW = Date.parse('2026-12-04T20:00:00Z');

/** A clock that moves only when told; sleepers wake in time order as it passes them. */
class FakeClock implements Clock {
  private t = NOW;
  private sleepers: { at: number; wake: () => void; fail: (e: unknown) => void }[] = [];
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry = { at: this.t + ms, wake: resolve, fail: reject };
      this.sleepers.push(entry);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((s) => s !== entry);
        reject(signal.reason as Error);
      });
    });
  }
  get waiting(): number {
    return this.sleepers.length;
  }
  async advance(ms: number): Promise<void> {
    this.t += ms;
    const due = this.sleepers.filter((s) => s.at <= this.t);
    this.sleepers = this.sleepers.filter((s) => s.at > this.t);
    for (const s of due) s.wake();
    // Let the woken awaits run.
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

describe('the reset time in a limit message', () => {
  test("each CLI's wording", () => {
    const cases: [string, number | undefined][] = [
      ['Claude AI usage limit reached|1796414400', 1796414400_000],
      ["You've hit your usage limit. Upgrade to Pro or try again in 2 hours 3 minutes.", NOW + 7_380_000],
      ['Rate limit reached for gpt-5 on tokens per min. Please try again in 6.5s.', NOW + 6500],
      ['429 Too Many Requests: retry after 30 seconds', NOW + 30_000],
      ['Your limit resets at 2026-12-04T22:00:00Z', Date.parse('2026-12-04T22:00:00Z')],
      ['quota exceeded, reset at 2026-12-04 21:30 UTC', Date.parse('2026-12-04T21:30:00Z')],
      ['API Error: Request rejected (429) · rate limited', undefined],
      ['try again in a moment', undefined],
    ];
    for (const [text, expected] of cases) assert.equal(resetTimeIn(text, NOW), expected, text);
  });

  test('only a failed turn of kind rate_limit is a limit', () => {
    const base = { summary: '', reason: 'usage limit: try again in 5 minutes' };
    assert.deepEqual(limitReportOf({ ...base, status: 'failed', errorKind: 'rate_limit' }, NOW), {
      resetAt: NOW + 300_000,
      message: 'usage limit: try again in 5 minutes',
    });
    assert.equal(limitReportOf({ ...base, status: 'failed', errorKind: 'auth' }, NOW), undefined);
    assert.equal(limitReportOf({ ...base, status: 'completed' }, NOW), undefined);
  });
});

describe("the CLIs' limit messages are limits with a reset time", () => {
  const finish = (parser: OutputParser, lines: object[]) => {
    for (const line of lines) parser.line(JSON.stringify(line));
    return parser.finish({ exitCode: 1, signal: null, canceled: false, timedOut: false, stderrTail: '' });
  };

  test("Claude Code's 'usage limit reached|<epoch>' result", () => {
    const text = 'Claude AI usage limit reached|1767225600';
    const outcome = finish(claudeParser(), [
      { type: 'system', subtype: 'init', session_id: 's1' },
      { type: 'result', subtype: 'success', is_error: true, result: text, session_id: 's1' },
    ]);
    assert.equal(outcome.errorKind, 'rate_limit');
    assert.equal(limitReportOf(outcome, NOW)?.resetAt, 1767225600_000);
  });

  test("Codex's 'hit your usage limit … try again in' turn failure", () => {
    const message = "You've hit your usage limit. Upgrade to Pro or try again in 2 hours 5 minutes.";
    const outcome = finish(codexParser(), [
      { type: 'thread.started', thread_id: 't1' },
      { type: 'turn.failed', error: { message } },
    ]);
    assert.equal(outcome.errorKind, 'rate_limit');
    assert.equal(limitReportOf(outcome, NOW)?.resetAt, NOW + (2 * 60 + 5) * 60_000);
  });
});

describe('waiting for a reset, per account', () => {
  const limits = (clock: FakeClock, maxWaitMs = 3_600_000) =>
    new UsageLimits({ maxWaitMs, defaultWaitMs: 60_000, clock });

  test('a reset within the bound: the task waits, and another task on the account waits for the same reset', async () => {
    const clock = new FakeClock();
    const u = limits(clock);
    const d = u.decide('claude', { resetAt: NOW + 600_000, message: 'limit' });
    assert.deepEqual(d, { wait: true, untilMs: NOW + 600_000, message: 'limit' });
    let firstDone = false;
    let secondDone = false;
    void u.waitFree('claude').then(() => (firstDone = true));
    void u.waitFree('claude').then(() => (secondDone = true));
    let otherDone = false;
    void u.waitFree('codex').then(() => (otherDone = true));
    await clock.advance(0);
    assert.equal(otherDone, true, 'another account is not held');
    await clock.advance(599_000);
    assert.equal(firstDone || secondDone, false, 'still blocked a second before the reset');
    await clock.advance(1000);
    assert.equal(firstDone && secondDone, true, 'both go at the reset');
    assert.equal(u.blocked('claude'), undefined);
  });

  test('no reset time named: the default wait; a later reset extends the block, an earlier one does not shorten it', () => {
    const clock = new FakeClock();
    const u = limits(clock);
    assert.deepEqual(u.decide('claude', { resetAt: undefined, message: 'slow down' }), {
      wait: true,
      untilMs: NOW + 60_000,
      message: 'slow down',
    });
    u.decide('claude', { resetAt: NOW + 120_000, message: 'x' });
    u.decide('claude', { resetAt: NOW + 30_000, message: 'y' });
    assert.equal(u.blocked('claude'), NOW + 120_000);
  });

  test('a reset past USAGE_LIMIT_WAIT_MAX fails at once with the reset time; 0 turns waiting off', () => {
    const clock = new FakeClock();
    const far = limits(clock).decide('claude', { resetAt: NOW + 5 * 3_600_000, message: 'limit reached' });
    assert.equal(far.wait, false);
    assert.match(
      (far as { reason: string }).reason,
      /limit reached \(the limit resets at 2026-12-05T01:00:00.000Z, more than USAGE_LIMIT_WAIT_MAX = 3600 s from now\)/,
    );
    const off = limits(clock, 0).decide('claude', { resetAt: NOW + 1000, message: 'limit reached' });
    assert.deepEqual(off, { wait: false, reason: 'limit reached' });
    assert.equal(limits(clock, 0).blocked('claude'), undefined);
  });

  test('a cancel while waiting ends the wait with its reason, and the block stays for the others', async () => {
    const clock = new FakeClock();
    const u = limits(clock);
    u.decide('claude', { resetAt: NOW + 600_000, message: 'limit' });
    const ac = new AbortController();
    const waiting = u.waitFree('claude', ac.signal);
    await clock.advance(1000);
    ac.abort(new Error('canceled by the caller'));
    await assert.rejects(waiting, /canceled by the caller/);
    assert.equal(clock.waiting, 0, 'the canceled wait holds no timer');
    assert.equal(u.blocked('claude'), NOW + 600_000);
  });
});
