// The dashboard in Debian's Chromium (driven by playwright-core), against a gateway started in the test: a task
// sent from the generated form streams its events and completes with a diff; the live list follows it without a
// reload; another task is canceled; a permission request and a question are answered; the keyboard reaches
// everything; text meets 4.5:1 contrast; with keys configured nothing shows without the right key; and it all works
// through real nginx serving the gateway under a path.
// Screenshots go to test-artifacts/browser/.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { hashKey } from '../../src/transport/auth.js';
import { startNginx } from '../deploy/nginx-proxy.js';
import { launchBrowser, contrastReport, type TestBrowser } from '../helpers/browser.js';
import {
  FAKE_CLI_DIR,
  rpc,
  sendTask,
  startTestGateway,
  tempDir,
  type TestGateway,
} from '../helpers/gateway.js';

// What the callbacks run in the page use; the test project has no DOM types (they would change Node's fetch types).
declare const document: any;
declare const sessionStorage: { getItem(key: string): string | null };
declare function getComputedStyle(el: unknown): { outlineStyle: string };

const STREAMER = join(FAKE_CLI_DIR, 'stream-edit.mjs');
const ASKER = join(FAKE_CLI_DIR, 'claude-asks.mjs');
const CONFIG = `backends:
  streamer:
    type: command
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(STREAMER)}, '{prompt}']
    output: jsonl
    env: { FAKE_PAUSE_MS: '700' }
  asker: { type: claude, command: ${JSON.stringify(ASKER)} }
skills:
  fix_bug: { backend: streamer }
  code: { backend: asker, permissions: ask }
`;
const WAIT = 20_000;

// One Chromium for the file (a fresh profile); each test opens its own pages.
let browser: TestBrowser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Waits until the page's task state badge says `state`. */
async function stateIs(page: Page, state: string): Promise<void> {
  await page.waitForFunction((s) => document.querySelector('#task-state')?.textContent === s, state, {
    timeout: WAIT,
  });
}

function gitRepo(dir: string): void {
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: dir });
  git('init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'package.json'), '{ "name": "demo" }\n');
  git('add', '.');
  git('commit', '-qm', 'init');
}

describe('dashboard in Chromium (no key configured)', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ configYaml: CONFIG, env: { INPUT_TIMEOUT: '60' } });
    gitRepo(gw.workDir);
  });
  after(async () => {
    await gw?.stop();
  });

  test('a browser opening / or /dashboard lands on the dashboard; JSON-RPC on POST / still works', async () => {
    const page = await browser.newPage();
    await page.goto(`${gw.url}/dashboard`);
    assert.equal(new URL(page.url()).pathname, '/ui/');
    await page.goto(`${gw.url}/`);
    assert.equal(new URL(page.url()).pathname, '/ui/');
    await page.waitForSelector('table.tasks');
    const rpc = await fetch(`${gw.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/html, application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tasks/get', params: { id: 'nope' } }),
    });
    assert.equal(((await rpc.json()) as { error?: { code: number } }).error?.code, -32001);
    await page.close();
  });

  test('a task sent from the form streams its events, completes, and shows its diff; the open list follows it live', async () => {
    const list = await browser.newPage();
    await list.goto(`${gw.url}/ui/`);
    await list.waitForSelector('#task-rows');

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(msg.text());
    });
    await page.goto(`${gw.url}/ui/#/new/fix_bug`);
    await page.waitForSelector('#new-task');
    // The form comes from the skill's input schema: its required field first, labelled, with help text.
    const label = await page.textContent('label[for="input-bug_description"]');
    assert.match(label ?? '', /Bug description.*required/);
    assert.ok(await page.$('#input-workdir'), 'workdir field');
    assert.ok(await page.$('input#input-apply[type="checkbox"]'), 'apply is a checkbox');
    // Labels read as words, whatever the property's case (fixAttempts, test_command).
    assert.match((await page.textContent('label[for="input-fixAttempts"]')) ?? '', /^Fix attempts/);
    assert.match((await page.textContent('label[for="input-test_command"]')) ?? '', /^Test command/);
    await page.fill('#input-bug_description', 'greet() is missing');
    await page.fill('#input-workdir', gw.workDir);
    await browser.shot(page, '01-new-task-form');
    await page.click('button[type="submit"]');

    await page.waitForURL(/#\/task\//, { timeout: WAIT });
    const id = decodeURIComponent(page.url().split('#/task/')[1] ?? '');
    // Streaming: the agent's tool call is on the page while the task is still working.
    await page.waitForFunction(
      () =>
        document.querySelector('#task-state')?.textContent === 'working' &&
        [...document.querySelectorAll('.event.ev-tool')].some((e) => e.textContent?.includes('Read')),
      undefined,
      { timeout: WAIT },
    );
    await browser.shot(page, '02-task-streaming');
    // The list in the other tab shows the task without a reload, working, then completed with its cost.
    await list.waitForSelector(`tr[data-id="${id}"]`, { timeout: WAIT });

    await stateIs(page, 'completed');
    assert.match((await page.textContent('#summary')) ?? '', /Added a greet\(name\) function/);
    const details = (await page.textContent('#task-details')) ?? '';
    assert.match(details, /\$0\.0123/);
    assert.match(details, /1,200 in, 340 out/);
    assert.match(details, new RegExp(gw.workDir.replace(/[/.]/g, '\\$&')));
    const kinds = await page.$$eval('.timeline .event .event-kind', (els) => els.map((e) => e.textContent));
    assert.ok(kinds.includes('Agent'), kinds.join());
    assert.ok(kinds.includes('State: completed'), kinds.join());

    // The diff: a file list and the file's lines, added lines marked, code highlighted.
    await page.waitForSelector('#diff-files');
    assert.match((await page.textContent('#diff-files')) ?? '', /greeting\.ts\s+added\s+\+4\s+−0/);
    await page.click('#diff-files button');
    const focused = await page.evaluate(() => document.activeElement?.getAttribute('aria-label'));
    assert.equal(focused, 'Changes to greeting.ts');
    const added = await page.$$eval('pre.diff .line.add', (els) => els.map((e) => e.textContent));
    assert.ok(
      added.some((l) => l?.includes('export function greet')),
      added.join('\n'),
    );
    assert.ok(await page.$('pre.diff .line.hunk'), 'hunk header marked');
    assert.ok(await page.$('pre.diff .line.add .tok-keyword'), 'keywords highlighted');
    // No apply action in A2A after the fact: the page says how, with the command.
    assert.match((await page.textContent('#apply-command')) ?? '', /git -C .+ apply changes\.diff/);
    await browser.shot(page, '03-task-completed-diff');

    await list.waitForFunction(
      (taskId) =>
        document.querySelector(`tr[data-id="${taskId}"]`)?.getAttribute('data-state') === 'completed',
      id,
      { timeout: WAIT },
    );
    const row = (await list.textContent(`tr[data-id="${id}"]`)) ?? '';
    assert.match(row, /fix_bug/);
    assert.match(row, /streamer/);
    assert.match(row, /\$0\.0123/);
    await browser.shot(list, '04-task-list');
    assert.deepEqual(errors, []);
    await page.close();
    await list.close();
  });

  test('cancel stops a running task; the list filter shows it among the canceled', async () => {
    const sent = await sendTask(gw.url, {
      skill: 'fix_bug',
      input: { bug_description: 'fake:slow take your time', workdir: gw.workDir },
      blocking: false,
    });
    const id: string = sent.body.result.id;
    const page = await browser.newPage();
    await page.goto(`${gw.url}/ui/#/task/${id}`);
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('.event.ev-agent')].some((e) =>
          e.textContent?.includes('take a while'),
        ),
      undefined,
      { timeout: WAIT },
    );
    await page.click('#cancel-task');
    await stateIs(page, 'canceled');
    assert.ok(await page.isHidden('#cancel-task'), 'no cancel button on a canceled task');
    await page.waitForFunction(
      () => [...document.querySelectorAll('.event-kind')].some((e) => e.textContent === 'State: canceled'),
      undefined,
      { timeout: WAIT },
    );
    await browser.shot(page, '05-task-canceled');

    await page.goto(`${gw.url}/ui/#/?state=canceled`);
    await page.waitForSelector(`tr[data-id="${id}"]`, { timeout: WAIT });
    const states = await page.$$eval('#task-rows tr[data-state]', (rows) =>
      rows.map((r) => r.getAttribute('data-state')),
    );
    assert.ok(states.length >= 1 && states.every((s) => s === 'canceled'), states.join());
    await page.selectOption('#filter-state', 'completed');
    await page.waitForFunction((taskId) => !document.querySelector(`tr[data-id="${taskId}"]`), id, {
      timeout: WAIT,
    });
    await page.close();
  });

  test('a permission request is answered with Allow, and a question with one of its options', async () => {
    const page = await browser.newPage();
    await page.goto(`${gw.url}/ui/#/new/code`);
    await page.waitForSelector('#new-task');
    await page.fill('textarea#input-request, #new-task textarea', 'make a file');
    await page.click('button[type="submit"]');
    await page.waitForURL(/#\/task\//, { timeout: WAIT });
    await page.waitForSelector('#reply', { timeout: WAIT });
    assert.match((await page.textContent('#reply')) ?? '', /Allow Bash: touch asked\.txt\?/);
    await browser.shot(page, '06-permission-request');
    await page.click('#reply button:has-text("Allow")');
    await stateIs(page, 'completed');
    assert.equal(await page.textContent('#summary'), 'allowed');
    assert.equal(await page.$('#reply'), null);

    await page.goto(`${gw.url}/ui/#/new/code`);
    await page.waitForSelector('#new-task');
    await page.fill('#new-task textarea', 'fake:question pick one');
    await page.click('button[type="submit"]');
    await page.waitForSelector('#reply', { timeout: WAIT });
    assert.match((await page.textContent('#reply')) ?? '', /Which greeting\?/);
    await page.click('#reply button:has-text("hello")');
    await stateIs(page, 'completed');
    assert.equal(await page.textContent('#summary'), 'answer: {"Which greeting?":"hello"}');
    await page.close();
  });

  test('the keyboard reaches the filters and a task, focus is visible, and text has 4.5:1 contrast', async () => {
    const page = await browser.newPage();
    await page.goto(`${gw.url}/ui/`);
    await page.waitForSelector('#task-rows tr[data-id]');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.equal(outline, 'solid', 'focus is visible');
    // Tab on until a task link has focus (bounded), then Enter opens it.
    let reached = false;
    for (let i = 0; i < 30 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(
        () =>
          document.activeElement?.closest('#task-rows') !== null && document.activeElement?.tagName === 'A',
      );
    }
    assert.ok(reached, 'a task link is reachable with Tab');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#task-details');
    for (const [name, url] of [
      ['list', `${gw.url}/ui/`],
      ['task', page.url()],
      ['form', `${gw.url}/ui/#/new/fix_bug`],
    ] as const) {
      await page.goto(url);
      await page.waitForSelector('#task-rows tr, #timeline li, #new-task', { timeout: WAIT });
      const report = await contrastReport(page);
      assert.ok(report.checked > 10, `${name}: checked ${report.checked} elements`);
      assert.deepEqual(report.bad, [], `${name}: low contrast`);
    }
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${gw.url}/ui/`);
    await page.waitForSelector('#task-rows tr[data-id]');
    assert.deepEqual((await contrastReport(page)).bad, [], 'dark scheme: low contrast');
    await page.close();
  });
});

describe('dashboard in Chromium (keys configured)', () => {
  const KEY = `ui-${randomBytes(16).toString('hex')}`;
  let gw: TestGateway;
  let dir: ReturnType<typeof tempDir>;
  before(async () => {
    dir = tempDir();
    const keys = join(dir.dir, 'keys.yaml');
    writeFileSync(keys, `keys:\n  - { id: ui, hash: "${hashKey(KEY)}", scopes: ["*"] }\n`);
    gw = await startTestGateway({ configYaml: CONFIG, env: { API_KEYS_FILE: keys } });
  });
  after(async () => {
    await gw?.stop();
    dir?.cleanup();
  });

  test('refuses without a key and with a wrong one; the right key opens it for the session', async () => {
    const page = await browser.newPage();
    await page.goto(`${gw.url}/ui/`);
    await page.waitForSelector('#key-form');
    assert.equal(await page.$('table.tasks'), null, 'no task list without a key');
    const api = await page.evaluate(async () => (await fetch('../api/tasks')).status);
    assert.equal(api, 401);
    await browser.shot(page, '07-key-required');

    await page.fill('#api-key', 'not-the-key');
    await page.click('#key-form button[type="submit"]');
    await page.waitForSelector('#key-error');
    assert.match((await page.textContent('#key-error')) ?? '', /refused/);
    assert.equal(await page.$('table.tasks'), null);

    await page.fill('#api-key', KEY);
    await page.click('#key-form button[type="submit"]');
    await page.waitForSelector('table.tasks');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('a2a-gateway.api-key')), KEY);
    // A reload keeps the session's key; the key never lands in the URL.
    await page.reload();
    await page.waitForSelector('table.tasks');
    assert.ok(!page.url().includes(KEY));
    await page.click('#sign-out');
    await page.waitForSelector('#key-form');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('a2a-gateway.api-key')), null);
    await page.close();
  });
});

/** A free port on 127.0.0.1 (closed again, for nginx to take). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Real nginx in the foreground serving the gateway under /gw/, as a proxy that mounts it under a path would
 * (the shipped deploy/nginx config mounts it at /; that one is tested below too). Ended by pid.
 */
async function startPrefixNginx(
  upstream: string,
  dir: string,
  port?: number,
): Promise<{ url: string; port: number; stop: () => Promise<void> }> {
  port ??= await freePort();
  // nginx started as root runs its workers unprivileged: they must reach the temp directories.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'tmp'), { recursive: true, mode: 0o777 });
  chmodSync(join(dir, 'tmp'), 0o777);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log stderr notice;
events { worker_connections 64; }
http {
  access_log off;
${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/tmp/${t};`).join('\n')}
  server {
    listen 127.0.0.1:${port};
    location /gw/ {
      proxy_pass ${upstream}/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 300s;
    }
  }
}
`,
  );
  const child = spawn('nginx', ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let log = '';
  // nginx logs "start worker process" once its socket is bound: the event to wait on.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nginx did not start within 10 s:\n${log}`)), 10_000);
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('start worker process')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`nginx exited before it started:\n${log}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}/gw/`,
    port,
    // SIGTERM: nginx's fast shutdown, which cuts open streams as a proxy restart does.
    stop: async () => {
      if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
      await exited;
    },
  };
}

describe('dashboard through nginx', () => {
  let gw: TestGateway;
  let dir: ReturnType<typeof tempDir>;
  before(async () => {
    dir = tempDir('a2a-gw-nginx-');
    gw = await startTestGateway({ configYaml: CONFIG });
  });
  after(async () => {
    await gw?.stop();
    dir?.cleanup();
  });

  test('with the shipped deploy/nginx config: a task streams and completes, and the list follows it', async () => {
    const proxy = await startNginx(new URL(gw.url));
    try {
      const list = await browser.newPage();
      await list.goto(`${proxy.url}/`);
      assert.equal(new URL(list.url()).pathname, '/ui/');
      await list.waitForSelector('#task-rows');
      await list.waitForSelector('#health.ok');

      const page = await browser.newPage();
      await page.goto(`${proxy.url}/ui/#/new/fix_bug`);
      await page.waitForSelector('#new-task');
      await page.fill('#input-bug_description', 'greet() is missing');
      await page.click('button[type="submit"]');
      await page.waitForURL(/#\/task\//, { timeout: WAIT });
      const id = decodeURIComponent(page.url().split('#/task/')[1] ?? '');
      await page.waitForFunction(
        () =>
          document.querySelector('#task-state')?.textContent === 'working' &&
          [...document.querySelectorAll('.event.ev-tool')].some((e: any) => e.textContent?.includes('Read')),
        undefined,
        { timeout: WAIT },
      );
      await stateIs(page, 'completed');
      await page.waitForSelector('#diff-files');
      await list.waitForFunction(
        (taskId) =>
          document.querySelector(`tr[data-id="${taskId}"]`)?.getAttribute('data-state') === 'completed',
        id,
        { timeout: WAIT },
      );
      await browser.shot(list, '08-list-through-nginx');
      await page.close();
      await list.close();
    } finally {
      await proxy.stop();
    }
  });

  test('under a path (/gw/): the redirect, the list and its live feed work through the proxy', async () => {
    const proxy = await startPrefixNginx(gw.url, dir.dir);
    try {
      const list = await browser.newPage();
      await list.goto(proxy.url);
      assert.equal(new URL(list.url()).pathname, '/gw/ui/');
      await list.waitForSelector('#task-rows');
      await list.waitForSelector('#health.ok');
      const sent = await sendTask(gw.url, { skill: 'fix_bug', input: 'greet() is missing', blocking: false });
      const id: string = sent.body.result.id;
      await list.waitForFunction(
        (taskId) =>
          document.querySelector(`tr[data-id="${taskId}"]`)?.getAttribute('data-state') === 'completed',
        id,
        { timeout: WAIT },
      );
      await list.click(`tr[data-id="${id}"] a`);
      await stateIs(list, 'completed');
      await list.waitForSelector('#diff-files');
      await list.close();
    } finally {
      await proxy.stop();
    }
  });

  test('a task page whose stream the proxy cuts resumes after the last event seen: no gap, no repeat', async () => {
    let proxy = await startPrefixNginx(gw.url, dir.dir);
    const sent = await sendTask(gw.url, {
      skill: 'fix_bug',
      input: 'fake:slow wait for the proxy',
      blocking: false,
    });
    const id: string = sent.body.result.id;
    const page = await browser.newPage();
    try {
      await page.goto(`${proxy.url}ui/#/task/${id}`);
      const slowSaid = () =>
        [...document.querySelectorAll('.event.ev-agent')].filter((e: any) =>
          e.textContent?.includes('take a while'),
        ).length;
      await page.waitForFunction(slowSaid, undefined, { timeout: WAIT });
      await proxy.stop();
      await page.waitForFunction(
        () => document.querySelector('#stream-note')?.textContent?.includes('reconnecting'),
        undefined,
        { timeout: WAIT },
      );
      // While the page is cut off, the task ends; the page learns it only from the resumed stream.
      await rpc(gw.url, { jsonrpc: '2.0', id: 9, method: 'tasks/cancel', params: { id } });
      proxy = await startPrefixNginx(gw.url, dir.dir, proxy.port);
      await stateIs(page, 'canceled');
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll('.event-kind')].some((e: any) => e.textContent === 'State: canceled'),
        undefined,
        { timeout: WAIT },
      );
      assert.equal(await page.evaluate(slowSaid), 1, 'the event before the cut is shown once');
      const kinds: string[] = await page.$$eval('.timeline .event-kind', (els: any[]) =>
        els.map((e) => e.textContent),
      );
      assert.equal(kinds.filter((k) => k === 'Submitted').length, 1, kinds.join());
      assert.equal(kinds.filter((k) => k === 'State: canceled').length, 1, kinds.join());
    } finally {
      await page.close();
      await proxy.stop();
    }
  });
});
