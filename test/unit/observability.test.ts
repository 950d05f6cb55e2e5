import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TaskState } from '@a2a-js/sdk';
import { BoundedLabel } from '../../src/observability/labels.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { describeRequest } from '../../src/observability/routes.js';
import { TaskMetrics } from '../../src/observability/task-metrics.js';
import { traceContextFor, traceparentOf } from '../../src/observability/trace-context.js';
import { parseExposition } from '../helpers/prom-text.js';

describe('route templates', () => {
  const cases: Array<[string, string, string, string | undefined, string | undefined]> = [
    ['GET', '/v1/tasks/abc', '/v1/tasks/{id}', 'GetTask', 'abc'],
    ['POST', '/v1/tasks/abc:cancel', '/v1/tasks/{id}:cancel', 'CancelTask', 'abc'],
    ['GET', '/tasks/t%201', '/tasks/{id}', 'GetTask', 't 1'],
    ['POST', '/acme/message:send', '/{tenant}/message:send', 'SendMessage', undefined],
    [
      'GET',
      '/acme/tasks/xyz/pushNotificationConfigs/c1',
      '/{tenant}/tasks/{id}/pushNotificationConfigs/{configId}',
      'TaskPushNotificationConfig',
      'xyz',
    ],
    ['GET', '/health', '/health', undefined, undefined],
    ['GET', '/ui/app.js', '/ui/{asset}', undefined, undefined],
    ['GET', '/wp-admin/setup.php', 'other', undefined, undefined],
    ['GET', '/a/b/c/d/e', 'other', undefined, undefined],
  ];
  for (const [method, path, route, a2aMethod, taskId] of cases) {
    test(`${method} ${path} -> ${route}`, () => {
      const shape = describeRequest(method, path, undefined, undefined);
      assert.equal(shape.route, route);
      assert.equal(shape.a2aMethod, a2aMethod);
      assert.equal(shape.taskId, taskId);
    });
  }

  test('JSON-RPC: the method when known (else `other`), its version, and the task it names', () => {
    const get = describeRequest('POST', '/', { method: 'GetTask', params: { id: 't1' } }, '1.0');
    assert.deepEqual(get, { route: '/', a2aMethod: 'GetTask', a2aVersion: '1.0', taskId: 't1' });
    const legacy = describeRequest('POST', '/', { method: 'tasks/send', params: { id: 't2' } }, undefined);
    assert.equal(legacy.a2aVersion, '0.1');
    const odd = describeRequest('POST', '/', { method: 'x'.repeat(500), params: {} }, undefined);
    assert.equal(odd.a2aMethod, 'other');
    const reply = describeRequest(
      'POST',
      '/',
      { method: 'message/send', params: { message: { taskId: 't3' } } },
      undefined,
    );
    assert.equal(reply.taskId, 't3');
  });
});

describe('trace context', () => {
  test("a valid traceparent keeps the caller's trace and gets a span of the gateway's own", () => {
    const ctx = traceContextFor('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    assert.equal(ctx.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(ctx.parentSpanId, '00f067aa0ba902b7');
    assert.notEqual(ctx.spanId, '00f067aa0ba902b7');
    assert.match(traceparentOf(ctx), /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  });

  test('absent, malformed, all-zero or version ff: a new trace', () => {
    for (const header of [
      undefined,
      'nonsense',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
    ]) {
      const ctx = traceContextFor(header);
      assert.equal(ctx.parentSpanId, undefined, String(header));
      assert.match(ctx.traceId, /^[0-9a-f]{32}$/);
      assert.notEqual(ctx.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    }
  });
});

describe('bounded labels', () => {
  test('the first values as they are (sanitized), later ones `other`', () => {
    const label = new BoundedLabel(2);
    assert.equal(label.of('Edit'), 'Edit');
    assert.equal(label.of('mcp__srv__do thing'), 'mcp__srv__do_thing');
    assert.equal(label.of('Bash'), 'other');
    assert.equal(label.of('Edit'), 'Edit');
    assert.equal(label.of(undefined), 'unknown');
  });
});

describe('task metrics from the event stream', () => {
  test('a second terminal event for a task (a cancel racing the end) counts once', async () => {
    const metrics = new GatewayMetrics({
      queue: () => ({ running: 0, queued: 0, maxConcurrent: 1, maxQueued: 1 }),
      startedAt: Date.now(),
      openStreams: () => 0,
    });
    const observer = new TaskMetrics(metrics);
    const task = {
      id: 't1',
      contextId: 'c1',
      status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: '' },
      artifacts: [],
      history: [],
      metadata: { skill: 'code', backend: 'fake' },
    };
    const canceled = {
      taskId: 't1',
      contextId: 'c1',
      status: { state: TaskState.TASK_STATE_CANCELED, message: undefined, timestamp: '' },
      metadata: undefined,
    };
    observer.observe('t1', { kind: 'task', data: task });
    observer.observe('t1', { kind: 'statusUpdate', data: canceled });
    observer.observe('t1', { kind: 'statusUpdate', data: canceled });
    const m = parseExposition(await metrics.registry.metrics());
    assert.equal(m.value('a2a_gateway_tasks_total', { status: 'canceled' }), 1);
    assert.equal(m.value('a2a_gateway_tasks_submitted_total', { skill: 'code', backend: 'fake' }), 1);
  });
});
