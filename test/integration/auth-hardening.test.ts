/**
 * Authentication holes found by probing (issue 10, items 2 to 4): JWTs without a subject or an expiry, tokens
 * that live too long, and unthrottled guessing of keys.
 */
import { dropRedisKeys } from '../helpers/redis-keys.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { Redis } from 'ioredis';
import { rpc, sendTask, startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';

const BACKENDS = `
backends:
  quick: { type: fake, summary: ok }
  slow: { type: fake, summary: ok, steps: [{ sleepMs: 20000 }] }
skills:
  code: { backend: quick }
  refactor_code: { backend: slow }
`;

interface Idp {
  url: string;
  /** Signs the claims as given: no subject, expiry or issue time is added unless `std` says so. */
  sign(claims: JWTPayload, std?: { sub?: string; exp?: string | number; iat?: number }): Promise<string>;
  close(): void;
}

async function startIdp(): Promise<Idp> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const server: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    sign: (claims, std = {}) => {
      let jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer('https://idp.example')
        .setAudience('a2a-gateway');
      if (std.sub !== undefined) jwt = jwt.setSubject(std.sub);
      if (std.iat !== undefined) jwt = jwt.setIssuedAt(std.iat);
      if (std.exp !== undefined) jwt = jwt.setExpirationTime(std.exp);
      return jwt.sign(privateKey);
    },
    close: () => server.close(),
  };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('JWT bearer tokens: subject and expiry are required', () => {
  let idp: Idp;
  let gw: TestGateway;
  let viaClaim: TestGateway;
  before(async () => {
    idp = await startIdp();
    const env = {
      JWT_JWKS_URL: idp.url,
      JWT_ISSUER: 'https://idp.example',
      JWT_AUDIENCE: 'a2a-gateway',
      JWT_MAX_LIFETIME: '3600',
      AUTH_FAILURE_LIMIT: '1000',
    };
    gw = await startTestGateway({ env, configYaml: BACKENDS });
    viaClaim = await startTestGateway({
      env: { ...env, JWT_SUBJECT_CLAIM: 'client_id' },
      configYaml: BACKENDS,
    });
  });
  after(async () => {
    await gw.stop();
    await viaClaim.stop();
    idp.close();
  });

  test("tokens without a subject are refused, so token B can never read or cancel token A's task", async () => {
    const a = await idp.sign({ scope: '*' }, { exp: '10m' });
    const b = await idp.sign({ scope: '*', azp: 'other-client' }, { exp: '10m' });
    for (const token of [a, b]) {
      const res = await sendTask(gw.url, { skill: 'code', input: 'x', headers: bearer(token) });
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.match(res.body.error.message, /names no subject .*"sub"/);
    }
    const emptySub = await idp.sign({ scope: '*' }, { exp: '10m', sub: '' });
    assert.equal((await fetch(`${gw.url}/v1/tasks`, { headers: bearer(emptySub) })).status, 401);

    // Two callers with subjects are two principals: B is told A's task does not exist.
    const alice = await idp.sign({ scope: '*' }, { exp: '10m', sub: 'alice' });
    const bob = await idp.sign({ scope: '*' }, { exp: '10m', sub: 'bob' });
    const created = await sendTask(gw.url, {
      skill: 'refactor_code',
      input: 'x',
      blocking: false,
      headers: bearer(alice),
    });
    const taskId = created.body.result?.id as string;
    assert.ok(taskId, JSON.stringify(created.body));
    for (const method of ['tasks/get', 'tasks/cancel']) {
      const res = await rpc(gw.url, { jsonrpc: '2.0', id: 1, method, params: { id: taskId } }, bearer(bob));
      assert.equal(res.body.error?.code, -32001, `${method}: ${JSON.stringify(res.body)}`);
    }
    const own = await rpc(
      gw.url,
      { jsonrpc: '2.0', id: 2, method: 'tasks/cancel', params: { id: taskId } },
      bearer(alice),
    );
    assert.equal(own.body.result?.status?.state, 'canceled', JSON.stringify(own.body));
  });

  test('the subject may come from a configured claim (JWT_SUBJECT_CLAIM)', async () => {
    const one = await idp.sign({ scope: '*', client_id: 'svc-one' }, { exp: '10m' });
    const two = await idp.sign({ scope: '*', client_id: 'svc-two' }, { exp: '10m' });
    const none = await idp.sign({ scope: '*' }, { exp: '10m', sub: 'has-sub-but-no-client-id' });
    const created = await sendTask(viaClaim.url, { skill: 'code', input: 'x', headers: bearer(one) });
    assert.equal(created.body.result?.status?.state, 'completed', JSON.stringify(created.body));
    const other = await rpc(
      viaClaim.url,
      { jsonrpc: '2.0', id: 1, method: 'tasks/get', params: { id: created.body.result.id } },
      bearer(two),
    );
    assert.equal(other.body.error?.code, -32001);
    const refused = await sendTask(viaClaim.url, { skill: 'code', input: 'x', headers: bearer(none) });
    assert.equal(refused.status, 401);
    assert.match(refused.body.error.message, /"client_id" claim is required/);
  });

  test('a token without exp is refused; so is one that lives longer than JWT_MAX_LIFETIME', async () => {
    const forever = await idp.sign({ scope: '*' }, { sub: 'svc' });
    const noExp = await sendTask(gw.url, { skill: 'code', input: 'x', headers: bearer(forever) });
    assert.equal(noExp.status, 401);
    assert.match(noExp.body.error.message, /"exp"/);

    const now = Math.floor(Date.now() / 1000);
    const long = await idp.sign({ scope: '*' }, { sub: 'svc', iat: now, exp: now + 7200 });
    const tooLong = await fetch(`${gw.url}/v1/tasks`, { headers: bearer(long) });
    assert.equal(tooLong.status, 401);
    assert.match(
      ((await tooLong.json()) as { error: { message: string } }).error.message,
      /JWT_MAX_LIFETIME/,
    );
    // Backdating iat does not help: the remaining lifetime counts too.
    const backdated = await idp.sign({ scope: '*' }, { sub: 'svc', iat: now + 7000, exp: now + 7200 });
    assert.equal((await fetch(`${gw.url}/v1/tasks`, { headers: bearer(backdated) })).status, 401);

    const fine = await idp.sign({ scope: '*' }, { sub: 'svc', iat: now, exp: now + 1800 });
    const ok = await sendTask(gw.url, { skill: 'code', input: 'x', headers: bearer(fine) });
    assert.equal(ok.body.result?.status?.state, 'completed', JSON.stringify(ok.body));
  });
});

const KEY = `throttle-${randomBytes(12).toString('hex')}`;
const WRONG = { 'x-api-key': `wrong-${randomBytes(12).toString('hex')}` };

describe('failed authentication is throttled per client address', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      env: { API_KEY: KEY, AUTH_FAILURE_LIMIT: '5', AUTH_FAILURE_WINDOW: '2' },
      configYaml: BACKENDS,
    });
  });
  after(async () => {
    await gw.stop();
  });

  test('after 5 failures: 429 with Retry-After on every route, a right key included; probes stay open; the window ends', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${gw.url}/v1/tasks`, { headers: WRONG });
      assert.equal(res.status, 401, `failure ${i + 1}`);
    }
    const rest = await fetch(`${gw.url}/v1/tasks`, { headers: WRONG });
    assert.equal(rest.status, 429);
    const retry = Number(rest.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 2, `Retry-After ${retry}`);
    assert.match(((await rest.json()) as { error: { message: string } }).error.message, /too many failed/);

    const jsonRpc = await rpc(
      gw.url,
      { jsonrpc: '2.0', id: 'q1', method: 'tasks/get', params: { id: 'x' } },
      WRONG,
    );
    assert.equal(jsonRpc.status, 429);
    assert.equal(jsonRpc.body.id, 'q1');
    assert.equal(jsonRpc.body.error.code, -32000);
    assert.equal(jsonRpc.body.error.data.reason, 'AUTH_THROTTLED');

    const right = await fetch(`${gw.url}/v1/tasks`, { headers: { 'x-api-key': KEY } });
    assert.equal(right.status, 429, 'a right guess is not told apart while throttled');
    assert.equal((await fetch(`${gw.url}/health`)).status, 200);
    assert.equal((await fetch(`${gw.url}/.well-known/agent-card.json`)).status, 200);

    // The window is 2 s: the address may try again once it ends.
    const status = await waitFor(
      async () => {
        const res = await fetch(`${gw.url}/v1/tasks`, { headers: { 'x-api-key': KEY } });
        return res.status === 200 ? res.status : undefined;
      },
      6000,
      'the throttle window to end',
    );
    assert.equal(status, 200);
    // Counted as authentication refusals (5 x 401, 3 x 429 and more while waiting), none as the request rate limiter's.
    const metrics = await (await fetch(`${gw.url}/metrics`, { headers: { 'x-api-key': KEY } })).text();
    const refusals = (reason: string) =>
      Number(
        new RegExp(`^a2a_gateway_refusals_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(metrics)?.[1],
      );
    assert.equal(refusals('rate_limit'), 0, metrics.match(/^a2a_gateway_refusals_total.*$/gm)?.join('\n'));
    assert.ok(refusals('auth') >= 8, `auth refusals ${refusals('auth')}`);
  });
});

describe('the failure counts live in Redis when it is on', () => {
  const prefix = `harden-test-${randomBytes(4).toString('hex')}:`;
  const redisUrl = 'redis://127.0.0.1:6379/1';
  let a: TestGateway;
  let b: TestGateway;
  before(async () => {
    const env = {
      API_KEY: KEY,
      AUTH_FAILURE_LIMIT: '4',
      AUTH_FAILURE_WINDOW: '60',
      REDIS_ENABLED: 'true',
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
    };
    a = await startTestGateway({ env, configYaml: BACKENDS });
    b = await startTestGateway({ env, configYaml: BACKENDS });
  });
  after(async () => {
    await a.stop();
    await b.stop();
    await dropRedisKeys(redisUrl, prefix);
  });

  test('failures on two gateways sharing Redis add up', async () => {
    for (const gw of [a, b, a, b]) {
      assert.equal((await fetch(`${gw.url}/v1/tasks`, { headers: WRONG })).status, 401);
    }
    for (const gw of [a, b]) {
      const res = await fetch(`${gw.url}/v1/tasks`, { headers: { 'x-api-key': KEY } });
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers.get('retry-after')) > 50);
    }
    const redis = new Redis(redisUrl);
    try {
      assert.ok((await redis.keys(`${prefix}authfail:*`)).length >= 1, 'the count is kept in Redis');
    } finally {
      redis.disconnect();
    }
  });
});
