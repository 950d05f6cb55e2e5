/**
 * Removes secrets from text that leaves the gateway (logs, status messages, artifacts). Known secret values are
 * replaced wherever they appear; the rest is masked by shape: assignments to password/secret/token/key names in
 * the usual syntaxes (YAML, JSON, .env, shell, TOML, command-line flags), bearer and basic credentials, URLs
 * with credentials, AWS access key ids, private key blocks, JWTs and the well-known token prefixes.
 *
 * Every pattern is bounded (no unbounded run before a choice), so a megabyte of output costs linear time.
 */

const MASK = '[REDACTED]';

/** Names whose value is a secret: `password`, `DB_PASSWORD`, `client_secret`, `x-api-key`, `github.token`... */
const SECRET_NAME =
  '[A-Za-z0-9_.-]{0,40}?(?:passw(?:or)?d|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?)';

/**
 * `name: value`, `name=value`, `"name": "value"`, `name := value`, `name => 'value'`, `export NAME=value`,
 * `--name=value` and `--name value`: the name (optionally quoted, also JSON-escaped inside a log line), a
 * separator on the same line, then a quoted value (to its closing quote) or a bare one.
 */
const VALUE = `(?:(\\\\?["'])([^"'\\\\\\r\\n]{1,400})|([^\\s"'\\\\,;)}\\]<>]{1,400}))`;
const ASSIGNMENT = new RegExp(
  // 1: the name with its quotes; 2: the separator; 3: an opening quote; 4: a quoted value; 5: a bare value.
  `((?<![A-Za-z0-9_])(?:--?)?(?:\\\\?["'])?${SECRET_NAME}(?:\\\\?["'])?)([ \\t]{0,4}(?::=|=>|[:=])[ \\t]{0,4})${VALUE}`,
  'gi',
);
/**
 * A cheap test for a secret name anywhere in the text (one scan), made before the three patterns that need one:
 * most text (an access-log line, say) has none, and the assignment pattern alone costs several times this.
 */
const SECRET_NAME_HINT =
  /passw|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential/i;

/** `<password>value</password>` (XML, .NET and Maven settings). */
const XML_ELEMENT = new RegExp(`<(${SECRET_NAME})>([^<]{1,400})</\\1>`, 'gi');

/** `--password value`: a flag and its value as the next argument. */
const FLAG = new RegExp(`((?<![A-Za-z0-9_-])--?${SECRET_NAME})([ \\t]{1,4})${VALUE}`, 'gi');

/** Bare values that are not secrets: types in code, placeholders, references to where the secret lives. */
const NOT_A_SECRET =
  /^(?:string|number|boolean|bool|int|integer|object|any|unknown|undefined|null|nil|none|true|false|optional|required|str|bytes|secret|password|token|redacted|\[redacted\]|\*+|x+|<[^>]*>?)$/i;
const REFERENCE = /^(?:\$|%|\{\{|process\.env|os\.environ|env\.|secrets\.|getenv|os\.getenv|ENV\[)/i;

/** Code, not a secret: a call, a member path (`req.headers.token`), an identifier in camelCase or snake_case. */
function looksLikeCode(value: string, next: string): boolean {
  if (next === '(' || next === '.') return true;
  if (/^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/.test(value)) return true;
  if (!/^[A-Za-z_$]+$/.test(value)) return false;
  return value.includes('_') || value.includes('$') || /[a-z][A-Z]/.test(value);
}

function looksSecret(value: string, quoted: boolean, next: string): boolean {
  if (value.includes(MASK) || NOT_A_SECRET.test(value) || REFERENCE.test(value)) return false;
  if (/[(){}[\]]/.test(value) || /^\d+(?:[.,]\d+)*$/.test(value)) return false;
  if (quoted) return value.length >= 4;
  if (looksLikeCode(value, next)) return false;
  // A bare word needs a digit or a symbol, or some length: `token: string` and `password: expected ...` are prose
  // or code, `password: hunter2secret` is not.
  return value.length >= 6 && (/[0-9+/=!@#%^&*~.-]/.test(value) || value.length >= 12);
}

/**
 * A run of 40 or more base64 characters standing alone (a line of its own, a quoted string): the body of a key
 * block printed line by line, where no single line shows the BEGIN marker. Masked when it reads as random (mixed
 * case and digits, high entropy), so hashes in hex and paths stay readable.
 */
const BASE64_BLOB = /(?<=^|[\s"'>]|\\n)[A-Za-z0-9+/]{40,400}={0,2}(?=$|[\s"'<]|\\n)/gm;

/** Whether the text has a run of 40 base64 characters: a character loop, much cheaper than {@link BASE64_BLOB}. */
function hasBase64Run(text: string): boolean {
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const b64 = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 43 || c === 47;
    run = b64 ? run + 1 : 0;
    if (run >= 40) return true;
  }
  return false;
}

function looksRandom(run: string): boolean {
  if (!/[A-Z]/.test(run) || !/[a-z]/.test(run) || !/[0-9]/.test(run)) return false;
  const counts = new Map<string, number>();
  for (const ch of run) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / run.length) * Math.log2(n / run.length);
  return bits >= 4.5;
}

/** Shapes masked whole wherever they appear, each with a substring it cannot match without (or none). */
const SHAPES: ReadonlyArray<[RegExp, string, string?]> = [
  // Private key blocks (PEM, OpenSSH, PGP), also with JSON-escaped newlines; an unterminated block to the end.
  [
    /-----BEGIN ((?:[A-Z0-9]+ ){0,3})PRIVATE KEY( BLOCK)?-----[\s\S]*?(?:-----END \1PRIVATE KEY\2-----|$)/g,
    `-----BEGIN $1PRIVATE KEY$2-----${MASK}-----END $1PRIVATE KEY$2-----`,
    'PRIVATE KEY',
  ],
  // user:password@ in URLs (any scheme), and a token as the whole user part of an https URL.
  [/\b([a-z][a-z0-9+.-]{0,20}:\/\/)([^\s:@/]{0,200}):([^\s@/]{1,400})@/gi, `$1$2:${MASK}@`, '://'],
  // Authorization headers.
  [
    /\b([Bb]earer)\s+(?=[A-Za-z0-9._~+/=-]{0,400}[0-9._~+/=-]|[A-Za-z]{16})[A-Za-z0-9._~+/=-]{8,}/g,
    `$1 ${MASK}`,
  ],
  [/\b(Basic)\s+[A-Za-z0-9+/]{12,}={0,2}/g, `$1 ${MASK}`],
  // AWS access key ids.
  [/\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\b/g, MASK],
  // JWTs (header.payload.signature, both parts JSON objects in base64url).
  [/\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, MASK],
  // Well-known token prefixes: GitHub, OpenAI/Anthropic, Slack, GitLab, Google, npm, Hugging Face, Stripe,
  // SendGrid, PyPI, DigitalOcean, Shopify.
  [
    /\b(?:gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{20,255}|sk-(?:ant-|proj-|svcacct-)?[A-Za-z0-9_-]{16,255}|xox[abposre]-[A-Za-z0-9-]{10,255}|xapp-[A-Za-z0-9-]{10,255}|glpat-[A-Za-z0-9_-]{20,255}|AIza[0-9A-Za-z_-]{35}|npm_[A-Za-z0-9]{36}|hf_[A-Za-z0-9]{30,255}|[rs]k_(?:live|test)_[A-Za-z0-9]{16,255}|SG\.[A-Za-z0-9_-]{16,64}\.[A-Za-z0-9_-]{16,64}|pypi-[A-Za-z0-9_-]{50,255}|dop_v1_[a-f0-9]{64}|shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32})/g,
    MASK,
  ],
];

export class SecretRedactor {
  private readonly values: string[];

  constructor(secrets: Iterable<string | undefined>) {
    // Longest first so a secret that contains another is masked whole; short values would mask ordinary words.
    this.values = [
      ...new Set([...secrets].filter((s): s is string => typeof s === 'string' && s.length >= 6)),
    ].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const value of this.values) {
      if (out.includes(value)) out = out.split(value).join(MASK);
    }
    for (const [pattern, replacement, needs] of SHAPES) {
      if (needs === undefined || out.includes(needs)) out = out.replace(pattern, replacement);
    }
    if (hasBase64Run(out)) out = out.replace(BASE64_BLOB, (run) => (looksRandom(run) ? MASK : run));
    if (!SECRET_NAME_HINT.test(out)) return out;
    return out
      .replace(XML_ELEMENT, `<$1>${MASK}</$1>`)
      .replace(ASSIGNMENT, this.masker)
      .replace(FLAG, this.masker);
  }

  private readonly masker = (
    whole: string,
    name: string,
    sep: string,
    quote: string | undefined,
    quoted: string | undefined,
    bare: string | undefined,
    offset: number,
    input: string,
  ): string => {
    const value = quoted ?? bare ?? '';
    const next = input.charAt(offset + whole.length);
    return looksSecret(value, quoted !== undefined, next) ? `${name}${sep}${quote ?? ''}${MASK}` : whole;
  };
}
