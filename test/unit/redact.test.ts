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

/** Each sample holds one secret (the second item) that must not survive redaction. */
const SECRET_SAMPLES: ReadonlyArray<[string, string]> = [
  // Assignments in several syntaxes.
  ['password: hunter2secret', 'hunter2secret'],
  ['Password: hunter2secret', 'hunter2secret'],
  ['db_password: "p@ssw0rd-123"', 'p@ssw0rd-123'],
  ['PASSWORD=hunter2', 'hunter2'],
  ['export DB_PASSWORD=s3cr3t!pw', 's3cr3t!pw'],
  ["export DB_PASSWORD='two words 42'", 'two words 42'],
  ['set API_KEY=abc123def456', 'abc123def456'],
  ['{"password": "hunter2"}', 'hunter2'],
  ['{"client_secret":"9f8e7d6c5b4a"}', '9f8e7d6c5b4a'],
  ['{\\"token\\": \\"abc123xyz\\"}', 'abc123xyz'],
  ["secret => 'abcdefgh'", 'abcdefgh'],
  ['client_secret := "s3cr3t-value"', 's3cr3t-value'],
  [
    'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  ],
  ['GITHUB_TOKEN=0123456789abcdef0123', '0123456789abcdef0123'],
  ['x-api-key: 0123456789abcdef', '0123456789abcdef'],
  ['apikey=Zx9Yw8Vu7Ts6', 'Zx9Yw8Vu7Ts6'],
  ['private_key: "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'],
  ['password: correcthorsebatterystaple', 'correcthorsebatterystaple'],
  ['passphrase=open-sesame-77', 'open-sesame-77'],
  ['credentials: Zm9vOmJhcg==', 'Zm9vOmJhcg=='],
  ['mysql --password hunter2x -u root', 'hunter2x'],
  ['deploy --token=tok_live_12345678', 'tok_live_12345678'],
  ['curl -H "X-Api-Key: k3y-0123456789"', 'k3y-0123456789'],
  ['[db]\npassword = "toml-secret-1"', 'toml-secret-1'],
  ['<password>xml-s3cret</password>', 'xml-s3cret'],
  // Bearer and basic credentials.
  ['Authorization: Bearer abcdef0123456789', 'abcdef0123456789'],
  ['authorization: bearer abcdef0123456789', 'abcdef0123456789'],
  ['Authorization: Basic dXNlcjpwYXNzd29yZA==', 'dXNlcjpwYXNzd29yZA=='],
  // AWS access key ids.
  ['aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE', 'AKIAIOSFODNN7EXAMPLE'],
  ['key ASIAY34FZKBOKMUTVV7A in use', 'ASIAY34FZKBOKMUTVV7A'],
  // Private key blocks.
  [
    '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----',
    'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun',
  ],
  [
    '-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\\n-----END OPENSSH PRIVATE KEY-----',
    'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ',
  ],
  [
    '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcw (cut off)',
    'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcw',
  ],
  [
    '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5\n-----END EC PRIVATE KEY-----',
    'MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5',
  ],
  // A key block printed one line at a time: the body lines on their own (a stderr line in a log line).
  [
    '{"line":"MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"}',
    'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun',
  ],
  // URLs with credentials.
  ['mysql://root:toor@db:3306/x', 'toor'],
  ['amqp://guest:gu3st-pw@rabbit/', 'gu3st-pw'],
  [
    'https://user:ghp_abcdefghijklmnopqrstuvwxyz0123@github.com/o/r.git',
    'ghp_abcdefghijklmnopqrstuvwxyz0123',
  ],
  ['git clone https://ghp_abcdefghijklmnopqrstuvwxyz0123@github.com/x', 'ghp_abcdefghijklmnopqrstuvwxyz0123'],
  // Well-known token prefixes.
  ['token ghp_16C7e42F292c6912E7710c838347Ae178B4a', 'ghp_16C7e42F292c6912E7710c838347Ae178B4a'],
  ['gho_16C7e42F292c6912E7710c838347Ae178B4a', 'gho_16C7e42F292c6912E7710c838347Ae178B4a'],
  [
    'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz',
    'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz',
  ],
  ['OPENAI key sk-proj-abcdefghijklmnop1234', 'sk-proj-abcdefghijklmnop1234'],
  ['sk-ant-api03-abcdefghijklmnopqrstuv', 'sk-ant-api03-abcdefghijklmnopqrstuv'],
  ['using sk-abcdefghijklmnopqrstuvwx for the call', 'sk-abcdefghijklmnopqrstuvwx'],
  ['slack xoxb-1234567890-abcdefghij', 'xoxb-1234567890-abcdefghij'],
  ['xoxp-1234567890-1234567890-abcdef', 'xoxp-1234567890-1234567890-abcdef'],
  ['glpat-abcdefghij0123456789', 'glpat-abcdefghij0123456789'],
  ['AIzaSyA1234567890abcdefghijklmnopqrstuv', 'AIzaSyA1234567890abcdefghijklmnopqrstuv'],
  ['npm_abcdefghijklmnopqrstuvwxyz0123456789', 'npm_abcdefghijklmnopqrstuvwxyz0123456789'],
  ['hf_abcdefghijklmnopqrstuvwxyzABCDEFGH', 'hf_abcdefghijklmnopqrstuvwxyzABCDEFGH'],
  ['stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'],
  [
    'SG.abcdefghijklmnopqrst.abcdefghijklmnopqrstuvwxyz012345',
    'SG.abcdefghijklmnopqrst.abcdefghijklmnopqrstuvwxyz012345',
  ],
  // JWTs.
  [
    'id_token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  ],
];

/** Ordinary text and code that must come through unchanged. */
const BENIGN_SAMPLES: readonly string[] = [
  'the token expired yesterday',
  'password reset link sent',
  'input_tokens: 12345, output_tokens: 678',
  'max_tokens=4096',
  'token: string',
  'password?: string | undefined;',
  'const password = getPasswordFromEnv();',
  'const token = req.headers.authorization;',
  'token = request_token',
  'password = DEFAULT_PASSWORD',
  'apiKey: process.env.API_KEY',
  'POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}',
  'password: ${{ secrets.DB_PASSWORD }}',
  'token: "{{ vault_token }}"',
  'secret: <your-secret-here>',
  'password: null',
  'credentials: include',
  'the API key is not valid',
  'Authorization: Bearer [REDACTED]',
  'bearer credentials are required',
  'https://github.com/owner/repo.git',
  'git@github.com:owner/repo.git',
  'task-abcdefghijklmnopqrstuvwxyz',
  'risk-assessment-for-the-q3-project',
  'input.token: expected a non-empty string',
  '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----',
  '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ\n-----END CERTIFICATE-----',
  'diff --git a/src/auth.ts b/src/auth.ts\n+  const secret = config.secret;',
  'Refreshed 3 tokens in 12 ms',
  'commit 3f786850e387550fdab836ed7e6dc881de23001b',
  'src/components/AuthProvider/LoginForm2Component',
];

describe('secret shapes', () => {
  const r = new SecretRedactor([]);

  for (const [sample, secret] of SECRET_SAMPLES) {
    test(`masks ${JSON.stringify(sample.slice(0, 48))}`, () => {
      const out = r.redact(sample);
      assert.ok(!out.includes(secret), `${JSON.stringify(secret)} survived: ${JSON.stringify(out)}`);
      assert.match(out, /\[REDACTED\]/);
    });
  }

  test('leaves ordinary text and code alone', () => {
    for (const sample of BENIGN_SAMPLES) assert.equal(r.redact(sample), sample, JSON.stringify(sample));
  });

  test('keeps the name and the quotes around a masked value, so the line still reads', () => {
    assert.equal(r.redact('password: hunter2secret'), 'password: [REDACTED]');
    assert.equal(r.redact('{"password": "hunter2"}'), '{"password": "[REDACTED]"}');
    assert.equal(r.redact("export DB_PASSWORD='p4ss w0rd'"), "export DB_PASSWORD='[REDACTED]'");
    assert.equal(r.redact('--password hunter2x'), '--password [REDACTED]');
  });

  test('secrets inside a JSON log line (as pino writes it) are masked', () => {
    const line = JSON.stringify({ level: 30, msg: 'config: {"password": "hunter2"} token=abc123def' });
    const out = r.redact(line);
    assert.ok(!out.includes('hunter2') && !out.includes('abc123def'), out);
    assert.doesNotThrow(() => JSON.parse(out), 'the line is still JSON');
  });

  test(
    'a megabyte of adversarial text is handled in linear time (no regex backtracking blow-up)',
    { timeout: 10_000 },
    () => {
      for (const unit of [
        'a',
        'token',
        'password:',
        '--token ',
        'http://a:',
        'Bearer ',
        '-----BEGIN PRIVATE KEY-----',
      ]) {
        const text = unit.repeat(Math.ceil(1_000_000 / unit.length));
        assert.equal(typeof r.redact(text), 'string');
      }
    },
  );
});
