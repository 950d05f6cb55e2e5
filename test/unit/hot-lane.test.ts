import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HOT_LANE_SETTING, hotLane, inHotLane } from '../../src/transport/hot-lane.js';

function request(method: string, url: string, laneOn = true): Request {
  return { method, url, app: { enabled: (name: string) => name === HOT_LANE_SETTING && laneOn } } as Request;
}

/** Runs the lane on one request; resolves with what ran, in order, and how the lane let go of it. */
function run(
  handlers: RequestHandler[],
  req = request('POST', '/'),
): Promise<{ ran: string[]; out: unknown }> {
  const ran: string[] = [];
  return new Promise((resolve) => {
    const tail: RequestHandler = (_req, _res, next) => {
      ran.push('tail');
      next();
    };
    const lane = hotLane({
      handlers: handlers.map((h, i) => (rq, rs, next) => {
        ran.push(`h${i}`);
        return h(rq, rs, next);
      }),
      tail,
      onError: (err, _req, _res, _next) => {
        ran.push('error');
        resolve({ ran, out: err });
      },
    });
    const next: NextFunction = (err?: unknown) => resolve({ ran, out: err ?? 'next' });
    void lane(req, {} as Response, next);
  });
}

const pass: RequestHandler = (_req, _res, next) => next();

void describe('hot lane', () => {
  void test('takes JSON-RPC calls and REST reads of one task, nothing else', () => {
    assert.equal(inHotLane(request('POST', '/')), true);
    assert.equal(inHotLane(request('GET', '/tasks/abc')), true);
    assert.equal(inHotLane(request('GET', '/tasks/abc?tenant=x')), true);
    for (const [method, url] of [
      ['GET', '/'],
      ['POST', '/?x=1'],
      ['POST', '/message:send'],
      ['GET', '/tasks'],
      ['GET', '/tasks/abc/pushNotificationConfigs'],
      ['GET', '/v1/tasks/abc'],
      ['GET', '/health'],
      ['DELETE', '/tasks/abc'],
    ] as const)
      assert.equal(inHotLane(request(method, url)), false, `${method} ${url}`);
  });

  void test('runs every handler in order, then the tail, then lets the app go on', async () => {
    assert.deepEqual(await run([pass, pass, pass]), { ran: ['h0', 'h1', 'h2', 'tail'], out: 'next' });
  });

  void test('a request outside the lane, or with the lane off, goes straight on', async () => {
    assert.deepEqual(await run([pass], request('GET', '/health')), { ran: [], out: 'next' });
    assert.deepEqual(await run([pass], request('POST', '/', false)), { ran: [], out: 'next' });
  });

  void test('a handler that answers ends the walk', async () => {
    const answers: RequestHandler = () => undefined;
    const result = await Promise.race([
      run([pass, answers, pass]),
      new Promise((resolve) => setImmediate(() => resolve('stopped'))),
    ]);
    assert.equal(result, 'stopped');
  });

  void test('next(err), a throw and a rejection go to the error handler and stop the walk', async () => {
    const boom = new Error('boom');
    assert.deepEqual(await run([pass, (_q, _s, next) => next(boom), pass]), {
      ran: ['h0', 'h1', 'error'],
      out: boom,
    });
    const thrown = await run([
      () => {
        throw boom;
      },
      pass,
    ]);
    assert.deepEqual(thrown, { ran: ['h0', 'error'], out: boom });
    const rejected = await run([() => Promise.reject(boom), pass]);
    assert.deepEqual(rejected, { ran: ['h0', 'error'], out: boom });
  });

  void test("next('route') goes on; next('router') leaves the app's router", async () => {
    assert.deepEqual(await run([(_q, _s, next) => next('route'), pass]), {
      ran: ['h0', 'h1', 'tail'],
      out: 'next',
    });
    assert.deepEqual(await run([(_q, _s, next) => next('router'), pass]), { ran: ['h0'], out: 'router' });
  });
});
