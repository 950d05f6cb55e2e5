import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { Authenticator, type KeyEntry } from '../../src/transport/auth.js';

function entry(id: string, key: string, scopes: string[]): KeyEntry {
  return { id, digest: createHash('sha256').update(key, 'utf8').digest(), scopes };
}

function request(headers: Record<string, string>): { header(name: string): string | undefined } {
  return { header: (name) => headers[name.toLowerCase()] };
}

void describe('API key authentication', () => {
  const auth = new Authenticator([
    entry('ops', 'ops-key-0123456789abcdef', ['admin']),
    entry('ci', 'ci-key-0123456789abcdef', ['code', 'fix_bug']),
  ]);

  void test('a key answers the same principal on every request, in either header', async () => {
    for (let i = 0; i < 3; i++) {
      const ci = await auth.authenticate(request({ 'x-api-key': 'ci-key-0123456789abcdef' }));
      assert.ok(ci.ok);
      assert.equal(ci.principal.id, 'ci');
      assert.equal(ci.principal.kind, 'key');
      assert.equal(ci.principal.admin, false);
      assert.deepEqual([...ci.principal.scopes], ['code', 'fix_bug']);
      const ops = await auth.authenticate(request({ authorization: 'Bearer  ops-key-0123456789abcdef ' }));
      assert.ok(ops.ok);
      assert.equal(ops.principal.id, 'ops');
      assert.equal(ops.principal.admin, true);
    }
  });

  void test('a wrong key stays wrong after right ones were seen: a prefix, an extension, another case', async () => {
    await auth.authenticate(request({ 'x-api-key': 'ci-key-0123456789abcdef' }));
    for (const wrong of ['ci-key-0123456789abcde', 'ci-key-0123456789abcdefX', 'CI-KEY-0123456789ABCDEF']) {
      const result = await auth.authenticate(request({ 'x-api-key': wrong }));
      assert.deepEqual(result, { ok: false, reason: 'the API key is not valid' });
    }
    assert.equal((await auth.authenticate(request({}))).ok, false);
  });
});
