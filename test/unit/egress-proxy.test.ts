import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostAllowed, parseAllowedHosts } from '../../src/runner/egress-proxy.js';

test('SANDBOX_ALLOWED_HOSTS: a host with any port, host:port, *.domain for subdomains only, IPv6', () => {
  const rules = parseAllowedHosts([
    'api.anthropic.com',
    'Proxy.Example.org:8443',
    '*.example.com',
    '[::1]:443',
  ]);
  assert.ok(hostAllowed(rules, 'api.anthropic.com', 443));
  assert.ok(hostAllowed(rules, 'API.anthropic.com.', 80));
  assert.ok(!hostAllowed(rules, 'evil-api.anthropic.com', 443));
  assert.ok(!hostAllowed(rules, 'anthropic.com', 443));
  assert.ok(hostAllowed(rules, 'proxy.example.org', 8443));
  assert.ok(!hostAllowed(rules, 'proxy.example.org', 443));
  assert.ok(hostAllowed(rules, 'a.b.example.com', 443));
  assert.ok(!hostAllowed(rules, 'example.com', 443));
  assert.ok(!hostAllowed(rules, 'example.com.evil.net', 443));
  assert.ok(hostAllowed(rules, '[::1]', 443));
  assert.ok(!hostAllowed(rules, '::1', 80));
  assert.ok(!hostAllowed(parseAllowedHosts([]), 'localhost', 80));
});

test('SANDBOX_ALLOWED_HOSTS: an entry that is not a host is refused with its text', () => {
  for (const bad of ['http://x.com', 'x.com:99999', 'a b', '*', 'user@x.com']) {
    assert.throws(() => parseAllowedHosts([bad]), new RegExp(`"${bad.replace(/[.*]/g, '\\$&')}"`));
  }
});
