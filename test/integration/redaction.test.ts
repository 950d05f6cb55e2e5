/**
 * A coding agent that prints secrets (issue 10, item 5): none of them reaches a log line, a status message or an
 * artifact of its task, whatever its shape.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FAKE_CLI_DIR,
  rpc,
  sendTask,
  startTestGateway,
  waitFor,
  type TestGateway,
} from '../helpers/gateway.js';

/** One secret per line, each in a shape the gateway does not know the value of. */
const LEAKS: ReadonlyArray<[string, string]> = [
  ['password: hunter2secret', 'hunter2secret'],
  ['export DB_PASSWORD=s3cr3t!pw', 's3cr3t!pw'],
  ['{"client_secret": "9f8e7d6c5b4a"}', '9f8e7d6c5b4a'],
  ['mysql --password hunter2x -u root', 'hunter2x'],
  ['Authorization: Bearer abcdef0123456789', 'abcdef0123456789'],
  ['aws_access_key_id = AKIAIOSFODNN7EXAMPLE', 'AKIAIOSFODNN7EXAMPLE'],
  [
    'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  ],
  ['-----BEGIN RSA PRIVATE KEY-----', 'BEGIN RSA PRIVATE KEY-----\nMIIEow'],
  [
    'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun',
    'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun',
  ],
  ['-----END RSA PRIVATE KEY-----', 'EXAMPLE-NEVER-MATCHES'],
  ['cloning https://deploy:Pa55w0rd-x@git.example.com/r.git', 'Pa55w0rd-x'],
  ['using ghp_16C7e42F292c6912E7710c838347Ae178B4a', 'ghp_16C7e42F292c6912E7710c838347Ae178B4a'],
  ['OPENAI_API_KEY is sk-proj-abcdefghijklmnop1234', 'sk-proj-abcdefghijklmnop1234'],
  ['slack: xoxb-1234567890-abcdefghij', 'xoxb-1234567890-abcdefghij'],
];

describe('secrets a CLI prints never leave the gateway', () => {
  let gw: TestGateway;
  const text = LEAKS.map(([line]) => line).join('\n');
  before(async () => {
    gw = await startTestGateway({
      configYaml: `
backends:
  leaky:
    type: command
    command: ${join(FAKE_CLI_DIR, 'print-secrets.mjs')}
    args: [${JSON.stringify(text)}]
skills:
  code: { backend: leaky }
`,
    });
    mkdirSync(join(gw.workDir, 'proj'));
    writeFileSync(join(gw.workDir, 'proj', 'README.md'), 'a project\n');
  });
  after(async () => {
    await gw.stop();
  });

  test('not in log lines, status messages (history, stream) or artifacts (summary, diff)', async () => {
    const res = await sendTask(gw.url, { skill: 'code', input: { instructions: 'go', workdir: 'proj' } });
    const task = res.body.result;
    assert.equal(task?.status?.state, 'completed', JSON.stringify(res.body));
    const full = await rpc(gw.url, { jsonrpc: '2.0', id: 2, method: 'tasks/get', params: { id: task.id } });
    const stored = JSON.stringify(full.body.result);
    // The output did arrive (masked): status messages, the summary and the diff all carry it.
    assert.match(stored, /password: \[REDACTED\]/);
    assert.match(stored, /leaked\.txt/, 'the diff artifact is there');
    const history = JSON.stringify(full.body.result.history);
    assert.match(history, /\[REDACTED\]/, 'the status messages carry the masked output');

    // A resubscribe replays the stored stream of status and artifact events.
    const replay = await fetch(`${gw.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'last-event-id': '0' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tasks/resubscribe', params: { id: task.id } }),
    });
    const streamed = await replay.text();
    assert.match(streamed, /password: \[REDACTED\]/, 'the replayed stream carries the masked output');

    await waitFor(
      () => (gw.logs.text().includes('task ended') ? true : undefined),
      10_000,
      'the task end log',
    );
    const logs = gw.logs.text();
    assert.match(logs, /\[REDACTED\]/, 'the stderr lines were logged, masked');
    for (const [line, secret] of LEAKS) {
      for (const [where, body] of [
        ['the stored task', stored],
        ['the stream', streamed],
        ['the logs', logs],
      ] as const) {
        assert.ok(
          !body.includes(secret),
          `${JSON.stringify(line)}: ${JSON.stringify(secret)} is in ${where}`,
        );
      }
    }
  });
});
