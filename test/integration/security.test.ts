import { dropRedisKeys } from '../helpers/redis-keys.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Redis } from 'ioredis';
import { hashKey } from '../../src/transport/auth.js';
import { PUBLIC_PATHS } from '../../src/transport/security.js';
import {
  FAKE_CLI_DIR,
  rpc,
  sendTask,
  spawnGateway,
  startTestGateway,
  tempDir,
  waitFor,
  type TestGateway,
} from '../helpers/gateway.js';
import { listRoutes } from '../helpers/routes.js';

const KEYS = {
  alice: `alice-${randomBytes(16).toString('hex')}`,
  bob: `bob-${randomBytes(16).toString('hex')}`,
  root: `root-${randomBytes(16).toString('hex')}`,
};

const BACKENDS = `
backends:
  quick: { type: fake, summary: ok }
  slow:
    type: command
    command: ${join(FAKE_CLI_DIR, 'hang.mjs')}
    args: ["--seconds", "30"]
skills:
  code: { backend: quick }
  refactor_code: { backend: slow }
`;

function keysFile(dir: string): string {
  const file = join(dir, 'keys.yaml');
  writeFileSync(
    file,
    `keys:
  - { id: alice, hash: "${hashKey(KEYS.alice)}", scopes: ["*"] }
  - { id: bob, hash: "${hashKey(KEYS.bob)}", scopes: [code] }
  - { id: root, hash: "${hashKey(KEYS.root)}", scopes: ["*", admin] }
`,
  );
  return file;
}

const as = (key: string) => ({ 'x-api-key': key });

function send(url: string, key: string, skill: string, extra: Record<string, unknown> = {}, blocking = true) {
  return sendTask(url, { skill, input: 'do it', message: extra, blocking, headers: as(key) });
}

describe('API keys, scopes and ownership', () => {
  let gw: TestGateway;
  let dir: ReturnType<typeof tempDir>;
  before(async () => {
    dir = tempDir();
    // The route walk fails authentication twice per route: the failure throttle is set above that here (it has
    // its own tests in auth-hardening.test.ts).
    gw = await startTestGateway({
      env: { API_KEYS_FILE: keysFile(dir.dir), AUTH_FAILURE_LIMIT: '1000' },
      configYaml: BACKENDS,
    });
  });
  after(async () => {
    await gw.stop();
    dir.cleanup();
  });

  test('every route of the app, walked from the router: no key and a wrong key get 401, a right key gets through', async () => {
    const routes = listRoutes(gw.gateway.app);
    const patterns = routes.map((r) => `${r.method} ${r.pattern}`);
    for (const expected of [
      'GET /health',
      'POST /',
      'POST /message\\:send',
      'GET /tasks/:taskId',
      'GET /v1/card',
    ]) {
      assert.ok(patterns.includes(expected), `the walk finds ${expected}`);
    }
    assert.ok(routes.length >= 40, `walked ${routes.length} routes`);
    for (const route of routes) {
      const call = (headers: Record<string, string>) =>
        fetch(`${gw.url}${route.path}`, {
          method: route.method,
          headers: { 'content-type': 'application/json', ...headers },
          ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { body: '{}' }),
        });
      const isPublic = PUBLIC_PATHS.has(route.path) && route.method === 'GET';
      const none = await call({});
      const wrong = await call({ 'x-api-key': 'not-a-key-at-all-1234' });
      const right = await call(as(KEYS.alice));
      const label = `${route.method} ${route.path}`;
      if (isPublic) {
        assert.ok(none.status < 400, `${label} is public (${none.status})`);
      } else {
        assert.equal(none.status, 401, `${label} without a key`);
        assert.equal(wrong.status, 401, `${label} with a wrong key`);
        assert.match(none.headers.get('www-authenticate') ?? '', /Bearer/);
      }
      assert.notEqual(right.status, 401, `${label} with alice's key`);
      assert.notEqual(right.status, 403, `${label} with alice's key`);
      assert.ok(right.status < 500, `${label} with alice's key: ${right.status}`);
    }
  });

  test('Authorization: Bearer works like X-API-Key', async () => {
    const res = await fetch(`${gw.url}/tasks`, {
      headers: { authorization: `Bearer ${KEYS.bob}`, 'a2a-version': '1.0' },
    });
    assert.equal(res.status, 200);
  });

  test("key B cannot get, list, cancel, subscribe to or reply to key A's task; admin sees it", async () => {
    const sent = await send(gw.url, KEYS.alice, 'refactor_code', {}, false);
    const taskId: string = sent.body.result.id;
    const contextId: string = sent.body.result.contextId;
    const asBob = (method: string, params: unknown) =>
      rpc(gw.url, { jsonrpc: '2.0', id: 2, method, params }, as(KEYS.bob));

    const get = await asBob('tasks/get', { id: taskId });
    assert.equal(get.body.error?.code, -32001, 'get: task not found');
    const cancel = await asBob('tasks/cancel', { id: taskId });
    assert.equal(cancel.body.error?.code, -32001, 'cancel: task not found');
    const sub = await fetch(`${gw.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...as(KEYS.bob) },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tasks/resubscribe', params: { id: taskId } }),
    });
    assert.match(await sub.text(), /-32001/, 'subscribe: task not found');
    const reply = await send(gw.url, KEYS.bob, 'code', { taskId, contextId });
    assert.equal(reply.body.error?.code, -32001, 'reply: task not found');
    const list = await fetch(`${gw.url}/tasks?contextId=${contextId}`, {
      headers: { ...as(KEYS.bob), 'a2a-version': '1.0' },
    });
    assert.deepEqual(((await list.json()) as { tasks: unknown[] }).tasks, [], 'list: not listed');
    const rest = await fetch(`${gw.url}/tasks/${taskId}`, {
      headers: { ...as(KEYS.bob), 'a2a-version': '1.0' },
    });
    assert.equal(rest.status, 404);

    const admin = await rpc(
      gw.url,
      { jsonrpc: '2.0', id: 4, method: 'tasks/get', params: { id: taskId } },
      as(KEYS.root),
    );
    assert.equal(admin.body.result?.id, taskId, 'admin sees every task');
    const own = await rpc(
      gw.url,
      { jsonrpc: '2.0', id: 5, method: 'tasks/cancel', params: { id: taskId } },
      as(KEYS.alice),
    );
    assert.equal(own.body.result?.status.state, 'canceled');
  });

  test("a skill outside a key's scope is refused (403 on REST)", async () => {
    const res = await send(gw.url, KEYS.bob, 'fix_bug');
    assert.equal(res.body.error?.code, -32043);
    assert.match(res.body.error.message, /key "bob" may not use skill fix_bug/);
    const rest = await fetch(`${gw.url}/message:send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'a2a-version': '1.0', ...as(KEYS.bob) },
      body: JSON.stringify({
        message: {
          messageId: 'r',
          role: 'ROLE_USER',
          parts: [{ text: 'x' }],
          metadata: { skill: 'refactor_code' },
        },
      }),
    });
    assert.equal(rest.status, 403);
    assert.equal((await send(gw.url, KEYS.bob, 'code')).body.result?.status.state, 'completed');
  });

  test('the card declares the security schemes; the extended card shows a key its own skills', async () => {
    const card = (await (
      await fetch(`${gw.url}/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } })
    ).json()) as any;
    assert.ok(card.securitySchemes.apiKey.apiKeySecurityScheme);
    assert.equal(card.securitySchemes.apiKey.apiKeySecurityScheme.name, 'X-API-Key');
    assert.equal(card.capabilities.extendedAgentCard, true);
    const ext = await fetch(`${gw.url}/extendedAgentCard`, {
      headers: { ...as(KEYS.bob), 'a2a-version': '1.0' },
    });
    assert.equal(ext.status, 200);
    assert.deepEqual(
      ((await ext.json()) as any).skills.map((s: any) => s.id),
      ['code'],
    );
    const anonymous = await fetch(`${gw.url}/extendedAgentCard`, { headers: { 'a2a-version': '1.0' } });
    assert.equal(anonymous.status, 401);
  });

  test('standard security headers are on every response; no CORS by default', async () => {
    const res = await fetch(`${gw.url}/health`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(res.headers.get('content-security-policy'));
    assert.ok(res.headers.get('x-frame-options'));
    assert.equal(res.headers.get('access-control-allow-origin'), null);
  });
});

describe('CORS', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ env: { CORS_ORIGINS: 'https://app.example' } });
  });
  after(async () => {
    await gw.stop();
  });

  /** A preflight with an Origin header (fetch may not set Origin, a forbidden header name, so node:http). */
  function preflight(origin: string): Promise<IncomingHttpHeaders> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(`${gw.url}/`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.headers);
      });
      req.on('error', reject);
      req.end();
    });
  }

  test('only the configured origins are allowed', async () => {
    assert.equal(
      (await preflight('https://app.example'))['access-control-allow-origin'],
      'https://app.example',
    );
    assert.equal((await preflight('https://evil.example'))['access-control-allow-origin'], undefined);
  });
});

describe('rate limits', () => {
  test('the 101st request in a minute is refused with Retry-After (JSON-RPC error and REST 429)', async () => {
    const gw = await startTestGateway({ env: { API_KEY: KEYS.root } });
    try {
      const results = await Promise.all(
        Array.from({ length: 100 }, () =>
          fetch(`${gw.url}/tasks`, { headers: { ...as(KEYS.root), 'a2a-version': '1.0' } }),
        ),
      );
      assert.deepEqual([...new Set(results.map((r) => r.status))], [200]);
      const rest = await fetch(`${gw.url}/tasks`, { headers: { ...as(KEYS.root), 'a2a-version': '1.0' } });
      assert.equal(rest.status, 429);
      assert.ok(Number(rest.headers.get('retry-after')) > 0);
      const rpcRes = await rpc(
        gw.url,
        { jsonrpc: '2.0', id: 1, method: 'tasks/get', params: { id: 'x' } },
        as(KEYS.root),
      );
      assert.equal(rpcRes.status, 429);
      assert.equal(rpcRes.body.error.code, -32000);
      assert.match(rpcRes.body.error.message, /rate limit exceeded/);
      assert.ok(Number(rpcRes.headers.get('retry-after')) > 0);
      const health = await fetch(`${gw.url}/health`);
      assert.equal(health.status, 200, 'probes are not rate limited');
    } finally {
      await gw.stop();
    }
  });

  test('two gateway processes on one Redis share the limit', async () => {
    const prefix = `a2a-gw-test-${randomBytes(6).toString('hex')}:`;
    const redisUrl = 'redis://127.0.0.1:6379/9';
    const tmp = tempDir();
    const env = {
      API_KEY: KEYS.root,
      REDIS_ENABLED: 'true',
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      RATE_LIMIT_PER_MINUTE: '10',
      LOG_LEVEL: 'info',
    };
    const a = await spawnGateway({ ...env, DATA_DIR: join(tmp.dir, 'a') });
    const b = await spawnGateway({ ...env, DATA_DIR: join(tmp.dir, 'b') });
    const redis = new Redis(redisUrl);
    try {
      const hit = (url: string) =>
        fetch(`${url}/tasks`, { headers: { ...as(KEYS.root), 'a2a-version': '1.0' } });
      const statuses: number[] = [];
      for (let i = 0; i < 6; i += 1) statuses.push((await hit(a.url)).status);
      for (let i = 0; i < 4; i += 1) statuses.push((await hit(b.url)).status);
      assert.deepEqual(statuses, Array(10).fill(200));
      assert.equal((await hit(a.url)).status, 429, 'the 11th, on either node, is over the shared limit');
      assert.equal((await hit(b.url)).status, 429);
      assert.ok((await redis.keys(`${prefix}*`)).length > 0, 'the counts live in Redis under the prefix');
    } finally {
      a.kill('SIGTERM');
      b.kill('SIGTERM');
      await Promise.all([a.exited, b.exited]);
      await dropRedisKeys(redisUrl, prefix);
      redis.disconnect();
      tmp.cleanup();
    }
  });
});

describe('binding without a key', () => {
  test('HOST=0.0.0.0 without a key listens on 127.0.0.1 only and says so; ALLOW_UNAUTHENTICATED=true opens it', async () => {
    const tmp = tempDir();
    const closed = await spawnGateway({ HOST: '0.0.0.0', DATA_DIR: join(tmp.dir, 'a') });
    try {
      assert.match(closed.url, /^http:\/\/127\.0\.0\.1:/);
      assert.match(closed.output(), /no API key is configured, so the gateway listens on 127\.0\.0\.1 only/);
    } finally {
      closed.kill('SIGTERM');
      await closed.exited;
    }
    const open = await spawnGateway({
      HOST: '0.0.0.0',
      ALLOW_UNAUTHENTICATED: 'true',
      DATA_DIR: join(tmp.dir, 'b'),
    });
    try {
      assert.match(open.url, /^http:\/\/0\.0\.0\.0:/);
    } finally {
      open.kill('SIGTERM');
      await open.exited;
      tmp.cleanup();
    }
  });
});

describe('JWT bearer tokens against a JWKS', () => {
  let jwks: Server;
  let gw: TestGateway;
  let sign: (claims: Record<string, unknown>, issuer?: string) => Promise<string>;
  before(async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const port = (jwks.address() as AddressInfo).port;
    sign = (claims, issuer = 'https://idp.example') =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(issuer)
        .setAudience('a2a-gateway')
        .setSubject('svc-1')
        .setExpirationTime('5m')
        .sign(privateKey);
    gw = await startTestGateway({
      env: {
        JWT_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`,
        JWT_ISSUER: 'https://idp.example',
        JWT_AUDIENCE: 'a2a-gateway',
      },
      configYaml: BACKENDS,
    });
  });
  after(async () => {
    await gw.stop();
    jwks.close();
  });

  test('a valid token with a scope claim may use its skills; a token from another issuer is refused', async () => {
    const token = await sign({ scope: 'code' });
    const ok = await rpc(
      gw.url,
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'message/send',
        params: {
          message: {
            kind: 'message',
            role: 'user',
            messageId: 'j1',
            parts: [{ kind: 'text', text: 'x' }],
            metadata: { skill: 'code' },
          },
        },
      },
      { authorization: `Bearer ${token}` },
    );
    assert.equal(ok.body.result?.status.state, 'completed', JSON.stringify(ok.body));
    const forbidden = await rpc(
      gw.url,
      {
        jsonrpc: '2.0',
        id: 2,
        method: 'message/send',
        params: {
          message: {
            kind: 'message',
            role: 'user',
            messageId: 'j2',
            parts: [{ kind: 'text', text: 'x' }],
            metadata: { skill: 'fix_bug' },
          },
        },
      },
      { authorization: `Bearer ${token}` },
    );
    assert.equal(forbidden.body.error?.code, -32043);
    const other = await fetch(`${gw.url}/tasks`, {
      headers: { authorization: `Bearer ${await sign({ scope: 'code' }, 'https://other.example')}` },
    });
    assert.equal(other.status, 401);
  });
});

describe('secrets stay out of children, logs and artifacts', () => {
  const SECRETS = {
    API_KEY: `gw-key-${randomBytes(12).toString('hex')}`,
    REDIS_PASSWORD: `redispw${randomBytes(8).toString('hex')}`,
    SERVICE_TOKEN: `svc-token-${randomBytes(12).toString('hex')}`,
    ANTHROPIC_API_KEY: `sk-ant-${randomBytes(12).toString('hex')}`,
  };
  let gw: TestGateway;
  before(async () => {
    const env = {
      API_KEY: SECRETS.API_KEY,
      REDIS_URL: `redis://:${SECRETS.REDIS_PASSWORD}@127.0.0.1:6379/9`,
      MY_SERVICE_TOKEN: SECRETS.SERVICE_TOKEN,
      ANTHROPIC_API_KEY: SECRETS.ANTHROPIC_API_KEY,
    };
    gw = await startTestGateway({
      env,
      childEnv: { ...process.env, ...env },
      // A careless config that asks to pass the gateway's own secrets through: they must still not arrive.
      configYaml: `
backends:
  env:
    type: command
    command: ${join(FAKE_CLI_DIR, 'print-env.mjs')}
    args: []
    passEnv: [API_KEY, REDIS_URL, ANTHROPIC_API_KEY]
skills:
  code: { backend: env }
`,
    });
  });
  after(async () => {
    await gw.stop();
  });

  test('a CLI that prints its environment shows no gateway secret; a secret in its output is redacted everywhere', async () => {
    const res = await send(gw.url, SECRETS.API_KEY, 'code');
    const task = res.body.result;
    assert.equal(task.status.state, 'completed', JSON.stringify(res.body));
    const printed: string = task.artifacts[0].parts[0].text;
    const childEnv = JSON.parse(printed) as Record<string, string>;
    assert.equal(childEnv.API_KEY, undefined, 'API_KEY never reaches a child');
    assert.equal(childEnv.REDIS_URL, undefined, 'REDIS_URL never reaches a child');
    assert.equal(childEnv.MY_SERVICE_TOKEN, undefined, 'nothing outside the allowlist reaches a child');
    assert.ok(childEnv.PATH, 'PATH does');
    // The model key is passed on purpose (passEnv) but is a known secret: the artifact shows it masked.
    assert.equal(childEnv.ANTHROPIC_API_KEY, '[REDACTED]');

    const got = await rpc(
      gw.url,
      { jsonrpc: '2.0', id: 9, method: 'tasks/get', params: { id: task.id } },
      as(SECRETS.API_KEY),
    );
    const stored = JSON.stringify(got.body);
    await waitFor(() => (gw.logs.text().includes('task ended') ? true : undefined));
    const logs = gw.logs.text();
    for (const [name, secret] of Object.entries(SECRETS)) {
      assert.ok(!stored.includes(secret), `${name} is not in the stored task`);
      assert.ok(!logs.includes(secret), `${name} is not in the logs`);
    }
  });
});

describe('OS limits per task', () => {
  const ALLOC = 'x = bytearray(300 * 1024 * 1024); print("allocated")';
  const config = `
backends:
  hungry:
    type: command
    command: /usr/bin/python3
    args: ["-c", ${JSON.stringify(ALLOC)}]
skills:
  code: { backend: hungry }
`;

  test('TASK_MAX_MEMORY_MB stops a task that allocates past it; without it the same task completes', async () => {
    const limited = await startTestGateway({ env: { TASK_MAX_MEMORY_MB: '128' }, configYaml: config });
    try {
      const res = await send(limited.url, 'unused', 'code');
      assert.equal(res.body.result?.status.state, 'failed', JSON.stringify(res.body));
      assert.match(res.body.result.status.message.parts[0].text, /MemoryError/);
    } finally {
      await limited.stop();
    }
    const free = await startTestGateway({ configYaml: config });
    try {
      const res = await send(free.url, 'unused', 'code');
      assert.equal(res.body.result?.status.state, 'completed', JSON.stringify(res.body));
      assert.equal(res.body.result.artifacts[0].parts[0].text, 'allocated');
    } finally {
      await free.stop();
    }
  });
});
