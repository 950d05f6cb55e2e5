import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SecretRedactor } from '../../src/observability/redact.js';

describe('secret redaction', () => {
  const r = new SecretRedactor(['sk-live-0123456789abcdef', 'hunter2hunter2', undefined, 'abc']);

  test('known secret values are masked wherever they appear', () => {
    assert.equal(
      r.redact('key=sk-live-0123456789abcdef and again sk-live-0123456789abcdef'),
      'key=[REDACTED] and again [REDACTED]',
    );
    assert.equal(r.redact('{"pw":"hunter2hunter2"}'), '{"pw":"[REDACTED]"}');
  });

  test('short values are not treated as secrets (they would mask ordinary words)', () => {
    assert.equal(r.redact('abc def'), 'abc def');
  });

  test('passwords in URLs and bearer tokens are masked by shape', () => {
    assert.equal(r.redact('redis://:s3cretpw@redis:6379/0'), 'redis://:[REDACTED]@redis:6379/0');
    assert.equal(r.redact('postgres://app:pa55word@db/x'), 'postgres://app:[REDACTED]@db/x');
    assert.equal(
      r.redact('Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc'),
      'Authorization: Bearer [REDACTED]',
    );
  });
});
