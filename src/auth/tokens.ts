// Session tokens: short HS256 JWTs (jose) naming the user, the app, the room group and the session id.
// The signature and expiry are checked before any I/O, so a forged token costs no KV read.
import { errors, jwtVerify, SignJWT } from "jose";
import type { Config } from "../config";
import type { RoomKind } from "../rooms/types";
import { ROOM_KINDS } from "../rooms/types";

export interface TokenClaims {
  user: string;
  kind: RoomKind;
  sid: string;
  /** Expiry, unix seconds. */
  exp: number;
}

const ISSUER = "roomservice";
const audienceOf = (kind: RoomKind) => `roomservice:${kind}`;

interface SigningKey {
  kid: string;
  key: CryptoKey;
}

// Imported once per isolate per secret: importKey and the kid hash are not free on the hot path.
const keyCache = new Map<string, Promise<SigningKey>>();

function signingKey(secret: string): Promise<SigningKey> {
  let entry = keyCache.get(secret);
  if (!entry) {
    entry = (async () => {
      const raw = new TextEncoder().encode(secret);
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
      // The kid names the key without revealing it: the first 8 bytes of its SHA-256.
      const kid = [...digest.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
      const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, [
        "sign",
        "verify",
      ]);
      return { kid, key };
    })();
    keyCache.set(secret, entry);
  }
  return entry;
}

export async function issueToken(
  config: Config,
  claims: Omit<TokenClaims, "exp">,
  now = Math.floor(Date.now() / 1000),
): Promise<{ token: string; expiresAt: number }> {
  const { kid, key } = await signingKey(config.TOKEN_SIGNING_KEY);
  const expiresAt = now + config.TOKEN_TTL_SECONDS;
  const token = await new SignJWT({ app: config.SDK_APP_ID, sid: claims.sid })
    .setProtectedHeader({ alg: "HS256", kid })
    .setSubject(claims.user)
    .setIssuer(ISSUER)
    .setAudience(audienceOf(claims.kind))
    .setIssuedAt(now)
    .setExpirationTime(expiresAt)
    .sign(key);
  return { token, expiresAt };
}

/**
 * Tokens this isolate verified moments ago, per config (so per key set): a client sends the same token
 * on every action, and an HS256 verify costs more than the rest of a cheap action. An entry lives until
 * the token expires, at most VERIFIED_CACHE_MS; only successes are kept, and the session is still
 * checked on every request, so logout and a newer login take effect exactly as before.
 */
export const VERIFIED_CACHE_MS = 60_000;
const VERIFIED_CACHE_MAX = 10_000;
const verified = new WeakMap<Config, Map<string, { claims: TokenClaims; until: number }>>();

/**
 * The claims of a token this service signed for this app, unexpired; null for anything else
 * (bad signature, other key, `alg: none`, expired, other app, malformed).
 */
export async function verifyToken(config: Config, token: string, kind: RoomKind): Promise<TokenClaims | null> {
  let cache = verified.get(config);
  if (!cache) {
    cache = new Map();
    verified.set(config, cache);
  }
  const cacheKey = `${kind} ${token}`;
  const now = Date.now();
  const hit = cache.get(cacheKey);
  if (hit && hit.until > now) return hit.claims;
  if (hit) cache.delete(cacheKey);
  const claims = await verifyTokenUncached(config, token, kind);
  if (claims) {
    if (cache.size >= VERIFIED_CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(cacheKey, { claims, until: Math.min(claims.exp * 1000, now + VERIFIED_CACHE_MS) });
  }
  return claims;
}

async function verifyTokenUncached(config: Config, token: string, kind: RoomKind): Promise<TokenClaims | null> {
  const secrets = [config.TOKEN_SIGNING_KEY, config.TOKEN_SIGNING_KEY_PREVIOUS].filter(
    (s): s is string => typeof s === "string",
  );
  const keys = await Promise.all(secrets.map(signingKey));
  try {
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        // Every token this service issues names its key. A kid of no configured key (a retired key,
        // or none at all) is refused outright rather than tried against the current key.
        const match = keys.find((k) => k.kid === header.kid);
        if (!match) throw new errors.JWKSNoMatchingKey();
        return match.key;
      },
      { algorithms: ["HS256"], issuer: ISSUER, audience: audienceOf(kind), requiredClaims: ["sub", "exp", "sid"] },
    );
    if (payload.app !== config.SDK_APP_ID || typeof payload.sid !== "string" || typeof payload.sub !== "string") {
      return null;
    }
    if (!(ROOM_KINDS as readonly string[]).includes(kind)) return null;
    return { user: payload.sub, kind, sid: payload.sid, exp: payload.exp! };
  } catch (err) {
    if (err instanceof errors.JOSEError) return null;
    throw err;
  }
}
