import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashKey } from '../../src/transport/auth.js';
import { sendTask, startTestGateway, tempDir, type TestGateway } from '../helpers/gateway.js';

const KEYS = {
  alice: `alice-${randomBytes(16).toString('hex')}`,
  bob: `bob-${randomBytes(16).toString('hex')}`,
};

describe('conversations (follow-up turns in one context)', () => {
  let gw: TestGateway;
  let dir: ReturnType<typeof tempDir>;
  before(async () => {
    dir = tempDir();
    const keys = join(dir.dir, 'keys.yaml');
    writeFileSync(
      keys,
      `keys:\n  - { id: alice, hash: "${hashKey(KEYS.alice)}" }\n  - { id: bob, hash: "${hashKey(KEYS.bob)}" }\n`,
    );
    gw = await startTestGateway({
      env: { API_KEYS_FILE: keys },
      configYaml: `
backends:
  agent:
    type: fake
    summary: ok
    steps:
      - { event: { type: session, sessionId: sess-1 } }
skills:
  fix_bug: { backend: agent }
  code: { backend: agent }
`,
    });
  });
  after(async () => {
    await gw.stop();
    dir.cleanup();
  });

  test("a follow-up that names no skill continues with the context's skill; another key's same contextId does not", async () => {
    const first = await sendTask(gw.url, {
      skill: 'fix_bug',
      input: 'the login page 500s',
      headers: { 'x-api-key': KEYS.alice },
    });
    const contextId: string = first.body.result.contextId;
    assert.equal(first.body.result.metadata.skill, 'fix_bug');

    const followUp = await sendTask(gw.url, {
      skill: '',
      input: 'and add a regression test',
      message: { contextId, metadata: {} },
      headers: { 'x-api-key': KEYS.alice },
    });
    assert.equal(followUp.body.result?.metadata.skill, 'fix_bug', JSON.stringify(followUp.body));
    assert.equal(followUp.body.result.contextId, contextId);

    const other = await sendTask(gw.url, {
      skill: '',
      input: 'what did they fix?',
      message: { contextId, metadata: {} },
      headers: { 'x-api-key': KEYS.bob },
    });
    assert.equal(
      other.body.result?.metadata.skill,
      'code',
      "bob's turn does not inherit alice's conversation",
    );
  });
});
