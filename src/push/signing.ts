import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  randomUUID,
  timingSafeEqual,
  type JsonWebKey,
} from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  SignJWT,
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  type KeyObject,
} from 'jose';

/** Header carrying the gateway's ES256 JWS over a push (kept apart from the config's own `Authorization`). */
export const SIGNATURE_HEADER = 'X-A2A-Signature';
/** Header carrying the HMAC-SHA256 signature when a shared secret is configured. */
export const HMAC_HEADER = 'X-A2A-Signature-HMAC';
/** Stable id of one event delivery, the same on every retry, so receivers can drop duplicates. */
export const DELIVERY_ID_HEADER = 'X-A2A-Delivery-Id';

const ALG = 'ES256';

/** Claims of the push signature JWT. */
export interface PushSignatureClaims extends JWTPayload {
  iat: number;
  jti: string;
  /** The task the event belongs to. */
  task_id: string;
  /** Same value as the `X-A2A-Delivery-Id` header: stable across retries of one event. */
  delivery_id: string;
  /** Hex SHA-256 of the exact request body bytes. */
  request_body_sha256: string;
}

/** What one signature covers. */
export interface SignInput {
  taskId: string;
  deliveryId: string;
  body: string;
  /** The webhook URL; becomes the `aud` claim so a captured request cannot be replayed to another receiver. */
  url: string;
}

/** Hex SHA-256 of a UTF-8 string, as in the `request_body_sha256` claim. */
export function sha256Hex(body: string | Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/**
 * Signs push bodies with an ES256 key and publishes the public half as a JWKS. Receivers fetch the JWKS from the
 * gateway (the lead mounts `jwks()` at a public route) and verify with {@link verifyPushJwt}. Old public keys can
 * be kept in the set while receivers still hold tokens signed by them (key rotation).
 */
export class PushSigner {
  private constructor(
    private readonly privateKey: CryptoKey | KeyObject,
    private readonly publicJwk: JWK,
    private readonly retired: readonly JWK[],
    private readonly issuer: string | undefined,
  ) {}

  /** The key id (RFC 7638 thumbprint of the public key) put in every signature's header. */
  get kid(): string {
    return this.publicJwk.kid ?? '';
  }

  /** A fresh key pair kept in memory only: signatures stay verifiable while this process serves its JWKS. */
  static async generate(opts: { issuer?: string } = {}): Promise<PushSigner> {
    const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
    return new PushSigner(privateKey, await publicJwkOf(publicKey), [], opts.issuer);
  }

  /**
   * A signer from a P-256 private key in PKCS#8 PEM or as a private JWK (JSON), e.g. the file named by
   * `PUSH_SIGNING_KEY_FILE`, so the key and its `kid` survive restarts and are shared by every node.
   */
  static async fromKey(
    text: string,
    opts: { issuer?: string; retiredPublicKeys?: readonly JWK[] } = {},
  ): Promise<PushSigner> {
    const trimmed = text.trim();
    const privateKey = trimmed.startsWith('{')
      ? createPrivateKey({ key: JSON.parse(trimmed) as JsonWebKey, format: 'jwk' })
      : createPrivateKey(trimmed);
    if (
      privateKey.asymmetricKeyType !== 'ec' ||
      privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
    ) {
      throw new Error('the push signing key must be an EC P-256 private key (ES256)');
    }
    const jwk = await publicJwkOf(createPublicKey(privateKey));
    return new PushSigner(privateKey, jwk, opts.retiredPublicKeys ?? [], opts.issuer);
  }

  /** {@link PushSigner.fromKey} reading the key from a file. */
  static async fromFile(
    file: string,
    opts: { issuer?: string; retiredPublicKeys?: readonly JWK[] } = {},
  ): Promise<PushSigner> {
    return PushSigner.fromKey(await readFile(file, 'utf8'), opts);
  }

  /** The public keys to serve as `application/json` at the gateway's JWKS route. */
  jwks(): JSONWebKeySet {
    return { keys: [{ ...this.publicJwk }, ...this.retired.map((key) => ({ ...key }))] };
  }

  /** A compact JWS for one delivery attempt; `iat` and `jti` are fresh on every attempt. */
  async sign(input: SignInput): Promise<string> {
    const jwt = new SignJWT({
      task_id: input.taskId,
      delivery_id: input.deliveryId,
      request_body_sha256: sha256Hex(input.body),
    })
      .setProtectedHeader({ alg: ALG, kid: this.kid, typ: 'JWT' })
      .setIssuedAt()
      .setJti(randomUUID())
      .setAudience(input.url);
    if (this.issuer !== undefined) jwt.setIssuer(this.issuer);
    return jwt.sign(this.privateKey);
  }
}

async function publicJwkOf(publicKey: Parameters<typeof exportJWK>[0]): Promise<JWK> {
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg: ALG, use: 'sig' };
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, the value of {@link HMAC_HEADER}. */
export function hmacSignature(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.`).update(body).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** Result of a receiver-side check. */
export type VerifyResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Options of {@link verifyPushJwt}. */
export interface VerifyJwtOptions {
  /** The gateway's JWKS: the object, or a key getter such as jose's `createRemoteJWKSet(new URL(jwksUrl))`. */
  jwks: JSONWebKeySet | JWTVerifyGetKey;
  /** Oldest accepted token, in seconds (default 300): a captured request cannot be replayed later. */
  maxAgeSec?: number;
  /** When given, the `aud` claim must equal it (the URL the receiver was registered with). */
  audience?: string;
  /** When given, the `iss` claim must equal it. */
  issuer?: string;
}

/**
 * Receiver helper: checks a {@link SIGNATURE_HEADER} value against the raw body: ES256 signature by a key in the
 * JWKS, token age, optional audience/issuer, and that `request_body_sha256` matches the body received.
 */
export async function verifyPushJwt(
  token: string,
  body: string | Uint8Array,
  opts: VerifyJwtOptions,
): Promise<VerifyResult<PushSignatureClaims>> {
  const keys = typeof opts.jwks === 'function' ? opts.jwks : createLocalJWKSet(opts.jwks);
  try {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: [ALG],
      maxTokenAge: opts.maxAgeSec ?? 300,
      requiredClaims: ['iat', 'jti', 'task_id', 'request_body_sha256'],
      ...(opts.audience !== undefined ? { audience: opts.audience } : {}),
      ...(opts.issuer !== undefined ? { issuer: opts.issuer } : {}),
    });
    if (payload.request_body_sha256 !== sha256Hex(body)) {
      return { ok: false, reason: 'request_body_sha256 does not match the body' };
    }
    return { ok: true, value: payload as PushSignatureClaims };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

/**
 * Receiver helper: checks a {@link HMAC_HEADER} value against the raw body and the shared secret, in constant
 * time, refusing timestamps more than `toleranceSec` (default 300) from `nowSec`.
 */
export function verifyPushHmac(
  header: string,
  body: string | Uint8Array,
  secret: string,
  opts: { toleranceSec?: number; nowSec?: number } = {},
): VerifyResult<{ timestamp: number }> {
  const fields = new Map(
    header.split(',').map((part) => {
      const eq = part.indexOf('=');
      return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()] as const;
    }),
  );
  const t = Number(fields.get('t'));
  const given = fields.get('v1') ?? '';
  if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/.test(given))
    return { ok: false, reason: 'malformed signature header' };
  const now = opts.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (opts.toleranceSec ?? 300))
    return { ok: false, reason: 'timestamp outside tolerance' };
  const expected = createHmac('sha256', secret).update(`${t}.`).update(body).digest();
  if (!timingSafeEqual(expected, Buffer.from(given, 'hex')))
    return { ok: false, reason: 'signature mismatch' };
  return { ok: true, value: { timestamp: t } };
}
