// The `a2a-gateway` client commands, run as a user runs them: the binary (from the sources, through tsx; the bin
// check runs the built one through npx) as a child process against gateways started here with fake backends.
// stdin and stdout are pipes, so output is the plain (non-terminal) form. Every wait is on output or an exit,
// bounded in time.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashKey } from '../../src/transport/auth.js';
import { FAKE_CLI_DIR, REPO_ROOT, startTestGateway, tempDir, type TestGateway } from '../helpers/gateway.js';

const ASKER = JSON.stringify(join(FAKE_CLI_DIR, 'claude-asks.mjs'));
const CONFIG = `
allowBackendOverride: true
backends:
  quick:
    type: fake
    summary: fixed it
    steps:
      - { event: { type: text, text: "looking at the code" } }
      - { event: { type: usage, usage: { inputTokens: 120, outputTokens: 40, costUsd: 0.0021, model: fake-1 } } }
      - { event: { type: tool_call, name: Edit, summary: "src/app.ts" } }
  broken:
    type: fake
    outcome: failed
    summary: "the model is unreachable"
    steps:
      - { event: { type: tool_call, name: Read, summary: "README.md" } }
  slow:
    type: fake
    summary: slow done
    steps:
      - { event: { type: tool_call, name: Step, summary: "first" } }
      - { sleepMs: 1200 }
      - { event: { type: tool_call, name: Step, summary: "second" } }
      - { sleepMs: 1200 }
      - { event: { type: tool_call, name: Step, summary: "third" } }
  long:
    type: fake
    summary: never gets here
    steps:
      - { event: { type: tool_call, name: Step, summary: "first" } }
      - { sleepMs: 30000 }
  asker: { type: claude, command: ${ASKER} }
skills:
  code: { backend: quick }
  fix_bug: { backend: asker, permissions: ask }
`;

const LIMIT_MS = 60_000;
const BUILT = join(REPO_ROOT, 'dist/cli/main.js');

/** Newest modification time of the TypeScript sources under a directory. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The binary as built (\`npm ci\` builds dist/ before the tests run) when it is newer than every source file; else
 * the sources through tsx, which is slower to start but never stale.
 */
const BIN: string[] =
  existsSync(BUILT) && statSync(BUILT).mtimeMs >= newestSource(join(REPO_ROOT, 'src'))
    ? [process.execPath, BUILT]
    : [process.execPath, '--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts')];

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A running `a2a-gateway` client command whose output can be waited on. */
class Cli {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly watchers = new Set<() => void>();

  constructor(args: string[], env: Record<string, string>, command: string[] = BIN) {
    this.child = spawn(command[0]!, [...command.slice(1), ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', ...env },
    });
    this.child.stdout.on('data', (d: Buffer) => {
      this.stdout += d.toString('utf8');
      for (const w of this.watchers) w();
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString('utf8');
      for (const w of this.watchers) w();
    });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), LIMIT_MS);
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code) => {
        clearTimeout(timer);
        for (const w of this.watchers) w();
        resolve(code);
      }),
    );
  }

  /** Resolves with the match once stderr shows `pattern`; rejects if the command exits first or time runs out. */
  waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const m = pattern.exec(this.stderr);
        if (m) {
          done();
          resolve(m);
        } else if (this.child.exitCode !== null) {
          done();
          reject(
            new Error(`exited ${this.child.exitCode} before ${pattern}:\n${this.stderr}\n${this.stdout}`),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${this.stderr}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.watchers.delete(check);
      };
      this.watchers.add(check);
      check();
    });
  }

  async result(): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const code = await this.exited;
    return { code, stdout: this.stdout, stderr: this.stderr };
  }
}

function run(args: string[], env: Record<string, string>, input?: string) {
  const cli = new Cli(args, env);
  cli.child.stdin.end(input ?? '');
  return cli.result();
}

const TASK_ID = /task ([0-9a-f-]{36})/;

describe('a2a-gateway client commands against a gateway', () => {
  let gw: TestGateway;
  let env: Record<string, string>;
  before(async () => {
    gw = await startTestGateway({ configYaml: CONFIG, env: { INPUT_TIMEOUT: '60' } });
    env = { A2A_GATEWAY_URL: gw.url };
  });
  after(async () => {
    await gw.stop();
  });

  test('send streams progress as it happens, then prints the summary; exit 0', async () => {
    const cli = new Cli(['send', '--skill', 'code', '--backend', 'slow', 'walk', 'the', 'steps'], env);
    cli.child.stdin.end();
    await cli.waitFor(/→ Step: first/);
    assert.equal(cli.child.exitCode, null, 'the first step is shown while the task still runs');
    assert.doesNotMatch(cli.stderr, /Step: third/);
    const { code, stdout, stderr } = await cli.result();
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim(), 'slow done');
    const lines = stderr.split('\n');
    const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
    assert.ok(at(TASK_ID) >= 0 && at(TASK_ID) < at(/Step: first/), stderr);
    assert.ok(at(/Step: first/) < at(/Step: second/) && at(/Step: second/) < at(/Step: third/), stderr);
    assert.ok(at(/Step: third/) < at(/^\[\d+:\d\d\] completed$/), stderr);
    assert.match(stderr, /^\[\d+:\d\d\] working$/m, 'plain lines with elapsed time when not on a terminal');
  });

  test('the summary, usage and cost; --json prints one parseable task', async () => {
    const plain = await run(['send', '-s', 'code', 'add a health check'], env);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout.trim(), 'fixed it');
    assert.match(plain.stderr, /looking at the code/);
    assert.match(plain.stderr, /→ Edit: src\/app\.ts/);
    assert.match(plain.stderr, /usage: 120 in \/ 40 out tokens, \$0\.0021, fake-1/);

    const json = await run(['send', '--skill', 'code', '--json', 'add a health check'], env);
    assert.equal(json.code, 0, json.stderr);
    const task = JSON.parse(json.stdout);
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
    assert.equal(task.metadata.skill, 'code');
    const result = task.artifacts.find((a: any) => a.name === 'result');
    assert.equal(result.parts[0].text, 'fixed it');
    assert.equal(result.parts[1].data.usage.costUsd, 0.0021);

    // Independent reads, run side by side.
    const [listed, none, got, table, skills, card] = await Promise.all([
      run(['tasks', 'list', '--skill', 'code', '--state', 'completed', '--json'], env),
      run(['tasks', 'list', '--skill', 'fix_bug', '--state', 'completed', '--json'], env),
      run(['tasks', 'get', task.id, '--json'], env),
      run(['tasks', 'list', '-n', '5'], env),
      run(['skills', '--json'], env),
      run(['card', '--json'], env),
    ]);
    assert.equal(listed.code, 0, listed.stderr);
    const ids = JSON.parse(listed.stdout).map((t: any) => t.id);
    assert.ok(ids.includes(task.id), `${task.id} in ${ids.join()}`);
    assert.ok(!JSON.parse(none.stdout).some((t: any) => t.id === task.id), 'the skill filter applies');

    assert.equal(JSON.parse(got.stdout).id, task.id);
    assert.match(table.stdout, /^ID\s+STATE\s+SKILL\s+BACKEND\s+AGE$/m);
    assert.match(table.stdout, new RegExp(`^${task.id}\\s+completed\\s+code\\s+quick`, 'm'));

    const fixBug = JSON.parse(skills.stdout).find((s: any) => s.id === 'fix_bug');
    assert.equal(fixBug.backend, 'asker');
    assert.ok(fixBug.inputSchema.properties.bug_description);
    assert.ok(JSON.parse(card.stdout).supportedInterfaces.length > 0);
  });

  test('a failed task exits 1 with its reason; a canceled one exits 3', async () => {
    const failed = await run(['send', '--skill', 'code', '--backend', 'broken', 'read it'], env);
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, /failed: .*the model is unreachable/);

    const cli = new Cli(['send', '--skill', 'code', '--backend', 'long', 'go'], env);
    cli.child.stdin.end();
    const [, id] = await cli.waitFor(/task ([0-9a-f-]{36})/);
    await cli.waitFor(/→ Step: first/);
    const cancel = await run(['tasks', 'cancel', id!], env);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stderr, /canceled/);
    const { code, stderr } = await cli.result();
    assert.equal(code, 3, stderr);
    assert.match(stderr, /canceled/);
    const again = await run(['tasks', 'cancel', id!], env);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /has already ended \(canceled\)/);
  });

  test('usage errors exit 2 with the field named: unknown skill, bad input, no input, unknown task', async () => {
    const [skill, input, notJson, nothing, missing, option] = await Promise.all([
      run(['send', '--skill', 'nope', 'x'], env),
      run(['send', '--skill', 'fix_bug', '--json', '--input', '{"bug_descriptio": "x"}'], env),
      run(['send', '--skill', 'code', '--input', '{oops'], env),
      run(['send', '--skill', 'code'], env),
      run(['tasks', 'get', 'no-such-task'], env),
      run(['send', 'x'], env),
    ]);
    assert.equal(skill.code, 2);
    assert.match(skill.stderr, /skill: unknown skill "nope"; expected one of fix_bug/);
    assert.equal(input.code, 2);
    assert.match(input.stderr, /input\.bug_descriptio: unknown field \(did you mean "bug_description"\?\)/);
    const error = JSON.parse(input.stdout).error;
    assert.equal(error.field, 'input.bug_descriptio');
    assert.equal(error.exitCode, 2);
    assert.equal(notJson.code, 2);
    assert.match(notJson.stderr, /--input: expected a JSON object/);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /nothing to send/);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /not found/i);
    assert.equal(option.code, 2);
    assert.match(option.stderr, /required option '-s, --skill <skill>'/);
  });

  test('Ctrl-C without a terminal leaves the task running (exit 130); tasks watch reattaches, replays and follows it', async () => {
    const cli = new Cli(['send', '--skill', 'code', '--backend', 'slow', 'go'], env);
    cli.child.stdin.end();
    const [, id] = await cli.waitFor(/task ([0-9a-f-]{36})/);
    await cli.waitFor(/→ Step: first/);
    cli.child.kill('SIGINT');
    const sent = await cli.result();
    assert.equal(sent.code, 130, sent.stderr);
    assert.match(sent.stderr, new RegExp(`task ${id} is left running .*a2a-gateway tasks watch ${id}`));

    const watched = await run(['tasks', 'watch', id!], env);
    assert.equal(watched.code, 0, watched.stderr);
    assert.equal(watched.stdout.trim(), 'slow done');
    for (const step of ['first', 'second', 'third']) {
      const count = watched.stderr.split('\n').filter((l) => l.endsWith(`→ Step: ${step}`)).length;
      assert.equal(count, 1, `step ${step} once (replayed or live):\n${watched.stderr}`);
    }
    // A finished task replays too; --since skips what was already seen.
    const all = await run(['tasks', 'watch', id!], env);
    assert.equal(all.code, 0);
    assert.match(all.stderr, /Step: first[\s\S]*Step: third/);
    const rest = await run(['tasks', 'watch', id!, '--since', '3'], env);
    assert.equal(rest.code, 0);
    assert.doesNotMatch(rest.stderr, /Step: first/);
    assert.match(rest.stderr, /Step: third/);
  });

  test('an input-required question answered on stdin, with --answer, and with tasks reply', async () => {
    const cli = new Cli(['send', '--skill', 'fix_bug', 'make a file'], env);
    await cli.waitFor(/\? Allow Bash: touch asked\.txt\? \[allow\/deny\]/);
    cli.child.stdin.end('allow\n');
    const asked = await cli.result();
    assert.equal(asked.code, 0, asked.stderr);
    assert.equal(asked.stdout.trim(), 'allowed');
    assert.match(asked.stderr, /input-required[\s\S]*allowed: Bash[\s\S]*completed/);

    const question = await run(
      ['send', '--skill', 'fix_bug', '--answer', '2', 'fake:question pick one'],
      env,
    );
    assert.equal(question.code, 0, question.stderr);
    assert.equal(question.stdout.trim(), 'answer: {"Which greeting?":"hello"}', 'option 2 chosen by number');
    const denied = await run(
      ['send', '--skill', 'fix_bug', '--no-stream', '--answer', 'deny: not here', 'x'],
      env,
    );
    assert.equal(denied.code, 0, denied.stderr);
    assert.equal(denied.stdout.trim(), 'denied: not here');

    const left = await run(['send', '--skill', 'fix_bug', '--no-interactive', 'make a file'], env);
    assert.equal(left.code, 5, left.stderr);
    const id = TASK_ID.exec(left.stderr)?.[1];
    assert.match(left.stderr, new RegExp(`answer with: a2a-gateway tasks reply ${id} <answer>`));
    const replied = await run(['tasks', 'reply', id!, 'allow'], env);
    assert.equal(replied.code, 0, replied.stderr);
    assert.equal(replied.stdout.trim(), 'allowed');
    const late = await run(['tasks', 'reply', id!, 'allow'], env);
    assert.equal(late.code, 2);
    assert.match(late.stderr, /is not waiting for an answer \(it is completed\)/);

    // stdin ends with nobody to answer: the task is left waiting, exit 5.
    const eof = await run(['send', '--skill', 'fix_bug', 'make a file'], env, '');
    assert.equal(eof.code, 5, eof.stderr);
    await run(['tasks', 'cancel', TASK_ID.exec(eof.stderr)![1]!], env);
  });

  test('bash completion completes commands, subcommands and options', async () => {
    const script = await run(['completion', 'bash'], env);
    assert.equal(script.code, 0);
    const complete = (words: string[]): Promise<string> =>
      new Promise((resolve, reject) => {
        const bash = spawn('bash', [
          '--norc',
          '-c',
          `${script.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _a2a_gateway; echo "\${COMPREPLY[*]}"`,
        ]);
        let out = '';
        bash.stdout.on('data', (d: Buffer) => (out += d.toString()));
        bash.on('error', reject);
        bash.on('close', () => resolve(out.trim()));
      });
    assert.equal(await complete(['a2a-gateway', 'tasks', 'w']), 'watch');
    assert.equal(await complete(['a2a-gateway', 'send', '--sk']), '--skill');
    assert.equal(await complete(['a2a-gateway', 'tasks', 'list', '--state', 'inp']), 'input-required');
    assert.match(await complete(['a2a-gateway', '']), /send improve tasks card skills completion serve/);
    const zsh = await run(['completion', 'zsh'], env);
    assert.match(zsh.stdout, /^#compdef a2a-gateway/);
  });
});

describe('a2a-gateway client: a gateway that is down or wants a key', () => {
  let gw: TestGateway;
  let dir: ReturnType<typeof tempDir>;
  const CODE_ONLY = 'cli-test-key-code-only-0123456789';
  before(async () => {
    dir = tempDir();
    const keys = join(dir.dir, 'keys.yaml');
    writeFileSync(keys, `keys:\n  - { id: coder, hash: "${hashKey(CODE_ONLY)}", scopes: [code] }\n`);
    gw = await startTestGateway({ configYaml: CONFIG, env: { API_KEYS_FILE: keys } });
  });
  after(async () => {
    await gw.stop();
    dir.cleanup();
  });

  test('no key or a wrong key exits 7; a skill the key may not use is refused, exit 4; the key works', async () => {
    const none = await run(['tasks', 'list'], { A2A_GATEWAY_URL: gw.url });
    assert.equal(none.code, 7, none.stderr);
    assert.match(none.stderr, /refused the key: .*Pass one with --api-key or A2A_API_KEY/);
    const wrong = await run(['--api-key', 'not-the-key-at-all', 'tasks', 'list'], {
      A2A_GATEWAY_URL: gw.url,
    });
    assert.equal(wrong.code, 7);
    assert.match(wrong.stderr, /Check --api-key or A2A_API_KEY/);
    const env = { A2A_GATEWAY_URL: gw.url, A2A_API_KEY: CODE_ONLY };
    const refused = await run(['send', '--skill', 'fix_bug', 'x'], env);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /refused the request: .*may not use skill fix_bug/);
    const ok = await run(['send', '--skill', 'code', 'x'], env);
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('a gateway that is down: exit 6, saying where it looked and how to point elsewhere', async () => {
    const port = await closedPort();
    const down = await run(['send', '--skill', 'code', 'x'], { A2A_GATEWAY_URL: `http://127.0.0.1:${port}` });
    assert.equal(down.code, 6);
    assert.match(
      down.stderr,
      new RegExp(
        `cannot reach the gateway at http://127\\.0\\.0\\.1:${port}: connection refused.*A2A_GATEWAY_URL`,
      ),
    );
    // Without A2A_GATEWAY_URL the default is the local gateway HOST and PORT describe.
    const local = await run(['skills'], { HOST: '0.0.0.0', PORT: String(port) });
    assert.equal(local.code, 6);
    assert.match(local.stderr, new RegExp(`http://127\\.0\\.0\\.1:${port}`));
  });

  test(
    'bin: npx a2a-gateway runs the built binary',
    { skip: !existsSync(join(REPO_ROOT, 'dist/cli/main.js')) && 'dist/ not built (npm ci builds it)' },
    async () => {
      const cli = new Cli(
        ['send', '--skill', 'code', 'x'],
        { A2A_GATEWAY_URL: gw.url, A2A_API_KEY: CODE_ONLY },
        ['npx', '--no-install', 'a2a-gateway'],
      );
      cli.child.stdin.end();
      const { code, stdout, stderr } = await cli.result();
      assert.equal(code, 0, stderr);
      assert.equal(stdout.trim(), 'fixed it');
    },
  );
});
