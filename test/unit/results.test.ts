// The checks a generation skill's files pass before the task may succeed, the review comments read out of an
// answer, and the template backend's project detection and output.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { TemplateBackend, detectProject } from '../../src/agents/template-backend.js';
import type { AgentEvent } from '../../src/agents/types.js';
import { checkDockerfile, checkYaml, validateGenerated } from '../../src/skills/generated-files.js';
import { withFindingIds } from '../../src/skills/findings.js';
import { parseReviewComments } from '../../src/skills/review-skill.js';

describe('Dockerfile check', () => {
  test('FROM may follow comments, parser directives, blank lines and ARGs', () => {
    assert.equal(
      checkDockerfile('# syntax=docker/dockerfile:1\n\nARG V=20\nFROM node:${V}\nRUN x\n'),
      undefined,
    );
    assert.equal(checkDockerfile('from alpine\n'), undefined, 'instructions are case-insensitive');
  });
  test('anything else first, an empty file, or a FROM without an image is named with its line', () => {
    assert.equal(
      checkDockerfile('# c\nRUN apt-get update\n'),
      'line 2: the first instruction is RUN, expected FROM',
    );
    assert.equal(checkDockerfile('\n\n'), 'it has no FROM instruction (the file is empty)');
    assert.equal(checkDockerfile('FROM\n'), 'line 1: FROM names no image');
  });
});

describe('YAML check', () => {
  test('every document must parse', () => {
    assert.equal(checkYaml('a: 1\n---\nb: [2, 3]\n', false), undefined);
    assert.match(checkYaml('a: [1, 2\n', false) ?? '', /flow sequence|Missing|unexpected/i);
    assert.match(checkYaml('a: 1\n---\n  b: : x\n', false) ?? '', /./);
  });
  test('Kubernetes documents need apiVersion and kind', () => {
    assert.equal(
      checkYaml('apiVersion: v1\nkind: Service\n---\napiVersion: apps/v1\nkind: Deployment\n', true),
      undefined,
    );
    assert.equal(
      checkYaml('apiVersion: v1\nkind: Service\n---\nfoo: bar\n', true),
      'document 2 has no apiVersion and kind, so it is not a Kubernetes manifest',
    );
    assert.equal(checkYaml('- a\n- b\n', true), 'document 1 is not a mapping');
  });
  test('a skill must write its main file', () => {
    assert.equal(
      validateGenerated('generate_dockerfile', [{ path: 'README.md', mediaType: 'text/plain', text: 'x' }]),
      'the agent wrote no Dockerfile',
    );
    assert.equal(
      validateGenerated('generate_dockerfile', [
        {
          path: 'docker/api.Dockerfile',
          mediaType: 'text/x-dockerfile',
          text: 'FROM alpine:3.20\nUSER 1000\n',
        },
      ]),
      undefined,
    );
    // The linter's errors fail the task, each with its line and rule; its warnings (no HEALTHCHECK here) do not.
    assert.equal(
      validateGenerated('generate_dockerfile', [
        { path: 'Dockerfile', mediaType: 'text/x-dockerfile', text: 'FROM node:latest\nCMD node app.js\n' },
      ]),
      'Dockerfile fails the Dockerfile lint: line 1: base image node:latest is not pinned to a version (DL3007); line 2: the final stage runs as root: add a USER with a non-root user (DL3002); line 2: CMD is in shell form: use the JSON exec form so signals reach the app (DL3025)',
    );
    // A compose file is checked against the Compose Specification, not only parsed.
    assert.match(
      validateGenerated('generate_docker_compose', [
        {
          path: 'docker-compose.yml',
          mediaType: 'application/yaml',
          text: 'services:\n  app:\n    image: x:1\n    depends_on: [db]\n    healthcheck: { intervall: 5s }\n',
        },
      ]) ?? '',
      /^docker-compose\.yml is not a valid compose file: \/services\/app\/healthcheck must NOT have additional properties; \/services\/app\/depends_on names db, which is not a service of this file$/,
    );
    assert.equal(
      validateGenerated('generate_docker_compose', []),
      'the agent wrote no compose file (docker-compose.yml or compose.yaml)',
    );
    assert.match(
      validateGenerated('generate_docker_compose', [
        { path: 'compose.yaml', mediaType: 'application/yaml', text: 'services: [\n' },
      ]) ?? '',
      /^compose\.yaml does not parse as YAML: /,
    );
  });
});

describe('review comments', () => {
  test('the last json block that holds an array is read; bad entries are dropped, odd severities softened', () => {
    const answer = [
      'Looks mostly fine. Example config:',
      '```json',
      '{"not": "the comments"}',
      '```',
      'Verdict: request changes.',
      '```json',
      '[{"file": "a.ts", "line": 3, "severity": "critical", "text": " SQL injection "},',
      ' {"file": "b.ts", "line": 0, "severity": "blocker", "text": "odd"},',
      ' {"file": "c.ts", "text": ""}, 42, null]',
      '```',
    ].join('\n');
    assert.deepEqual(parseReviewComments(answer), {
      comments: withFindingIds([
        { file: 'a.ts', line: 3, severity: 'critical' as const, text: 'SQL injection' },
        { file: 'b.ts', line: null, severity: 'minor' as const, text: 'odd' },
      ]),
    });
  });
  test('an answer without the block gives no comments and says so', () => {
    assert.deepEqual(parseReviewComments('LGTM'), {
      comments: [],
      error: 'the review ended without a JSON block of comments',
    });
    assert.deepEqual(parseReviewComments('```json\n[]\n```'), { comments: [] });
  });
});

describe('template backend', () => {
  const project = (files: Record<string, string>): { dir: string; done: () => void } => {
    const dir = mkdtempSync(join(tmpdir(), 'a2a-tpl-'));
    for (const [p, t] of Object.entries(files)) writeFileSync(join(dir, p), t);
    return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
  };

  test('detects Node, Python and Go from their files, and the port from the description', async () => {
    const node = project({ 'package.json': '{"name": "@x/api", "scripts": {"start": "node a.js"}}' });
    const py = project({ 'requirements.txt': 'flask\n', 'main.py': '' });
    const go = project({ 'go.mod': 'module github.com/acme/svc\n' });
    const none = project({ 'README.md': '' });
    try {
      const n = await detectProject(node.dir, 'listens on port 4000');
      assert.equal(n?.kind, 'node');
      assert.equal(n?.port, 4000);
      assert.deepEqual(n?.start, ['node', 'a.js'], 'node itself, not npm, so it gets the signals');
      assert.equal(n?.node?.lockfile, false);
      assert.equal(n?.name, 'api');
      const p = await detectProject(py.dir, '');
      assert.equal(p?.kind, 'python');
      assert.deepEqual(p?.start, ['python', 'main.py']);
      assert.equal(p?.port, 8000);
      const g = await detectProject(go.dir, '');
      assert.equal(g?.kind, 'go');
      assert.equal(g?.name, 'svc');
      assert.equal(await detectProject(none.dir, ''), undefined);
    } finally {
      for (const d of [node, py, go, none]) d.done();
    }
  });

  for (const kind of ['node', 'python', 'go'] as const) {
    test(`${kind}: every skill's files pass the gateway's own checks`, async () => {
      const starters: Record<string, Record<string, string>> = {
        node: { 'package.json': '{"name": "svc"}' },
        python: { 'pyproject.toml': '' },
        go: { 'go.mod': 'module svc\n' },
      };
      const files = starters[kind] ?? {};
      const p = project(files);
      try {
        for (const skill of ['generate_dockerfile', 'generate_docker_compose', 'generate_k8s_manifests']) {
          const events: AgentEvent[] = [];
          const outcome = await new TemplateBackend('template').run({
            spec: {
              taskId: 't',
              contextId: 'c',
              skill,
              prompt: '',
              input: { project_description: 'x' },
              workdir: p.dir,
              timeoutMs: 1000,
            },
            home: p.dir,
            firstTurn: true,
            signal: new AbortController().signal,
            emit: (e) => events.push(e),
          });
          assert.equal(outcome.status, 'completed', outcome.reason);
          const written = events.flatMap((e) => (e.type === 'file_change' ? [e.path] : []));
          assert.ok(written.length > 0);
          const resolved = await Promise.all(
            written.map(async (path) => ({
              path: path.slice(p.dir.length + 1),
              mediaType: '',
              text: await readFile(path, 'utf8'),
            })),
          );
          assert.equal(validateGenerated(skill, resolved), undefined, `${skill} on ${kind}`);
          for (const f of resolved.filter((r) => r.path.endsWith('.yaml'))) {
            for (const doc of parseAllDocuments(f.text) as any[]) assert.deepEqual(doc.errors, []);
          }
        }
      } finally {
        p.done();
      }
    });
  }

  test("the services are named after the caller's folder, not the task's copy or worktree of it", async () => {
    // The workspace of a task on a non-git folder is a copy named after the task (a2a-tpl-XXXX here).
    const p = project({ 'requirements.txt': 'flask\n', 'app.py': '' });
    try {
      for (const [workdir, expected] of [
        ['shop-api', 'shop-api'],
        ['/srv/projects/Billing_Service/', 'billing-service'],
        ['.', p.dir.split('/').pop()!.toLowerCase()],
      ] as const) {
        const events: AgentEvent[] = [];
        const outcome = await new TemplateBackend('template').run({
          spec: {
            taskId: 't',
            contextId: 'c',
            skill: 'generate_docker_compose',
            prompt: '',
            input: { project_description: 'an API with Redis', workdir },
            workdir: p.dir,
            timeoutMs: 1000,
          },
          home: p.dir,
          firstTurn: true,
          signal: new AbortController().signal,
          emit: (e) => events.push(e),
        });
        assert.equal(outcome.status, 'completed', outcome.reason);
        const compose = parseAllDocuments(
          readFileSync(join(p.dir, 'docker-compose.yml'), 'utf8'),
        )[0]!.toJSON();
        assert.ok(expected in compose.services, `${workdir}: ${Object.keys(compose.services).join(', ')}`);
      }
    } finally {
      p.done();
    }
  });

  test('an unknown project and a skill it cannot do fail with the reason', async () => {
    const p = project({});
    try {
      const run = (skill: string) =>
        new TemplateBackend('template').run({
          spec: {
            taskId: 't',
            contextId: 'c',
            skill,
            prompt: '',
            input: {},
            workdir: p.dir,
            timeoutMs: 1000,
          },
          home: p.dir,
          firstTurn: true,
          signal: new AbortController().signal,
          emit: () => undefined,
        });
      assert.match((await run('generate_dockerfile')).reason ?? '', /could not tell the project type/);
      writeFileSync(join(p.dir, 'go.mod'), 'module x\n');
      assert.match((await run('fix_bug')).reason ?? '', /only writes deployment files/);
    } finally {
      p.done();
    }
  });
});
