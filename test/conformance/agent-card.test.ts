// CARD-STRUCT-001 and CARD-CACHE-*: the agent card in each layout, checked against the published schema, and its
// caching headers with conditional requests.
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { assertSchema } from './schemas.js';

/** The proto's REQUIRED fields, which the 1.0 JSON schema does not list. */
function assertV1Required(card: any): void {
  for (const field of [
    'name',
    'description',
    'supportedInterfaces',
    'version',
    'capabilities',
    'defaultInputModes',
    'defaultOutputModes',
    'skills',
  ]) {
    assert.ok(card[field] !== undefined, `the 1.0 card has ${field}`);
  }
  assert.ok(card.supportedInterfaces.length > 0);
  for (const i of card.supportedInterfaces) {
    assert.ok(i.url && i.protocolBinding && i.protocolVersion, `interface ${JSON.stringify(i)} is complete`);
  }
  for (const s of card.skills) {
    assert.ok(s.id && s.name && s.description && Array.isArray(s.tags), `skill ${s.id} is complete`);
  }
}

async function card(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/**
 * The status of a GET sent with node:http: fetch marks every conditional request `Cache-Control: no-cache`
 * (the Fetch standard's cache mode), which rightly makes a server send the whole body again.
 */
function statusOf(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

describe('agent card layouts (default: no version means 0.3)', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ env: { API_KEY: 'conformance-key-0123456789' } });
  });
  after(async () => {
    await gw.stop();
  });

  test('a 1.0 client gets a card valid against the 1.0 schema (no 0.3 field), by header or query', async () => {
    for (const ask of <{ path: string; headers: Record<string, string> }[]>[
      { path: '/.well-known/agent-card.json', headers: { 'A2A-Version': '1.0' } },
      { path: '/.well-known/agent-card.json?A2A-Version=1.0', headers: {} },
      { path: '/.well-known/agent-card.json', headers: { 'A2A-Version': '1.0.1' } },
    ]) {
      const { status, body } = await card(gw.url + ask.path, ask.headers);
      assert.equal(status, 200);
      assertSchema('1.0', 'Agent Card', body);
      assertV1Required(body);
      for (const field of ['url', 'preferredTransport', 'protocolVersion', 'additionalInterfaces']) {
        assert.equal(body[field], undefined, `${ask.path} ${JSON.stringify(ask.headers)}: no ${field}`);
      }
      assert.ok(body.securitySchemes.apiKey, 'keys are declared as a security scheme');
    }
  });

  test('a request with no version, or 0.3, gets the 0.3 layout, valid against the 0.3 schema', async () => {
    for (const ask of <{ path: string; headers: Record<string, string> }[]>[
      { path: '/.well-known/agent-card.json', headers: {} },
      { path: '/.well-known/agent-card.json', headers: { 'A2A-Version': '0.3' } },
      { path: '/.well-known/agent.json', headers: { 'A2A-Version': '1.0' } },
    ]) {
      const { status, body } = await card(gw.url + ask.path, ask.headers);
      assert.equal(status, 200);
      assertSchema('0.3', 'AgentCard', body);
      assert.equal(body.url, gw.url);
      assert.match(body.protocolVersion, /^0\.3(\.0)?$/);
    }
  });

  test('ETag, Last-Modified, Cache-Control and Vary; a conditional request that matches gets 304', async () => {
    const path = `${gw.url}/.well-known/agent-card.json`;
    for (const version of ['1.0', '0.3']) {
      const first = await card(path, { 'A2A-Version': version });
      const etag = first.headers.get('etag');
      const lastModified = first.headers.get('last-modified');
      assert.ok(etag, `${version}: ETag`);
      assert.ok(lastModified && !Number.isNaN(Date.parse(lastModified)), `${version}: Last-Modified`);
      assert.ok(Date.parse(lastModified) <= Date.now());
      assert.match(first.headers.get('cache-control') ?? '', /max-age=\d+/);
      assert.match(first.headers.get('vary') ?? '', /A2A-Version/i);

      assert.equal(
        await statusOf(path, { 'A2A-Version': version, 'If-None-Match': etag }),
        304,
        `${version}: If-None-Match`,
      );
      assert.equal(
        await statusOf(path, { 'A2A-Version': version, 'If-Modified-Since': lastModified }),
        304,
        `${version}: If-Modified-Since`,
      );
      const earlier = new Date(Date.parse(lastModified) - 60_000).toUTCString();
      assert.equal(
        await statusOf(path, { 'A2A-Version': version, 'If-Modified-Since': earlier }),
        200,
        `${version}: a card newer than the client's copy is sent again`,
      );
      assert.equal(await statusOf(path, { 'A2A-Version': version, 'If-None-Match': '"other"' }), 200);
    }
  });
});

describe('agent card layouts with AGENT_CARD_DEFAULT_VERSION=1.0', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ env: { AGENT_CARD_DEFAULT_VERSION: '1.0' } });
  });
  after(async () => {
    await gw.stop();
  });

  test('a request with no version gets the strict 1.0 card; 0.3 still gets the 0.3 layout', async () => {
    const bare = await card(`${gw.url}/.well-known/agent-card.json`);
    assertSchema('1.0', 'Agent Card', bare.body);
    assertV1Required(bare.body);
    const old = await card(`${gw.url}/.well-known/agent-card.json`, { 'A2A-Version': '0.3' });
    assertSchema('0.3', 'AgentCard', old.body);
    assert.equal(old.body.url, gw.url);
    const legacyPath = await card(`${gw.url}/.well-known/agent.json`);
    assert.match(legacyPath.body.protocolVersion, /^0\.3(\.0)?$/);
  });

  test('a bad value stops the gateway at start-up, naming the setting', async () => {
    await assert.rejects(
      startTestGateway({ env: { AGENT_CARD_DEFAULT_VERSION: '2.0' } }),
      /AGENT_CARD_DEFAULT_VERSION/,
    );
  });
});
