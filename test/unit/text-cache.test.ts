import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TextCache } from '../../src/stores/text-cache.js';

const cache = (maxEntries: number, maxChars: number, maxEntryChars: number): TextCache<string> =>
  new TextCache<string>({ maxEntries, maxChars, maxEntryChars }, (text) => text.length);

void describe('TextCache', () => {
  void test('keeps at most maxEntries, dropping the least recently read', () => {
    const c = cache(2, 1000, 1000);
    c.set('a', 'A');
    c.set('b', 'B');
    assert.equal(c.get('a'), 'A'); // a is now the most recent
    c.set('c', 'C');
    assert.equal(c.get('b'), undefined, 'b was the least recently read');
    assert.equal(c.get('a'), 'A');
    assert.equal(c.get('c'), 'C');
    assert.equal(c.size, 2);
  });

  void test('keeps at most maxChars in all: a large value pushes the oldest out', () => {
    const c = cache(100, 10, 10);
    c.set('a', 'aaaa');
    c.set('b', 'bbbb');
    c.set('c', 'cccc');
    assert.equal(c.get('a'), undefined);
    assert.deepEqual([c.get('b'), c.get('c')], ['bbbb', 'cccc']);
    // Replacing a value counts its new size, not both.
    c.set('c', 'cc');
    c.set('d', 'dddd');
    assert.deepEqual([c.get('b'), c.get('c'), c.get('d')], ['bbbb', 'cc', 'dddd']);
  });

  void test('a value over maxEntryChars is not kept, and replaces no kept value with itself', () => {
    const c = cache(100, 1000, 5);
    c.set('a', 'small');
    c.set('a', 'far too large');
    assert.equal(c.get('a'), undefined, 'the old value is not served for a key that was set again');
    c.set('b', 'x'.repeat(6));
    assert.equal(c.size, 0);
  });

  void test('delete and clear free what they held', () => {
    const c = cache(100, 8, 8);
    c.set('a', 'aaaa');
    c.set('b', 'bbbb');
    c.delete('a');
    c.set('c', 'cccc');
    assert.deepEqual([c.get('b'), c.get('c')], ['bbbb', 'cccc']);
    c.clear();
    c.set('d', 'dddddddd');
    assert.equal(c.get('d'), 'dddddddd');
  });
});
