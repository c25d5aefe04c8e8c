import { Injectable, UnauthorizedException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { IsNull, Repository } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity';
import type { Principal } from './api-roles';

/** How long a stream token may be used to open a stream (an open stream is not cut when it expires). */
export const STREAM_TOKEN_TTL_SECONDS = 60;
/** Longest path a token can be bound to. */
export const STREAM_TOKEN_MAX_PATH = 512;

const PREFIX = 'kst1';

export type StreamTokenCheck = { ok: true; principal: Principal } | { ok: false; reason: string };

interface TokenClaims {
  /** keyId of the API key the token was issued to. */
  k: string;
  /** The one path (no query) it opens. */
  p: string;
  /** Expiry, seconds since the epoch. */
  e: number;
}

/**
 * Short-lived signed tokens for the routes a browser opens with `EventSource`, which cannot send an
 * `Authorization` header: `POST /api/stream-tokens {path}` (with the key) answers a token that opens
 * that one path, for STREAM_TOKEN_TTL_SECONDS, as `?token=`; only routes marked @AcceptsStreamToken()
 * accept it. The token is `kst1.<claims>.<HMAC-SHA256>`, keyed by the stored hash of the API key it was
 * issued to: every replica can check it without a shared secret, and revoking the key (or a forged key id)
 * makes its tokens useless because the key row is read on every use. Not a JWT library on purpose: the
 * format is three fields checked in one place, with no algorithm negotiation to get wrong.
 */
@Injectable()
export class StreamTokensService {
  constructor(@InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>) {}

  async issue(principal: Principal, path: string, now = Date.now()): Promise<{ token: string; path: string; expiresAt: string }> {
    const secretHash = await this.secretHashOf(principal.keyId);
    if (!secretHash) throw new UnauthorizedException('the API key is not valid or was revoked');
    const exp = Math.floor(now / 1000) + STREAM_TOKEN_TTL_SECONDS;
    const claims = Buffer.from(JSON.stringify({ k: principal.keyId, p: path, e: exp } satisfies TokenClaims)).toString('base64url');
    const token = `${PREFIX}.${claims}.${sign(secretHash, claims)}`;
    return { token, path, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** Checks a presented token against the path it is used on. */
  async verify(token: string, path: string, now = Date.now()): Promise<StreamTokenCheck> {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== PREFIX) return { ok: false, reason: 'the stream token is malformed' };
    const [, claimsPart, signature] = parts as [string, string, string];
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(claimsPart, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      return { ok: false, reason: 'the stream token is malformed' };
    }
    if (typeof claims?.k !== 'string' || typeof claims.p !== 'string' || typeof claims.e !== 'number') {
      return { ok: false, reason: 'the stream token is malformed' };
    }
    const row = await this.keys.findOne({
      where: { keyId: claims.k, revokedAt: IsNull() },
      select: { id: true, keyId: true, name: true, role: true, secretHash: true },
    });
    if (!row) return { ok: false, reason: 'the stream token is not valid (its API key is unknown or revoked)' };
    const expected = Buffer.from(sign(row.secretHash, claimsPart));
    const actual = Buffer.from(signature);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual))
      return { ok: false, reason: 'the stream token is not valid' };
    if (claims.e * 1000 <= now) return { ok: false, reason: 'the stream token has expired; ask POST /api/stream-tokens for a new one' };
    if (claims.p !== path) return { ok: false, reason: 'the stream token was issued for another path' };
    return { ok: true, principal: { id: row.id, keyId: row.keyId, name: row.name, role: row.role } };
  }

  private async secretHashOf(keyId: string): Promise<string | null> {
    const row = await this.keys.findOne({ where: { keyId, revokedAt: IsNull() }, select: { id: true, secretHash: true } });
    return row?.secretHash ?? null;
  }
}

function sign(secretHash: string, claims: string): string {
  return createHmac('sha256', Buffer.from(`kiln-stream-token:${secretHash}`))
    .update(claims)
    .digest('base64url');
}
