// The official clients drive a task end to end on every binding they support: the 1.0 SDK client on JSON-RPC and
// HTTP+JSON (gRPC in grpc.test.ts), and the 0.3-era client (@a2a-js/sdk 0.3.14) on JSON-RPC and HTTP+JSON.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ClientFactory as ClientFactoryV03, ClientFactoryOptions as OptionsV03 } from 'a2a-sdk-v03/client';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const CONFIG = `
backends:
  quick:
    type: fake
    summary: fixed it
    steps:
      - { event: { type: text, text: "looking" } }
      - { sleepMs: 20 }
skills:
  code: { backend: quick }
`;

describe('the 0.3-era client on each binding it supports', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ configYaml: CONFIG, env: { RATE_LIMIT_PER_MINUTE: '0' } });
  });
  after(async () => {
    await gw.stop();
  });

  for (const transport of ['JSONRPC', 'HTTP+JSON'] as const) {
    test(`0.3 client over ${transport}: send, get, stream to the end`, async () => {
      const factory = new ClientFactoryV03(
        OptionsV03.createFrom(OptionsV03.default, { preferredTransports: [transport] }),
      );
      const client = await factory.createFromUrl(gw.url);
      const message = () => ({
        kind: 'message' as const,
        role: 'user' as const,
        messageId: randomUUID(),
        parts: [{ kind: 'text' as const, text: 'add a health check' }],
        metadata: { skill: 'code' },
      });
      const result = await client.sendMessage({ message: message(), configuration: { blocking: true } });
      assert.equal(result.kind, 'task');
      const task = result.kind === 'task' ? result : undefined;
      assert.equal(task?.status.state, 'completed');
      const got = await client.getTask({ id: task?.id ?? '' });
      assert.equal(got.id, task?.id);
      const states: string[] = [];
      for await (const ev of client.sendMessageStream({ message: message() })) {
        if (ev.kind === 'status-update') states.push(ev.status.state);
      }
      assert.equal(states.at(-1), 'completed');
    });
  }
});
