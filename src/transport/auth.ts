import { createHash, timingSafeEqual } from 'node:crypto';
import type { User } from '@a2a-js/sdk/server';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

/** Who is calling, once authenticated. `scopes` holds skill ids (or `*`); `admin` sees every task. */
export interface Principal {
  id: string;
  kind: 'key' | 'jwt' | 'anonymous';
  scopes: ReadonlySet<string>;
  admin: boolean;
}

/** One configured API key: only its SHA-256 digest is kept. */
export interface KeyEntry {
  id: string;
  /** 32-byte SHA-256 digest of the key. */
  digest: Buffer;
  scopes: readonly string[];
}

export interface JwtSettings {
  jwksUrl: string;
  issuer?: string;
  audience?: string;
  /** Claim holding the scopes: a space-separated string or an array (default `scope`). */
  scopeClaim: string;
  /** Claim naming the caller (default `sub`); a token without it is refused, so no two callers share one id. */
  subjectClaim: string;
  /** Longest lifetime a token may have, from `iat` (or now) to `exp`, in seconds. */
  maxLifetimeSec: number;
}

export const ANONYMOUS: Principal = {
  id: 'anonymous',
  kind: 'anonymous',
  scopes: new Set(['*']),
  admin: false,
};

/** SHA-256 of a key, as stored in a keys file (`sha256:<hex>`). */
export function hashKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** The SDK's `User`, carrying our principal so the store and the admission checks can read it. */
export class GatewayUser implements User {
  constructor(readonly principal: Principal) {}
  get isAuthenticated(): boolean {
    return this.principal.kind !== 'anonymous';
  }
  get userName(): string {
    return this.principal.id;
  }
}

export function principalOf(user: User | undefined): Principal {
  return user instanceof GatewayUser ? user.principal : ANONYMOUS;
}

/** The credential a request presents: `X-API-Key` (the brief) or `Authorization: Bearer`. */
/** What authentication reads of a request: its headers (an Express request, or gRPC metadata behind the same shape). */
export interface CredentialSource {
  header(name: string): string | undefined;
}

function presented(req: CredentialSource): { value: string; via: 'x-api-key' | 'bearer' } | undefined {
  const header = req.header('x-api-key');
  if (header) return { value: header.trim(), via: 'x-api-key' };
  const auth = req.header('authorization');
  const m = auth ? /^Bearer\s+(.+)$/i.exec(auth.trim()) : null;
  return m?.[1] ? { value: m[1].trim(), via: 'bearer' } : undefined;
}

export type AuthResult = { ok: true; principal: Principal } | { ok: false; reason: string };

/**
 * Checks API keys (compared as SHA-256 digests in constant time, every key every time, so timing says nothing
 * about which key came close) and, when configured, JWT bearer tokens against a JWKS.
 */
export class Authenticator {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  /**
   * The principal of each key presented and matched before, by the key as presented: a caller's every request
   * after its first skips the digest. Only right keys are kept, so it holds at most one entry per configured key.
   */
  private readonly known = new Map<string, Principal>();

  constructor(
    private readonly keys: readonly KeyEntry[],
    private readonly jwt?: JwtSettings,
  ) {
    this.jwks = jwt ? createRemoteJWKSet(new URL(jwt.jwksUrl), { timeoutDuration: 5000 }) : undefined;
  }

  get enabled(): boolean {
    return this.keys.length > 0 || this.jwks !== undefined;
  }

  async authenticate(req: CredentialSource): Promise<AuthResult> {
    if (!this.enabled) return { ok: true, principal: ANONYMOUS };
    const credential = presented(req);
    if (!credential)
      return { ok: false, reason: 'an API key is required (X-API-Key or Authorization: Bearer)' };
    const known = this.known.get(credential.value);
    if (known) return { ok: true, principal: known };
    const key = this.matchKey(credential.value);
    if (key) {
      const scopes = new Set(key.scopes);
      const principal: Principal = { id: key.id, kind: 'key', scopes, admin: scopes.has('admin') };
      this.known.set(credential.value, principal);
      return { ok: true, principal };
    }
    if (this.jwks && credential.via === 'bearer' && credential.value.split('.').length === 3) {
      return this.verifyJwt(credential.value);
    }
    return { ok: false, reason: 'the API key is not valid' };
  }

  /**
   * The caller's principal when it is known without any work: anonymous with authentication off, or a key matched
   * before. Undefined for everything else (no credential, a new or wrong key, a JWT), which
   * {@link authenticate} must decide.
   */
  knownPrincipal(req: CredentialSource): Principal | undefined {
    if (!this.enabled) return ANONYMOUS;
    const credential = presented(req);
    return credential ? this.known.get(credential.value) : undefined;
  }

  private matchKey(value: string): KeyEntry | undefined {
    const digest = createHash('sha256').update(value, 'utf8').digest();
    let found: KeyEntry | undefined;
    for (const key of this.keys) {
      if (timingSafeEqual(digest, key.digest) && !found) found = key;
    }
    return found;
  }

  private async verifyJwt(token: string): Promise<AuthResult> {
    const jwt = this.jwt;
    if (!jwt || !this.jwks) return { ok: false, reason: 'the API key is not valid' };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        ...(jwt.issuer ? { issuer: jwt.issuer } : {}),
        ...(jwt.audience ? { audience: jwt.audience } : {}),
        // A token that never expires is a credential that can never be taken back.
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      return { ok: false, reason: `the bearer token is not valid (${(err as Error).message})` };
    }
    const subject: unknown = payload[jwt.subjectClaim];
    if (typeof subject !== 'string' || subject.trim() === '') {
      return {
        ok: false,
        reason: `the bearer token names no subject (a non-empty "${jwt.subjectClaim}" claim is required)`,
      };
    }
    const now = Math.floor(Date.now() / 1000);
    const exp = payload.exp ?? now;
    // From issue (or from now, if `iat` is absent or claims the future) to expiry.
    const lifetime = Math.max(exp - now, typeof payload.iat === 'number' ? exp - payload.iat : 0);
    if (lifetime > jwt.maxLifetimeSec) {
      return {
        ok: false,
        reason: `the bearer token lives ${lifetime} s, longer than the ${jwt.maxLifetimeSec} s allowed (JWT_MAX_LIFETIME)`,
      };
    }
    const raw: unknown = payload[jwt.scopeClaim];
    const list = typeof raw === 'string' ? raw.split(/\s+/) : Array.isArray(raw) ? raw.map(String) : [];
    const scopes = new Set(list.filter(Boolean));
    return {
      ok: true,
      principal: { id: `jwt:${subject}`, kind: 'jwt', scopes, admin: scopes.has('admin') },
    };
  }
}

/** True when the principal may use the skill. */
export function mayUseSkill(principal: Principal, skill: string): boolean {
  return principal.scopes.has('*') || principal.scopes.has(skill) || principal.admin;
}
