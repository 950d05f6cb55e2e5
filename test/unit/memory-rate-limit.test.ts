import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { rateLimit, type Store } from 'express-rate-limit';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { memoryRateLimit, storeRateLimit, StoreRateLimiter } from '../../src/transport/memory-rate-limit.js';
import { RedisRateStore } from '../../src/transport/redis-rate-store.js';
import { dropRedisKeys } from '../helpers/redis-keys.js';

const LIMIT = 3;
const skip = (req: Request): boolean => req.path === '/health' && req.method !== 'POST';
const keyOf = (req: Request): string => `key:${req.header('x-key') ?? 'none'}`;
const refuse = (_req: Request, res: Response): void => {
  res.status(429).json({ refused: true, retry: res.getHeader('Retry-After') });
};

async function serve(limiter: RequestHandler): Promise<{ url: string; close: () => Promise<void> }> {
  const app = express();
  app.use(limiter);
  app.use((_req, res) => {
    res.json({ ok: true });
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Status, body and the rate-limit headers; the seconds left (which may tick between two requests) as a range. */
async function answer(url: string, path: string, key: string, method = 'GET') {
  const res = await fetch(`${url}${path}`, { method, headers: { 'x-key': key } });
  const seconds = (value: string | null): string => {
    const n = Number(/(?:t=)?(\d+)$/.exec(value ?? '')?.[1] ?? NaN);
    return Number.isNaN(n) ? 'none' : n >= 0 && n <= 60 ? '0-60' : `bad ${n}`;
  };
  const body = (await res.json()) as Record<string, unknown>;
  if ('retry' in body) body.retry = seconds(String(body.retry));
  return {
    status: res.status,
    body,
    rateLimit: res.headers.get('ratelimit')?.replace(/t=\d+$/, 't=S') ?? null,
    rateLimitSeconds: seconds(res.headers.get('ratelimit')),
    policy: res.headers.get('ratelimit-policy'),
    retryAfter: seconds(res.headers.get('retry-after')),
  };
}

const STEPS: Array<[string, string, string?]> = [
  ['/', 'alice'],
  ['/x', 'alice'],
  ['/health', 'alice'],
  ['/', 'bob'],
  ['/', 'alice', 'POST'],
  ['/', 'alice'],
  ['/health', 'alice'],
  ['/health', 'alice', 'POST'],
  ['/', 'bob'],
  ['/', 'bob'],
  ['/', 'bob'],
  ['/', 'carol'],
];

/** express-rate-limit with draft-8 headers, on its memory store or the one given: what ours must answer as. */
function referenceLimit(store?: Store): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: LIMIT,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    ...(store ? { store } : {}),
    skip,
    keyGenerator: keyOf,
    handler: refuse,
  });
}

/** Walks {@link STEPS} on both servers; each answer must be the reference's. */
async function sameAnswers(referenceUrl: string, oursUrl: string): Promise<void> {
  for (const [i, [path, key, method]] of STEPS.entries()) {
    const expected = await answer(referenceUrl, path, key, method);
    const actual = await answer(oursUrl, path, key, method);
    assert.deepEqual(actual, expected, `step ${i}: ${method ?? 'GET'} ${path} as ${key}`);
  }
  // The walk above did reach the limit, and a skipped path carries no headers.
  assert.equal((await answer(oursUrl, '/', 'alice')).status, 429);
  assert.equal((await answer(oursUrl, '/health', 'alice')).rateLimit, null);
}

void describe('rate limit counted in Redis', () => {
  void test('answers as express-rate-limit over the same Redis store, with draft-8 headers', async () => {
    const url = 'redis://127.0.0.1:6379/1';
    const prefix = `rate-limit-test-${randomUUID().slice(0, 8)}:`;
    const redis = new Redis(url, { maxRetriesPerRequest: 1 });
    const storeOf = (name: string): RedisRateStore => {
      const store = new RedisRateStore(redis, `${prefix}${name}:`);
      void store.init({ windowMs: 60_000 } as Parameters<RedisRateStore['init']>[0]);
      return store;
    };
    const reference = await serve(referenceLimit(storeOf('reference')));
    const ours = await serve(
      storeRateLimit(
        { skip, keyOf, refuse, onStoreError: (err, _req, _res, next) => next(err) },
        new StoreRateLimiter(LIMIT, 60_000, storeOf('ours')),
      ),
    );
    try {
      await sameAnswers(reference.url, ours.url);
    } finally {
      await reference.close();
      await ours.close();
      redis.disconnect();
      await dropRedisKeys(url, prefix);
    }
  });
});

void describe('in-memory rate limit', () => {
  void test('answers as express-rate-limit with its memory store and draft-8 headers', async () => {
    const reference = await serve(referenceLimit());
    const ours = await serve(memoryRateLimit({ limit: LIMIT, windowMs: 60_000, skip, keyOf, refuse }));
    try {
      await sameAnswers(reference.url, ours.url);
    } finally {
      await reference.close();
      await ours.close();
    }
  });
});
