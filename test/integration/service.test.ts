import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const SKILLS = [
  'fix_bug',
  'refactor_code',
  'review_pr',
  'generate_dockerfile',
  'generate_docker_compose',
  'generate_k8s_manifests',
  'write_unit_tests',
  'improve_code_quality',
  'code',
];

async function json(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

describe('health and agent cards', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ env: { MAX_CONCURRENT_TASKS: '3' } });
  });
  after(async () => {
    await gw.stop();
  });

  test('/health reports status, version, task counts, uptime and the store', async () => {
    const { status, body } = await json(`${gw.url}/health`);
    assert.equal(status, 200);
    assert.equal(body.status, 'healthy');
    assert.match(body.version, /^\d+\.\d+\.\d+/);
    assert.equal(body.active_tasks, 0);
    assert.equal(body.max_concurrent_tasks, 3);
    assert.equal(body.queued_tasks, 0);
    assert.match(body.uptime, /^\d+s$/);
    assert.deepEqual(body.store, { kind: 'sqlite', ok: true });
    assert.equal((await json(`${gw.url}/ready`)).status, 200);
  });

  test('agent-card.json in the 1.0 layout for a 1.0 client, with every skill and its input schema', async () => {
    const { status, body, headers } = await json(`${gw.url}/.well-known/agent-card.json`, {
      'A2A-Version': '1.0',
    });
    assert.equal(status, 200);
    assert.ok(headers.get('etag'));
    assert.match(headers.get('cache-control') ?? '', /max-age=/);
    assert.equal(body.url, undefined, 'no 0.3 fields in the 1.0 layout');
    assert.deepEqual(
      body.supportedInterfaces.map((i: any) => `${i.protocolBinding}@${i.protocolVersion}`).sort(),
      ['HTTP+JSON@0.3', 'HTTP+JSON@1.0', 'JSONRPC@0.3', 'JSONRPC@1.0'],
    );
    assert.ok(body.supportedInterfaces.every((i: any) => i.url === gw.url));
    assert.deepEqual(body.skills.map((s: any) => s.id).sort(), [...SKILLS].sort());
    assert.equal(body.capabilities.streaming, true);
    const ext = body.capabilities.extensions.find((e: any) => e.uri.includes('skill-input'));
    const fixBug = ext.params.skills.fix_bug;
    assert.equal(fixBug.backend, 'droid');
    assert.deepEqual(
      ext.params.backends.droid,
      { type: 'droid', resume: 'replay' },
      'the card says droid replays',
    );
    assert.deepEqual(ext.params.backends.claude, { type: 'claude', resume: 'native' });
    assert.equal(fixBug.inputSchema.type, 'object');
    assert.ok(fixBug.inputSchema.properties.bug_description);
    assert.ok(fixBug.inputSchema.properties.workdir);
  });

  test('agent.json answers in the 0.3 layout, as does agent-card.json without a version header', async () => {
    for (const path of ['/.well-known/agent.json', '/.well-known/agent-card.json']) {
      const { body } = await json(`${gw.url}${path}`);
      assert.equal(body.url, gw.url, path);
      assert.equal(body.protocolVersion, '0.3');
      assert.equal(body.preferredTransport, 'JSONRPC');
      assert.equal(body.skills.length, SKILLS.length);
    }
  });

  test('the card URL follows X-Forwarded-* from a trusted (loopback) proxy', async () => {
    const { body } = await json(`${gw.url}/.well-known/agent-card.json`, {
      'A2A-Version': '1.0',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'agents.example.com',
    });
    assert.ok(body.supportedInterfaces.every((i: any) => i.url === 'https://agents.example.com'));
  });
});

describe('PUBLIC_URL', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ env: { PUBLIC_URL: 'https://gw.example.org/' } });
  });
  after(async () => {
    await gw.stop();
  });

  test('wins over the request', async () => {
    const { body } = await json(`${gw.url}/.well-known/agent-card.json`, {
      'A2A-Version': '1.0',
      'X-Forwarded-Host': 'evil.example',
    });
    assert.ok(body.supportedInterfaces.every((i: any) => i.url === 'https://gw.example.org'));
  });
});

describe('retention', () => {
  test('finished tasks older than the retention time are removed at start-up', async () => {
    const gw = await startTestGateway({
      configYaml: 'backends:\n  quick: { type: fake, summary: ok }\nskills:\n  code: { backend: quick }\n',
    });
    const sent = await fetch(`${gw.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'message/send',
        params: {
          message: {
            kind: 'message',
            role: 'user',
            messageId: 'r1',
            parts: [{ kind: 'text', text: 'x' }],
            metadata: { skill: 'code' },
          },
        },
      }),
    });
    const taskId: string = ((await sent.json()) as any).result.id;
    assert.ok(await gw.gateway.store.get(taskId));
    // The timestamp ages past a retention of 1 ms; a new gateway on the same data purges it.
    await new Promise((r) => setTimeout(r, 20));
    const { loadConfig } = await import('../../src/config/load.js');
    const { createGateway } = await import('../../src/main.js');
    const { BUILTIN_SKILLS } = await import('../../src/skills/catalog.js');
    const { LogCapture } = await import('../helpers/gateway.js');
    await gw.gateway.stop();
    const again = await createGateway({
      config: loadConfig({
        env: {
          DATA_DIR: gw.dataDir,
          RETENTION_COMPLETED_HOURS: String(1 / 3_600_000),
          HOST: '127.0.0.1',
          PORT: '0',
        },
        knownSkills: BUILTIN_SKILLS.map((s) => s.id),
      }),
      logDestination: new LogCapture().stream,
    });
    try {
      assert.equal(await again.store.get(taskId), undefined);
    } finally {
      await again.stop();
      await gw.stop();
    }
  });
});
