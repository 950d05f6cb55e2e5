import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FAKE_CLI_DIR,
  REPO_ROOT,
  rpc,
  startTestGateway,
  tempDir,
  type TestGateway,
} from '../helpers/gateway.js';

const example = (n: number): string =>
  readFileSync(join(REPO_ROOT, `test/fixtures/brief-examples/example-${n}.txt`), 'utf8');

const SKILLS = [
  'fix_bug',
  'refactor_code',
  'review_pr',
  'generate_dockerfile',
  'generate_docker_compose',
  'generate_k8s_manifests',
  'write_unit_tests',
  'improve_code_quality',
  'code',
];

/**
 * Every skill mapped to a command backend that echoes its argv and cwd as its result; the deployment skills' one
 * also writes the file the skill must produce (the gateway checks it before the task may succeed).
 */
const WRITES: Record<string, Record<string, string>> = {
  // A Dockerfile the gateway's lint accepts (a generated one that runs as root fails the task, DL3002).
  generate_dockerfile: {
    Dockerfile:
      'FROM python:3.12-slim\nWORKDIR /app\nRUN useradd --create-home app\nUSER app\nCMD ["python", "app.py"]\n',
  },
  generate_docker_compose: { 'compose.yaml': 'services:\n  app:\n    build: .\n' },
  generate_k8s_manifests: { 'k8s/app.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: app}\n' },
};
const backendOf = (skill: string): string => (skill in WRITES ? `echo_${skill}` : 'echo');
const ECHO_CONFIG = `
backends:
  echo:
    type: command
    command: ${join(FAKE_CLI_DIR, 'echo-args.mjs')}
    args: ["{skill}", "{input.project_type}", "{prompt}"]
${Object.entries(WRITES)
  .map(
    ([skill, files]) => `  echo_${skill}:
    type: command
    command: ${join(FAKE_CLI_DIR, 'edit-files.mjs')}
    args: ["{skill}", "{input.project_type}", "{prompt}"]
    env: { FAKE_EDIT: ${JSON.stringify(JSON.stringify({ write: files }))} }`,
  )
  .join('\n')}
skills:
${SKILLS.map((s) => `  ${s}: { backend: ${backendOf(s)} }`).join('\n')}
`;

describe('the brief example requests (A2A 0.1 tasks/send)', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ configYaml: ECHO_CONFIG });
  });
  after(async () => {
    await gw.stop();
  });

  for (const [n, skill, type] of [
    [2, 'generate_dockerfile', 'python'],
    [3, 'generate_docker_compose', 'compose'],
  ] as const) {
    test(`example ${n} (${skill}) is accepted as written, completes, and tasks/get returns the result`, async () => {
      const sent = await rpc(gw.url, example(n));
      assert.equal(sent.status, 200);
      assert.equal(sent.body.error, undefined, JSON.stringify(sent.body.error));
      const task = sent.body.result;
      assert.equal(task.status.state, 'completed', JSON.stringify(task.status));
      assert.equal(task.sessionId, task.contextId, '0.1 clients read sessionId');
      assert.equal(task.metadata.skill, skill);
      const out = JSON.parse(task.artifacts[0].parts[0].text) as { argv: string[]; cwd: string };
      assert.equal(task.artifacts[0].parts[0].type, 'text', '0.1 parts are tagged "type"');
      assert.deepEqual(out.argv.slice(0, 2), [skill, type]);
      assert.match(out.argv[2]!, /A2A Gateway/, 'the prompt carries the project description');
      // workdir "." is the first workspace root; it is not a git repository, so the task ran in a copy of it
      assert.notEqual(out.cwd, gw.workDir);
      const written = Object.keys(WRITES[skill]!)[0]!;
      assert.equal(existsSync(join(gw.workDir, written)), false, "the caller's directory is untouched");
      const diff = task.artifacts.find((a: { name: string }) => a.name === 'diff');
      assert.match(diff.parts[0].text, new RegExp(`\\+\\+\\+ b/${written}`), 'the diff shows the new file');
      const file = task.artifacts.find((a: { name: string }) => a.name === written);
      assert.equal(
        file.parts[0].text,
        WRITES[skill]![written],
        'the generated file is returned as an artifact',
      );

      const got = await rpc(gw.url, {
        jsonrpc: '2.0',
        id: 'g',
        method: 'tasks/get',
        params: { id: task.id },
      });
      assert.equal(got.body.result.id, task.id);
      assert.equal(got.body.result.sessionId, task.contextId, 'tasks/get answers a 0.1 task in 0.1 shape');
      assert.equal(got.body.result.status.state, 'completed');
      assert.deepEqual(got.body.result.artifacts[0].parts[0].text, task.artifacts[0].parts[0].text);
    });
  }

  test('example 1 is parsed as written; its macOS workdir does not exist here, so it is refused naming the field', async () => {
    const sent = await rpc(gw.url, example(1));
    assert.equal(sent.status, 200);
    assert.equal(sent.body.id, 'fix-bug-1');
    assert.equal(sent.body.error.code, -32602);
    assert.match(sent.body.error.message, /input\.workdir/);
    assert.match(
      sent.body.error.message,
      /\/Users\/xuyangbo\/github\.com\/a2a-gateway\/a2a_gateway" does not exist/,
    );
  });

  test('example 1 with a workdir that exists completes', async () => {
    const body = example(1).replace('/Users/xuyangbo/github.com/a2a-gateway/a2a_gateway', '.');
    const sent = await rpc(gw.url, body);
    assert.equal(sent.body.result?.status.state, 'completed', JSON.stringify(sent.body));
    const out = JSON.parse(sent.body.result.artifacts[0].parts[0].text) as { argv: string[] };
    assert.equal(out.argv[0], 'fix_bug');
    assert.match(out.argv[2]!, /Fix memory leak in task store/);
  });
});

describe('tasks/sendSubscribe (0.1 streaming)', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ configYaml: ECHO_CONFIG });
  });
  after(async () => {
    await gw.stop();
  });

  test('streams the task in 0.1 shapes, the final status last with final: true', async () => {
    const body = example(2).replace('"tasks/send"', '"tasks/sendSubscribe"');
    const res = await fetch(`${gw.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const events = (await res.text())
      .split('\n\n')
      .map((block) => block.split('\n').find((l) => l.startsWith('data: ')))
      .filter((l): l is string => l !== undefined)
      .map((l) => (JSON.parse(l.slice(6)) as { id: string; result: any }).result);
    assert.equal(events[0].kind, 'task');
    assert.equal(events[0].sessionId, events[0].contextId);
    const last = events.at(-1);
    assert.equal(last.kind, 'status-update');
    assert.equal(last.final, true);
    assert.equal(last.status.state, 'completed');
    assert.equal(last.id, events[0].id, '0.1 events carry the task id as "id"');
    const artifact = events.find((e) => e.kind === 'artifact-update');
    assert.equal(artifact.artifact.parts[0].type, 'text');
    assert.ok(
      events.slice(1, -1).every((e) => e.final !== true),
      'only the last event is final',
    );
  });
});

describe('the default skill mapping without droid installed', () => {
  let gw: TestGateway;
  let emptyPath: ReturnType<typeof tempDir>;
  before(async () => {
    emptyPath = tempDir('a2a-gw-path-');
    gw = await startTestGateway({ childEnv: { ...process.env, PATH: emptyPath.dir } });
  });
  after(async () => {
    await gw.stop();
    emptyPath.cleanup();
  });

  test('fix_bug ends failed, naming the missing droid command and how to configure it', async () => {
    const body = example(1).replace('/Users/xuyangbo/github.com/a2a-gateway/a2a_gateway', '.');
    const sent = await rpc(gw.url, body);
    const task = sent.body.result;
    assert.equal(task.status.state, 'failed', JSON.stringify(sent.body));
    const text: string = task.status.message.parts[0].text;
    assert.match(text, /command "droid" was not found/);
    assert.match(text, /DROID_COMMAND/);
    assert.match(text, /config file/);
  });
});
