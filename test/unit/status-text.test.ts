import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { STATUS_TEXT_MAX_CHARS, statusTextOf } from '../../src/run/settle.js';

void describe('the final status message of a long summary', () => {
  void test('a summary within the bound is the text as it is', () => {
    const text = 'x'.repeat(STATUS_TEXT_MAX_CHARS);
    assert.equal(statusTextOf(text), text);
    assert.equal(statusTextOf('done: fixed the bug'), 'done: fixed the bug');
  });

  void test('a longer one keeps its start and its end, and says how much is left out and where the whole is', () => {
    const half = STATUS_TEXT_MAX_CHARS / 2;
    const text = `HEAD${'a'.repeat(half)}${'m'.repeat(1000)}${'z'.repeat(half)}TAIL`;
    const out = statusTextOf(text);
    assert.ok(out.startsWith('HEAD'));
    assert.ok(out.endsWith('TAIL'));
    assert.ok(out.length < STATUS_TEXT_MAX_CHARS + 200, `${out.length} characters`);
    assert.match(
      out,
      /\[\.\.\. 1008 characters left out here; the whole text is in the result artifact \.\.\.\]/,
    );
    assert.equal(out.includes('m'), false, 'the middle is what is left out');
  });

  void test('no surrogate pair is cut in two at either end of the gap', () => {
    const half = STATUS_TEXT_MAX_CHARS / 2;
    const emoji = '\u{1F600}'; // two UTF-16 units
    // A pair straddles the head's end and another the tail's start.
    const text = `${'a'.repeat(half - 1)}${emoji}${'b'.repeat(5000)}${emoji}${'c'.repeat(half - 1)}`;
    const out = statusTextOf(text);
    const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    assert.equal(loneSurrogate.test(out), false);
    // Each straddling pair goes whole into the gap: 2 + 5000 + 2 units left out.
    assert.match(out, /\[\.\.\. 5004 characters left out here/);
  });
});
