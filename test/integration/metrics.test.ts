import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { rpc, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { parseExposition, type Exposition } from '../helpers/prom-text.js';
import { openSse } from '../helpers/sse.js';

const KEY = 'metrics-test-key-0123456789';
const AUTH = { 'x-api-key': KEY };

const CONFIG = `
backends:
  good:
    type: fake
    summary: fine
    steps:
      - { event: { type: text, text: looking around } }
      - { event: { type: tool_call, name: Edit, summary: a.ts } }
      - { event: { type: tool_call, name: Bash, summary: npm test } }
      - { event: { type: usage, usage: { inputTokens: 1000, outputTokens: 200, cacheReadTokens: 50, costUsd: 0.25, model: fake-model-1 } } }
  bad:
    type: fake
    outcome: failed
    summary: the build broke
    steps:
      - { event: { type: tool_call, name: Bash, summary: make } }
  slow:
    type: fake
    summary: late
    steps:
      - { event: { type: tool_call, name: Read, summary: big.ts } }
      - { sleepMs: 60000 }
skills:
  code: { backend: good }
  refactor_code: { backend: good }
  fix_bug: { backend: bad }
  improve_code_quality: { backend: slow }
`;

function send(skill: string, text = 'do it', id = randomUUID()) {
  return {
    jsonrpc: '2.0',
    id,
    method: 'message/send',
    params: {
      message: { kind: 'message', role: 'user', messageId: randomUUID(), parts: [{ kind: 'text', text }] },
      metadata: { skill },
      configuration: { blocking: true },
    },
  };
}

async function scrape(gw: TestGateway): Promise<Exposition> {
  const res = await fetch(`${gw.url}/metrics`, { headers: AUTH });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

describe('metrics: tasks of several skills, some failing and some refused, then a scrape', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      env: {
        API_KEY: KEY,
        MAX_CONCURRENT_TASKS: '1',
        MAX_QUEUED_TASKS: '0',
        BODY_LIMIT: '64kb',
        RATE_LIMIT_PER_MINUTE: '10000',
      },
      configYaml: CONFIG,
    });
  });
  after(async () => {
    await gw.stop();
  });

  test('/metrics needs the key like every other private route', async () => {
    assert.equal((await fetch(`${gw.url}/metrics`)).status, 401);
    assert.equal(
      (await fetch(`${gw.url}/metrics`, { headers: { 'x-api-key': 'wrong-key-0123456789' } })).status,
      401,
    );
  });

  test('counters, histograms and gauges move as the tasks run, end and are refused', async () => {
    const before = await scrape(gw);
    // Every family the brief names is there before any task ran, the labelled ones at zero.
    for (const name of [
      'a2a_gateway_tasks_total',
      'a2a_gateway_tasks_completed_total',
      'a2a_gateway_tasks_failed_total',
      'a2a_gateway_task_duration_seconds',
      'a2a_gateway_active_tasks',
      'a2a_gateway_uptime_seconds',
      'a2a_gateway_http_requests_total',
      'a2a_gateway_http_request_duration_seconds',
      'a2a_gateway_tool_invocations_total',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
    ]) {
      assert.ok(before.types.has(name), `${name} is exported`);
    }
    assert.equal(before.value('a2a_gateway_tasks_total', { status: 'failed' }), 0);
    assert.equal(before.value('a2a_gateway_refusals_total', { reason: 'queue_full' }), 0);
    assert.ok(before.value('a2a_gateway_uptime_seconds') >= 0);

    // Two skills complete, one fails.
    for (const skill of ['code', 'refactor_code', 'fix_bug', 'code']) {
      const { status, body } = await rpc(gw.url, send(skill), AUTH);
      assert.equal(status, 200);
      assert.equal(body.result.kind, 'task', JSON.stringify(body));
    }

    // Refusals: no key, a bad skill, a body over the limit.
    assert.equal((await rpc(gw.url, send('code'))).status, 401);
    const badSkill = await rpc(gw.url, send('make_coffee'), AUTH);
    assert.match(badSkill.body.error.message, /unknown skill/);
    const big = await rpc(gw.url, send('code', 'x'.repeat(100 * 1024)), AUTH);
    assert.equal(big.status, 413);

    // A streaming task holds the one slot: the gauges show it, and the next send is refused (queue full).
    const stream = await openSse(`${gw.url}/`, {
      headers: AUTH,
      body: { ...send('improve_code_quality'), method: 'message/stream' },
    });
    assert.equal(stream.status, 200);
    let taskId: string | undefined;
    for await (const ev of stream.events) {
      const result = JSON.parse(ev.data).result;
      taskId ??= result.taskId ?? result.id;
      if (result.status?.message?.metadata?.event === 'tool_call') break;
    }
    assert.ok(taskId);
    const during = await scrape(gw);
    assert.equal(during.value('a2a_gateway_active_tasks'), 1);
    assert.equal(during.value('a2a_gateway_queued_tasks'), 0);
    assert.equal(during.value('a2a_gateway_max_concurrent_tasks'), 1);
    assert.equal(during.value('a2a_gateway_sse_streams_open'), 1);
    const full = await rpc(gw.url, send('code'), AUTH);
    assert.equal(full.body.error.data.reason, 'QUEUE_FULL', JSON.stringify(full.body));

    // Cancel it: the stream ends, the task counts as canceled.
    const cancel = await rpc(
      gw.url,
      { jsonrpc: '2.0', id: 'c', method: 'tasks/cancel', params: { id: taskId } },
      AUTH,
    );
    assert.equal(cancel.body.result.status.state, 'canceled', JSON.stringify(cancel.body));
    for await (const _ of stream.events) {
      // drain to the end of the stream
    }

    const m = await scrape(gw);
    assert.equal(m.value('a2a_gateway_tasks_total', { status: 'completed' }), 3);
    assert.equal(m.value('a2a_gateway_tasks_total', { status: 'failed' }), 1);
    assert.equal(m.value('a2a_gateway_tasks_total', { status: 'canceled' }), 1);
    assert.equal(m.value('a2a_gateway_tasks_completed_total'), 3);
    assert.equal(m.value('a2a_gateway_tasks_failed_total'), 1);
    assert.equal(m.value('a2a_gateway_tasks_submitted_total', { skill: 'code', backend: 'good' }), 2);
    assert.equal(m.value('a2a_gateway_tasks_submitted_total', { skill: 'fix_bug', backend: 'bad' }), 1);

    // Histogram counts: one observation per ended task, in its skill, backend and status.
    const count = (labels: Record<string, string>) =>
      m.sum('a2a_gateway_task_duration_seconds_count', labels);
    assert.equal(count({ skill: 'code', backend: 'good', status: 'completed' }), 2);
    assert.equal(count({ skill: 'refactor_code', backend: 'good', status: 'completed' }), 1);
    assert.equal(count({ skill: 'fix_bug', backend: 'bad', status: 'failed' }), 1);
    assert.equal(count({ skill: 'improve_code_quality', backend: 'slow', status: 'canceled' }), 1);
    assert.equal(
      m.value('a2a_gateway_task_duration_seconds_bucket', {
        skill: 'code',
        backend: 'good',
        status: 'completed',
        le: '+Inf',
      }),
      2,
    );
    assert.equal(m.sum('a2a_gateway_queue_wait_seconds_count'), 5);
    assert.equal(m.sum('a2a_gateway_time_to_first_event_seconds_count'), 5);

    // Tools by tool and skill; tokens and cost by backend and model (three runs of `good` reported usage).
    assert.equal(m.value('a2a_gateway_tool_invocations_total', { tool: 'Edit', skill: 'code' }), 2);
    assert.equal(m.value('a2a_gateway_tool_invocations_total', { tool: 'Bash', skill: 'fix_bug' }), 1);
    assert.equal(
      m.value('a2a_gateway_tool_invocations_total', { tool: 'Read', skill: 'improve_code_quality' }),
      1,
    );
    const model = { backend: 'good', model: 'fake-model-1' };
    assert.equal(m.value('a2a_gateway_tokens_total', { ...model, kind: 'input' }), 3000);
    assert.equal(m.value('a2a_gateway_tokens_total', { ...model, kind: 'output' }), 600);
    assert.equal(m.value('a2a_gateway_tokens_total', { ...model, kind: 'cache_read' }), 150);
    assert.equal(m.value('a2a_gateway_cost_usd_total', model), 0.75);

    // Refusals by reason (the first test's two refused scrapes came before).
    const refused = (reason: string) =>
      m.value('a2a_gateway_refusals_total', { reason }) -
      before.value('a2a_gateway_refusals_total', { reason });
    assert.equal(refused('auth'), 1);
    assert.equal(refused('validation'), 1);
    assert.equal(refused('body_size'), 1);
    assert.equal(refused('queue_full'), 1);
    assert.equal(refused('rate_limit'), 0);

    // Gauges back down.
    assert.equal(m.value('a2a_gateway_active_tasks'), 0);
    assert.equal(m.value('a2a_gateway_sse_streams_open'), 0);
    assert.ok(m.value('a2a_gateway_uptime_seconds') >= before.value('a2a_gateway_uptime_seconds'));

    // HTTP by route template (never a raw path), A2A calls by method and version.
    assert.equal(
      m.value('a2a_gateway_http_requests_total', { method: 'POST', route: '/', status: '401' }),
      1,
    );
    assert.equal(
      m.value('a2a_gateway_http_requests_total', { method: 'POST', route: '/', status: '413' }),
      1,
    );
    assert.ok(
      m.value('a2a_gateway_http_requests_total', { method: 'GET', route: '/metrics', status: '200' }) >= 2,
    );
    assert.ok(m.sum('a2a_gateway_http_request_duration_seconds_count', { route: '/' }) >= 9);
    assert.equal(m.value('a2a_gateway_a2a_requests_total', { method: 'message/stream', version: '0.3' }), 1);
    assert.equal(m.value('a2a_gateway_a2a_requests_total', { method: 'tasks/cancel', version: '0.3' }), 1);
    for (const s of m.samples) {
      for (const [label, value] of Object.entries(s.labels)) {
        assert.ok(!value.includes(taskId), `${s.name} ${label} carries no task id`);
      }
    }
  });

  test('REST calls are counted by route template, and an unknown path as `other`', async () => {
    const id = 'no-such-task-4242';
    await fetch(`${gw.url}/v1/tasks/${id}`, { headers: AUTH });
    await fetch(`${gw.url}/tasks/${id}`, { headers: { ...AUTH, 'a2a-version': '1.0' } });
    await fetch(`${gw.url}/some/${id}/thing`, { headers: AUTH });
    const m = await scrape(gw);
    assert.equal(m.sum('a2a_gateway_http_requests_total', { route: '/v1/tasks/{id}' }), 1);
    assert.equal(m.sum('a2a_gateway_http_requests_total', { route: '/tasks/{id}' }), 1);
    assert.ok(m.sum('a2a_gateway_http_requests_total', { route: 'other' }) >= 1);
    assert.equal(m.value('a2a_gateway_a2a_requests_total', { method: 'GetTask', version: '1.0' }), 1);
    assert.ok(!m.samples.some((s) => Object.values(s.labels).some((v) => v.includes(id))));
  });
});

describe('metrics switched off, or on a port of their own', () => {
  test('METRICS_ENABLED=false: /metrics is not served', async () => {
    const gw = await startTestGateway({ env: { METRICS_ENABLED: 'false', STORE: 'memory' } });
    try {
      assert.equal((await fetch(`${gw.url}/metrics`)).status, 404);
      assert.equal((await fetch(`${gw.url}/health`)).status, 200);
    } finally {
      await gw.stop();
    }
  });

  test('METRICS_PORT: /metrics on its own listener without a key, and not on the main port', async () => {
    const gw = await startTestGateway({ env: { METRICS_PORT: '0', API_KEY: KEY, STORE: 'memory' } });
    try {
      const url = gw.gateway.metricsUrl();
      assert.ok(url);
      const res = await fetch(`${url}/metrics`);
      assert.equal(res.status, 200);
      const m = parseExposition(await res.text());
      assert.equal(m.value('a2a_gateway_active_tasks'), 0);
      assert.equal((await fetch(`${url}/`)).status, 404);
      assert.equal((await fetch(`${gw.url}/metrics`, { headers: AUTH })).status, 404);
    } finally {
      await gw.stop();
    }
  });
});
