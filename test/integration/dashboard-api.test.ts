// The dashboard's read API and pages over HTTP: the list and the live feed show a key its own tasks only (an
// admin key all of them), filters are checked and named, the feed follows a task to its end from the task event
// log, the page and its code are public with a strict CSP, and a browser is sent from / and /dashboard to /ui/
// while JSON-RPC on POST / and a non-browser GET / are unchanged.
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
  root: `root-${randomBytes(16).toString('hex')}`,
};
const CONFIG = `backends:
  quick: { type: fake, summary: ok, steps: [{ event: { type: usage, usage: { costUsd: 0.5 } } }] }
  slow: { type: fake, summary: slow done, steps: [{ sleepMs: 400 }, { event: { type: text, text: hi } }, { sleepMs: 400 }] }
skills:
  code: { backend: quick }
  fix_bug: { backend: slow }
`;
const as = (key: string) => ({ 'x-api-key': key });

/** Reads an SSE response until `until` returns true for the events so far (bounded by `timeoutMs`). */
async function readFeed(
  res: Response,
  until: (events: { event: string; data: any }[]) => boolean,
  timeoutMs = 10_000,
): Promise<{ event: string; data: any }[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: { event: string; data: any }[] = [];
  let buffer = '';
  const timer = setTimeout(() => void reader.cancel(), timeoutMs);
  try {
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
  return events;
}

describe('dashboard read API and pages', () => {
  let gw: TestGateway;
  let dir: ReturnType<typeof tempDir>;
  before(async () => {
    dir = tempDir();
    const keys = join(dir.dir, 'keys.yaml');
    writeFileSync(
      keys,
      `keys:
  - { id: alice, hash: "${hashKey(KEYS.alice)}", scopes: ["*"] }
  - { id: bob, hash: "${hashKey(KEYS.bob)}", scopes: ["*"] }
  - { id: root, hash: "${hashKey(KEYS.root)}", scopes: ["*", admin] }
`,
    );
    gw = await startTestGateway({ configYaml: CONFIG, env: { API_KEYS_FILE: keys } });
  });
  after(async () => {
    await gw.stop();
    dir.cleanup();
  });

  test("a key lists its own tasks with skill, backend, cost and duration; another key's are not there; admin sees both", async () => {
    const a = (await sendTask(gw.url, { skill: 'code', input: 'a', headers: as(KEYS.alice) })).body.result;
    const b = (await sendTask(gw.url, { skill: 'code', input: 'b', headers: as(KEYS.bob) })).body.result;
    const list = async (key: string, query = '') => {
      const res = await fetch(`${gw.url}/api/tasks${query}`, { headers: as(key) });
      assert.equal(res.status, 200);
      return ((await res.json()) as { tasks: any[] }).tasks;
    };
    const alice = await list(KEYS.alice);
    const row = alice.find((r) => r.id === a.id);
    assert.ok(row, JSON.stringify(alice));
    assert.equal(row.state, 'completed');
    assert.equal(row.skill, 'code');
    assert.equal(row.backend, 'quick');
    assert.equal(row.costUsd, 0.5);
    assert.equal(typeof row.durationMs, 'number');
    assert.match(row.createdAt, /^\d{4}-\d\d-\d\dT/);
    assert.ok(!alice.some((r) => r.id === b.id), 'bob’s task is not in alice’s list');
    const root = await list(KEYS.root);
    assert.ok(root.some((r) => r.id === a.id) && root.some((r) => r.id === b.id), 'admin sees all');
    assert.deepEqual(await list(KEYS.alice, '?skill=fix_bug'), []);
    assert.ok((await list(KEYS.alice, '?state=completed&backend=quick')).some((r) => r.id === a.id));
  });

  test('a bad filter is refused, naming the parameter; no key is refused', async () => {
    const bad = await fetch(`${gw.url}/api/tasks?state=done`, { headers: as(KEYS.alice) });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as any).error.message, /^state: expected one of submitted, working/);
    const limit = await fetch(`${gw.url}/api/tasks?limit=0`, { headers: as(KEYS.alice) });
    assert.match(
      ((await limit.json()) as any).error.message,
      /^limit: expected a whole number from 1 to 500/,
    );
    for (const path of ['/api/tasks', '/api/tasks/events', '/api/backends']) {
      assert.equal((await fetch(`${gw.url}${path}`)).status, 401, path);
    }
  });

  test("the feed sends a key's task as it runs and ends, with counts; never another key's task", async () => {
    const feed = await fetch(`${gw.url}/api/tasks/events`, { headers: as(KEYS.alice) });
    assert.equal(feed.status, 200);
    assert.match(feed.headers.get('content-type') ?? '', /^text\/event-stream/);
    const mine = await sendTask(gw.url, {
      skill: 'fix_bug',
      input: 'x',
      blocking: false,
      headers: as(KEYS.alice),
    });
    const theirs = await sendTask(gw.url, {
      skill: 'fix_bug',
      input: 'y',
      blocking: false,
      headers: as(KEYS.bob),
    });
    const id: string = mine.body.result.id;
    const events = await readFeed(feed, (evs) =>
      evs.some((e) => e.event === 'task' && e.data.id === id && e.data.state === 'completed'),
    );
    const states = events.filter((e) => e.event === 'task' && e.data.id === id).map((e) => e.data.state);
    assert.ok(states.includes('working'), states.join());
    assert.equal(states.at(-1), 'completed');
    const done = events.findLast((e) => e.event === 'task' && e.data.id === id)!.data;
    assert.equal(done.message, 'slow done');
    assert.equal(typeof done.durationMs, 'number');
    assert.ok(
      !events.some((e) => e.event === 'task' && e.data.id === theirs.body.result.id),
      'no task of bob',
    );
    assert.ok(events.some((e) => e.event === 'stats' && typeof e.data.active === 'number'));
  });

  test('the backends list says which backend each skill runs on and whether it is installed', async () => {
    const res = await fetch(`${gw.url}/api/backends`, { headers: as(KEYS.alice) });
    const { backends } = (await res.json()) as { backends: any[] };
    const quick = backends.find((b) => b.name === 'quick');
    assert.deepEqual(quick, { name: 'quick', type: 'fake', skills: ['code'], found: true });
    const droid = backends.find((b) => b.name === 'droid');
    if (droid && !droid.found) assert.match(droid.detail, /not installed/);
  });

  test('the page and its modules are public, with a strict CSP; a browser at / or /dashboard goes to /ui/', async () => {
    const page = await fetch(`${gw.url}/ui/`);
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    const html = await page.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.equal(
      (await fetch(`${gw.url}/ui/js/app.js`)).headers.get('content-type'),
      'text/javascript; charset=utf-8',
    );
    assert.equal((await fetch(`${gw.url}/ui/nope.js`)).status, 404);
    assert.equal((await fetch(`${gw.url}/ui/../package.json`)).status, 401);

    for (const [path, location] of [
      ['/', 'ui/'],
      ['/dashboard', './ui/'],
      ['/ui', 'ui/'],
    ]) {
      const res = await fetch(`${gw.url}${path}`, { headers: { accept: 'text/html' }, redirect: 'manual' });
      assert.equal(res.status, 302, path);
      assert.equal(res.headers.get('location'), location, path);
    }
    // Not a browser: unchanged (here: a key is needed).
    assert.equal((await fetch(`${gw.url}/`, { headers: { accept: 'application/json' } })).status, 401);
    const rpc = await fetch(`${gw.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/html', ...as(KEYS.alice) },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tasks/get', params: { id: 'none' } }),
    });
    assert.equal(((await rpc.json()) as any).error?.code, -32001);
  });
});
