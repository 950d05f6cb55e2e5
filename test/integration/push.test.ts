// Push notifications: SSRF guard, pinned delivery, signatures, retries and order, the SDK sender and the stores.
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AgentCard, SendMessageRequest, TaskState, type StreamResponse, type Task } from '@a2a-js/sdk';
import {
  AgentEvent,
  DefaultRequestHandler,
  InMemoryTaskStore,
  type AgentExecutor,
  type ExecutionEventBus,
  type RequestContext,
} from '@a2a-js/sdk/server';
import { deliver } from '../../src/push/deliver.js';
import { GatewayPushSender, TOKEN_HEADER } from '../../src/push/notification-sender.js';
import { PushDispatcher, type PushDispatcherOptions, type PushJob } from '../../src/push/sender.js';
import {
  DELIVERY_ID_HEADER,
  HMAC_HEADER,
  PushSigner,
  SIGNATURE_HEADER,
  verifyPushHmac,
  verifyPushJwt,
} from '../../src/push/signing.js';
import { slackNotifier } from '../../src/push/slack.js';
import { MemoryPushConfigStore, SqlitePushConfigStore } from '../../src/push/store.js';
import { checkWebhookUrl, validateAllowlist, type UrlGuardOptions } from '../../src/push/url-guard.js';
import { agentMessage, artifactUpdate, newTask, statusUpdate, textPart } from '../../src/service/a2a.js';
import { SqliteTaskStore } from '../../src/stores/sqlite-store.js';
import { PushReceiver, RecordingLogger, type ReceivedPush } from '../helpers/push-receiver.js';
import { pushConfig, pushConfigStoreContract, pushContext } from '../contracts/push-config-store.js';
import { nextId } from '../helpers/tasks.js';

const LOCAL: UrlGuardOptions = { allow: ['127.0.0.1'] };
/** A resolver for names that must never reach real DNS. */
const noDns = (): Promise<string[]> => Promise.reject(new Error('no DNS in tests'));

function job(receiver: PushReceiver, fields: Partial<PushJob> = {}): PushJob {
  return {
    queueKey: 'q',
    taskId: 'task-1',
    configId: 'cfg-1',
    url: receiver.url(),
    body: '{"n":0}',
    contentType: 'application/json',
    headers: {},
    important: false,
    ...fields,
  };
}

function dispatcher(logger: RecordingLogger, opts: Partial<PushDispatcherOptions> = {}): PushDispatcher {
  return new PushDispatcher(
    { logger },
    { guard: LOCAL, baseDelayMs: 10, maxDelayMs: 50, timeoutMs: 2000, random: () => 0.5, ...opts },
  );
}

/** Bounded: resolves once `idle()` does, or fails the test. */
async function settled(d: PushDispatcher, timeoutMs = 5000): Promise<void> {
  await Promise.race([
    d.idle(),
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error('dispatcher not idle in time')), timeoutMs).unref(),
    ),
  ]);
}

void describe('SSRF guard', () => {
  const refused: readonly [string, string][] = [
    ['http://10.0.0.1/hook', 'private'],
    ['http://127.0.0.1:9/hook', 'loopback'],
    ['http://[::1]/hook', 'loopback'],
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://[fd00:ec2::254]/', 'metadata'],
    ['http://172.16.5.4/', 'private'],
    ['http://192.168.1.1/', 'private'],
    ['http://[fc00::1]/', 'private'],
    ['http://169.254.10.10/', 'link-local'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://224.0.0.1/', 'multicast'],
    ['http://[ff02::1]/', 'multicast'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://0/', 'unspecified'],
    ['http://[::]/', 'unspecified'],
    ['http://100.64.0.1/', 'CGNAT'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[::ffff:7f00:1]/', 'loopback'],
    ['http://[::ffff:10.0.0.1]/', 'private'],
    ['http://[::ffff:169.254.169.254]/', 'metadata'],
    ['http://2130706433/', 'loopback'],
    ['http://0x7f.1/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['http://[64:ff9b::a00:1]/', 'reserved'],
  ];
  for (const [url, why] of refused) {
    void test(`refuses ${url} (${why})`, async () => {
      const result = await checkWebhookUrl(url, { allow: [], resolve: noDns });
      assert.equal(result.ok, false);
      if (!result.ok) {
        assert.equal(result.code, 'blocked');
        assert.ok(result.reason.includes(why), result.reason);
      }
    });
  }

  void test('refuses other schemes and credentials in the URL before resolving anything', async () => {
    let lookups = 0;
    const resolve = (): Promise<string[]> => {
      lookups += 1;
      return Promise.resolve(['93.184.216.34']);
    };
    for (const [url, code] of [
      ['file:///etc/passwd', 'scheme'],
      ['ftp://example.com/', 'scheme'],
      ['gopher://127.0.0.1:6379/_INFO', 'scheme'],
      ['http://user:pw@example.com/', 'credentials'],
      ['http://user@example.com/', 'credentials'],
      ['not a url', 'invalid'],
    ] as const) {
      const result = await checkWebhookUrl(url, { allow: ['example.com'], resolve });
      assert.deepEqual(result.ok ? 'ok' : result.code, code, url);
    }
    assert.equal(lookups, 0);
  });

  void test('refuses a host name that resolves to a loopback or private address, on any of its addresses', async () => {
    const toLoopback = await checkWebhookUrl('https://hooks.example.com/a', {
      allow: [],
      resolve: () => Promise.resolve(['127.0.0.1']),
    });
    assert.equal(toLoopback.ok, false);
    if (!toLoopback.ok)
      assert.match(toLoopback.reason, /hooks\.example\.com resolves to 127\.0\.0\.1.*loopback/);
    const mixed = await checkWebhookUrl('https://hooks.example.com/a', {
      allow: [],
      resolve: () => Promise.resolve(['93.184.216.34', '10.1.2.3']),
    });
    assert.equal(mixed.ok, false, 'every resolved address must be allowed');
  });

  void test('refuses localhost through the system resolver', async () => {
    const result = await checkWebhookUrl('http://localhost:8080/hook', { allow: [] });
    assert.equal(result.ok, false);
  });

  void test('accepts a public address and pins the first one', async () => {
    const result = await checkWebhookUrl('https://hooks.example.com/a?x=1', {
      allow: [],
      resolve: () => Promise.resolve(['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946']),
    });
    assert.ok(result.ok);
    assert.equal(result.address, '93.184.216.34');
    assert.equal(result.family, 4);
  });

  void test('the allowlist names addresses, CIDRs or host names', async () => {
    const resolveToLoopback = (): Promise<string[]> => Promise.resolve(['127.0.0.1']);
    assert.ok((await checkWebhookUrl('http://127.0.0.1:1/', { allow: ['127.0.0.1'] })).ok);
    assert.ok((await checkWebhookUrl('http://[::1]:1/', { allow: ['::1'] })).ok);
    assert.ok((await checkWebhookUrl('http://10.9.8.7/', { allow: ['10.9.0.0/16'] })).ok);
    assert.equal((await checkWebhookUrl('http://10.10.8.7/', { allow: ['10.9.0.0/16'] })).ok, false);
    assert.ok(
      (
        await checkWebhookUrl('http://hooks.internal/', {
          allow: ['Hooks.Internal'],
          resolve: resolveToLoopback,
        })
      ).ok,
    );
    assert.equal(
      (
        await checkWebhookUrl('http://other.internal/', {
          allow: ['hooks.internal'],
          resolve: resolveToLoopback,
        })
      ).ok,
      false,
    );
  });

  void test('*.domain allows subdomains only; a bad entry fails with a readable error', async () => {
    const resolve = (): Promise<string[]> => Promise.resolve(['10.0.0.5']);
    assert.ok((await checkWebhookUrl('http://a.corp.test/', { allow: ['*.corp.test'], resolve })).ok);
    assert.equal((await checkWebhookUrl('http://corp.test/', { allow: ['*.corp.test'], resolve })).ok, false);
    assert.equal(
      (await checkWebhookUrl('http://evilcorp.test/', { allow: ['*.corp.test'], resolve })).ok,
      false,
    );
    assert.throws(() => validateAllowlist(['10.0.0.0/99']), /allowlist entry "10.0.0.0\/99"/);
    assert.throws(() => validateAllowlist(['http://x/']), /allowlist entry/);
  });

  void test('a name that does not resolve is a retryable refusal', async () => {
    const result = await checkWebhookUrl('http://nowhere.example/', { allow: [], resolve: noDns });
    assert.deepEqual(result.ok ? 'ok' : result.code, 'resolve');
  });
});

void describe('delivery', () => {
  let receiver: PushReceiver;
  before(async () => {
    receiver = await PushReceiver.start((_, push) =>
      push.path === '/big'
        ? { status: 200, body: 'x'.repeat(1024 * 1024) }
        : push.path === '/moved'
          ? { status: 302, headers: { Location: 'http://10.0.0.1/internal' } }
          : { status: 204 },
    );
  });
  after(async () => {
    await receiver.close();
  });

  void test('connects to the checked address, never asking DNS again, with the name in Host', async () => {
    const before = receiver.received.length;
    // `rebind.invalid` exists in no DNS: the request can only arrive if the pinned address is used.
    const result = await deliver(
      {
        ok: true,
        url: new URL(`http://rebind.invalid:${receiver.port}/pinned`),
        address: '127.0.0.1',
        family: 4,
      },
      '{}',
      { 'Content-Type': 'application/json' },
    );
    assert.deepEqual(result, { ok: true, status: 204 });
    const push = receiver.received[before];
    assert.equal(push?.path, '/pinned');
    assert.equal(push?.headers.host, `rebind.invalid:${receiver.port}`);
  });

  void test('DNS rebinding: the second answer of the resolver is never used', async () => {
    const answers = [['127.0.0.1'], ['203.0.113.7']];
    let lookups = 0;
    const logger = new RecordingLogger();
    const d = dispatcher(logger, {
      guard: {
        allow: ['127.0.0.1'],
        resolve: () => Promise.resolve(answers[lookups++] ?? []),
      },
    });
    const before = receiver.received.length;
    d.enqueue(job(receiver, { url: `http://hook.rebind.test:${receiver.port}/rebind` }));
    await settled(d);
    await d.close();
    assert.equal(lookups, 1, 'one check, one lookup; the connection does not resolve again');
    assert.equal(receiver.received[before]?.path, '/rebind');
  });

  void test('a redirect is not followed: the delivery fails without retries', async () => {
    const logger = new RecordingLogger();
    const d = dispatcher(logger);
    const before = receiver.received.length;
    d.enqueue(job(receiver, { url: receiver.url('/moved') }));
    await settled(d);
    await d.close();
    assert.equal(receiver.received.length, before + 1, 'one attempt, no retry, and nothing else reached');
    const failure = logger.lines.find((l) => l.level === 'warn');
    assert.match(JSON.stringify(failure?.obj), /HTTP 302: redirects are not followed/);
  });

  void test('a large response body is read up to the cap, then the connection is dropped', async () => {
    const result = await deliver(
      { ok: true, url: new URL(receiver.url('/big')), address: '127.0.0.1', family: 4 },
      '{}',
      {},
      { maxResponseBytes: 1024 },
    );
    assert.deepEqual(result, { ok: true, status: 200 });
  });

  void test('a receiver that never answers times out, retryably', async () => {
    const hanging = await PushReceiver.start(() => new Promise(() => undefined));
    try {
      const result = await deliver(
        { ok: true, url: new URL(hanging.url()), address: '127.0.0.1', family: 4 },
        '{}',
        {},
        { timeoutMs: 150 },
      );
      assert.equal(result.ok, false);
      if (!result.ok) {
        assert.equal(result.retryable, true);
        assert.match(result.error, /within 150 ms/);
      }
    } finally {
      await hanging.close();
    }
  });

  void test('the dispatcher refuses blocked URLs for good and never connects', async () => {
    const logger = new RecordingLogger();
    const d = dispatcher(logger, { guard: { allow: [], resolve: () => Promise.resolve(['127.0.0.1']) } });
    const before = receiver.received.length;
    for (const url of [
      receiver.url('/not-allowlisted'),
      `http://localhost.test:${receiver.port}/name-to-loopback`,
      'http://10.0.0.1/',
      'http://[::1]/',
      'http://169.254.169.254/',
      'file:///etc/passwd',
      'http://user:pw@example.com/',
    ]) {
      d.enqueue(job(receiver, { url, queueKey: url }));
    }
    await settled(d);
    await d.close();
    assert.equal(receiver.received.length, before);
    const refusals = logger.lines.filter((l) => l.level === 'warn');
    assert.equal(refusals.length, 7);
    for (const line of refusals) assert.equal((line.obj as { attempt: number }).attempt, 1);
  });
});

void describe('retries and order', () => {
  void test('a receiver that fails 3 times (503) then succeeds still gets the event, same delivery id', async () => {
    const receiver = await PushReceiver.start((i) => ({ status: i < 3 ? 503 : 200 }));
    const d = dispatcher(new RecordingLogger());
    try {
      d.enqueue(job(receiver));
      const pushes = await receiver.waitFor(4);
      await settled(d);
      assert.equal(receiver.received.length, 4);
      assert.equal(new Set(pushes.map((p) => p.headers[DELIVERY_ID_HEADER.toLowerCase()])).size, 1);
      assert.equal(d.pending, 0);
    } finally {
      await d.close();
      await receiver.close();
    }
  });

  void test('a later event is never delivered before an earlier one to the same webhook', async () => {
    // The first two attempts at the first event fail, so later events must wait behind it.
    const receiver = await PushReceiver.start((i) => ({ status: i < 2 ? 500 : 200 }));
    const d = dispatcher(new RecordingLogger());
    try {
      for (let n = 1; n <= 5; n++) d.enqueue(job(receiver, { body: `{"n":${n}}` }));
      await receiver.waitFor(7);
      await settled(d);
      const delivered = receiver.received.slice(2).map((p) => (JSON.parse(p.body) as { n: number }).n);
      assert.deepEqual(delivered, [1, 2, 3, 4, 5]);
    } finally {
      await d.close();
      await receiver.close();
    }
  });

  void test('a 4xx is final and gives up at once; maxAttempts bounds retryable failures', async () => {
    const receiver = await PushReceiver.start((_, push) => ({ status: push.path === '/gone' ? 410 : 503 }));
    const logger = new RecordingLogger();
    const d = dispatcher(logger, { maxAttempts: 3 });
    try {
      d.enqueue(job(receiver, { url: receiver.url('/gone'), queueKey: 'gone' }));
      d.enqueue(job(receiver, { url: receiver.url('/down'), queueKey: 'down' }));
      await settled(d);
      assert.equal(receiver.received.filter((p) => p.path === '/gone').length, 1);
      assert.equal(receiver.received.filter((p) => p.path === '/down').length, 3);
    } finally {
      await d.close();
      await receiver.close();
    }
  });

  void test('a full queue drops its oldest waiting non-terminal event, keeping the one in flight', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const receiver = await PushReceiver.start(async (i) => {
      if (i === 0) await held;
      return { status: 200 };
    });
    const logger = new RecordingLogger();
    const d = dispatcher(logger, { maxQueueLength: 3 });
    try {
      d.enqueue(job(receiver, { body: '{"n":1}' }));
      await receiver.waitFor(1);
      for (let n = 2; n <= 6; n++) d.enqueue(job(receiver, { body: `{"n":${n}}`, important: n === 5 }));
      release();
      await settled(d);
      const delivered = receiver.received.map((p) => (JSON.parse(p.body) as { n: number }).n);
      assert.deepEqual(delivered, [1, 5, 6]);
      assert.equal(logger.lines.filter((l) => l.msg?.includes('dropped')).length, 3);
    } finally {
      release();
      await d.close();
      await receiver.close();
    }
  });

  void test('close() stops retries: no attempt after it, nothing pending', async () => {
    const receiver = await PushReceiver.start(() => ({ status: 503 }));
    const d = dispatcher(new RecordingLogger(), { baseDelayMs: 30, maxDelayMs: 30, maxAttempts: 100 });
    try {
      d.enqueue(job(receiver));
      await receiver.waitFor(2);
      await d.close();
      const count = receiver.received.length;
      assert.equal(d.pending, 0);
      assert.equal(d.enqueue(job(receiver)), false, 'a closed dispatcher takes no jobs');
      // Several retry periods: had a timer survived, an attempt would have arrived.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(receiver.received.length, count);
    } finally {
      await receiver.close();
    }
  });
});

void describe('signatures', () => {
  void test('JWT signature verifies with the JWKS and binds the body, task, and URL', async () => {
    const signer = await PushSigner.generate({ issuer: 'https://gateway.example' });
    const body = '{"statusUpdate":{}}';
    const token = await signer.sign({ taskId: 't1', deliveryId: 'd1', body, url: 'https://r.example/h' });
    const ok = await verifyPushJwt(token, body, {
      jwks: signer.jwks(),
      audience: 'https://r.example/h',
      issuer: 'https://gateway.example',
    });
    assert.ok(ok.ok);
    if (ok.ok) {
      assert.equal(ok.value.task_id, 't1');
      assert.equal(ok.value.delivery_id, 'd1');
      assert.equal(typeof ok.value.jti, 'string');
    }
    assert.equal(
      (await verifyPushJwt(token, `${body} `, { jwks: signer.jwks() })).ok,
      false,
      'tampered body',
    );
    const other = await PushSigner.generate();
    assert.equal((await verifyPushJwt(token, body, { jwks: other.jwks() })).ok, false, 'unknown key');
    assert.equal(
      (await verifyPushJwt(token, body, { jwks: signer.jwks(), audience: 'https://evil.example/' })).ok,
      false,
      'another receiver',
    );
  });

  void test('a signing key from PEM or JWK keeps its key id; a non-P-256 key is refused', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const jwk = JSON.stringify(privateKey.export({ format: 'jwk' }));
    const a = await PushSigner.fromKey(pem);
    const b = await PushSigner.fromKey(jwk);
    assert.equal(a.kid, b.kid);
    assert.equal(a.jwks().keys[0]?.kid, a.kid);
    assert.equal(a.jwks().keys[0]?.d, undefined, 'the JWKS holds no private part');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    await assert.rejects(PushSigner.fromKey(rsa.toString()), /P-256/);
  });

  void test('HMAC verifies with the secret, not with another one, and not when stale', () => {
    const now = Math.floor(Date.now() / 1000);
    const header = `t=${now},v1=${hmac('s3cret', `${now}.{"a":1}`)}`;
    assert.ok(verifyPushHmac(header, '{"a":1}', 's3cret').ok);
    assert.equal(verifyPushHmac(header, '{"a":2}', 's3cret').ok, false);
    assert.equal(verifyPushHmac(header, '{"a":1}', 'other').ok, false);
    assert.equal(verifyPushHmac(header, '{"a":1}', 's3cret', { nowSec: now + 3600 }).ok, false);
    assert.equal(verifyPushHmac('garbage', '{"a":1}', 's3cret').ok, false);
  });
});

function hmac(secret: string, data: string): string {
  // Computed with node:crypto directly, independently of the code under test.
  return createHmac('sha256', secret).update(data).digest('hex');
}

/** Publishes what a gateway task does: the task, working, a result artifact, completed with a summary. */
class ScriptedExecutor implements AgentExecutor {
  execute(ctx: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const { taskId, contextId } = ctx;
    bus.publish(AgentEvent.task(newTask(taskId, contextId, [ctx.userMessage], { skill: 'fix_bug' })));
    bus.publish(AgentEvent.statusUpdate(statusUpdate(taskId, contextId, TaskState.TASK_STATE_WORKING)));
    bus.publish(
      AgentEvent.artifactUpdate(
        artifactUpdate(taskId, contextId, {
          artifactId: `${taskId}-result`,
          name: 'result',
          parts: [textPart('diff')],
        }),
      ),
    );
    const done = agentMessage(taskId, contextId, [textPart('Fixed the off-by-one\nand added a test')]);
    bus.publish(
      AgentEvent.statusUpdate(
        // The run details of a verified change that got a pull request, as the task run writes them.
        statusUpdate(taskId, contextId, TaskState.TASK_STATE_COMPLETED, done, {
          tests: { command: 'npm test', verdict: 'passed' },
          pullRequest: 'https://github.example/o/r/pull/7',
        }),
      ),
    );
    bus.finished();
    return Promise.resolve();
  }
  cancelTask(): Promise<void> {
    return Promise.resolve();
  }
}

const CARD = AgentCard.fromJSON({
  name: 'push-test',
  description: 'push test agent',
  version: '0.0.0',
  supportedInterfaces: [{ url: 'http://127.0.0.1/', protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
  capabilities: { streaming: true, pushNotifications: true },
  defaultInputModes: ['text/plain'],
  defaultOutputModes: ['text/plain'],
  skills: [],
});

function sendRequest(push: Record<string, unknown>): SendMessageRequest {
  return SendMessageRequest.fromJSON({
    message: { messageId: nextId('msg'), role: 'ROLE_USER', parts: [{ text: 'fix the bug' }] },
    configuration: { taskPushNotificationConfig: push },
  });
}

void describe('the SDK sender: every event of a task, per registered version', () => {
  let receiver: PushReceiver;
  let signer: PushSigner;
  let dir: string;
  before(async () => {
    receiver = await PushReceiver.start();
    signer = await PushSigner.generate();
    dir = await mkdtemp(join(tmpdir(), 'a2a-push-'));
  });
  after(async () => {
    await receiver.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function run(
    version: '1.0' | '0.3',
    path: string,
    store: MemoryPushConfigStore | SqlitePushConfigStore,
  ): Promise<{ task: Task; pushes: ReceivedPush[]; slack: ReceivedPush[]; logs: string }> {
    const logger = new RecordingLogger();
    const d = dispatcher(logger, { signer, hmacSecret: 'shh' });
    const sender = new GatewayPushSender({
      store,
      dispatcher: d,
      logger,
      onTaskEnd: [slackNotifier(receiver.url(`${path}/slack`), { dispatcher: d })],
    });
    const handler = new DefaultRequestHandler(
      CARD,
      new InMemoryTaskStore(),
      new ScriptedExecutor(),
      undefined,
      store,
      sender,
    );
    try {
      const result = await handler.sendMessage(
        sendRequest({
          url: receiver.url(path),
          token: 'tok-secret',
          authentication: { scheme: 'Bearer', credentials: 'cred-secret' },
        }),
        pushContext(version),
      );
      assert.ok('status' in result, 'a task');
      const task: Task = result;
      const isOurs = (p: ReceivedPush): boolean => p.path === path;
      const isSlack = (p: ReceivedPush): boolean => p.path === `${path}/slack`;
      await waitUntil(() => receiver.received.filter(isOurs).length >= 4 && receiver.received.some(isSlack));
      await settled(d);
      return {
        task,
        pushes: receiver.received.filter(isOurs),
        slack: receiver.received.filter(isSlack),
        logs: logger.text(),
      };
    } finally {
      await d.close();
      await store.close();
    }
  }

  void test('1.0: StreamResponse bodies as application/a2a+json, credentials, JWT and HMAC signatures', async () => {
    const { task, pushes, slack, logs } = await run('1.0', '/v1', new MemoryPushConfigStore());
    assert.equal(pushes.length, 4);
    const bodies = pushes.map((p) => JSON.parse(p.body) as Record<string, { status?: { state: string } }>);
    assert.deepEqual(
      bodies.map((b) => Object.keys(b)),
      [['task'], ['statusUpdate'], ['artifactUpdate'], ['statusUpdate']],
    );
    assert.deepEqual(
      [bodies[1]?.statusUpdate?.status?.state, bodies[3]?.statusUpdate?.status?.state],
      ['TASK_STATE_WORKING', 'TASK_STATE_COMPLETED'],
    );
    for (const push of pushes) {
      assert.equal(push.headers['content-type'], 'application/a2a+json');
      assert.equal(push.headers.authorization, 'Bearer cred-secret');
      assert.equal(push.headers[TOKEN_HEADER.toLowerCase()], 'tok-secret');
      const jwt = await verifyPushJwt(String(push.headers[SIGNATURE_HEADER.toLowerCase()]), push.body, {
        jwks: signer.jwks(),
        audience: receiver.url('/v1'),
      });
      assert.ok(jwt.ok, jwt.ok ? '' : jwt.reason);
      if (jwt.ok) assert.equal(jwt.value.task_id, task.id);
      assert.ok(verifyPushHmac(String(push.headers[HMAC_HEADER.toLowerCase()]), push.body, 'shh').ok);
    }
    assert.deepEqual(JSON.parse(slack[0]?.body ?? '{}'), {
      text: `fix_bug completed · task ${task.id} · tests passed · PR https://github.example/o/r/pull/7 · Fixed the off-by-one`,
    });
    // The push of the end carries the test verdict and the pull request in the status update's metadata.
    const end = bodies[3] as { statusUpdate?: { metadata?: Record<string, unknown> } };
    assert.deepEqual(end.statusUpdate?.metadata, {
      tests: { command: 'npm test', verdict: 'passed' },
      pullRequest: 'https://github.example/o/r/pull/7',
    });
    assert.ok(!/tok-secret|cred-secret/.test(logs), 'no credential in the logs');
  });

  void test('0.3 (SQLite store): bare kind-tagged Task bodies as application/json with the token header', async () => {
    const store = new SqlitePushConfigStore({ file: join(dir, 'push.db') });
    const { task, pushes } = await run('0.3', '/v03', store);
    assert.equal(pushes.length, 4);
    const bodies = pushes.map(
      (p) => JSON.parse(p.body) as { kind: string; id: string; status: { state: string } },
    );
    assert.deepEqual(
      bodies.map((b) => [b.kind, b.id, b.status.state]),
      [
        ['task', task.id, 'submitted'],
        ['task', task.id, 'working'],
        ['task', task.id, 'working'],
        ['task', task.id, 'completed'],
      ],
    );
    for (const push of pushes) {
      assert.equal(push.headers['content-type'], 'application/json');
      assert.equal(push.headers[TOKEN_HEADER.toLowerCase()], 'tok-secret');
      assert.equal(push.headers.authorization, 'Bearer cred-secret');
    }
  });

  void test('send() queues and returns without waiting for a slow receiver', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow = await PushReceiver.start(async () => {
      await held;
      return { status: 200 };
    });
    const store = new MemoryPushConfigStore();
    const d = dispatcher(new RecordingLogger());
    try {
      const taskId = nextId();
      await store.save(taskId, pushContext('1.0'), pushConfig({ url: slow.url() }));
      const sender = new GatewayPushSender({ store, dispatcher: d, logger: new RecordingLogger() });
      const event: StreamResponse = {
        payload: {
          $case: 'statusUpdate',
          value: statusUpdate(taskId, 'ctx', TaskState.TASK_STATE_WORKING),
        },
      };
      await sender.send(event, pushContext('1.0'));
      assert.equal(d.pending, 1, 'queued, not delivered yet');
      await slow.waitFor(1);
    } finally {
      release();
      await d.close();
      await slow.close();
    }
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

pushConfigStoreContract('memory', ({ scope }) => {
  const store = new MemoryPushConfigStore(scope ? { scope } : {});
  return Promise.resolve({ store, cleanup: () => store.close() });
});

pushConfigStoreContract('sqlite', async ({ scope }) => {
  const dir = await mkdtemp(join(tmpdir(), 'a2a-push-contract-'));
  const store = new SqlitePushConfigStore({ file: join(dir, 'push.db'), ...(scope ? { scope } : {}) });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

void describe('sqlite push store: the file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'a2a-push-file-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void test('configs and their wire versions survive reopening, in a file shared with the task store', async () => {
    const file = join(dir, 'nested', 'gateway.db');
    const tasks = new SqliteTaskStore({ file });
    const first = new SqlitePushConfigStore({ file });
    const taskId = nextId();
    await first.save(taskId, pushContext('0.3'), pushConfig({ token: 't' }));
    await first.close();
    await tasks.close();
    const reopenedTasks = new SqliteTaskStore({ file });
    const again = new SqlitePushConfigStore({ file });
    try {
      assert.deepEqual(
        (await again.loadWithMetadata(taskId, pushContext('1.0'))).map((s) => [
          s.config.id,
          s.config.token,
          s.wireVersion,
        ]),
        [[taskId, 't', '0.3']],
      );
      assert.equal(await reopenedTasks.ping(), true);
    } finally {
      await again.close();
      await reopenedTasks.close();
    }
  });
});
