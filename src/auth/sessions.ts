// Live sessions in KV: one per (room group, user), so a new login replaces the old session and logout
// revokes it. Key layout and TTLs are documented in docs/storage.md.
import type { Config } from "../config";
import { HttpError } from "../protocol/codes";
import type { RoomKind } from "../rooms/types";
import { timingSafeEqual } from "../util/crypto";

interface StoredSession {
  sid: string;
  /** Expiry, unix seconds (KV's own TTL removes the key at about the same time). */
  exp: number;
}

export const sessionKey = (kind: RoomKind, user: string) => `session:v1:${kind}:${user}`;

/**
 * Sessions this isolate read or wrote moments ago: a hot room action skips the KV read. Staleness is
 * bounded by SESSION_CACHE_MS, well under KV's own 60 s edge cache, so revocation is no slower than
 * KV makes it anyway. Logout and login in this isolate update the entry at once.
 */
export const SESSION_CACHE_MS = 5_000;
const SESSION_CACHE_MAX = 10_000;
const recent = new Map<string, { sid: string; until: number }>();

function remember(key: string, sid: string, now: number) {
  recent.delete(key);
  if (recent.size >= SESSION_CACHE_MAX) recent.delete(recent.keys().next().value!);
  recent.set(key, { sid, until: now + SESSION_CACHE_MS });
}

/** For tests: forget what this isolate remembers. */
export function forgetCachedSessions(): void {
  recent.clear();
}

async function kv<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    // A store outage must never let a request through: answer a clear, retryable error instead.
    console.error(JSON.stringify({ level: "error", event: "kv_unavailable", error: String(err) }));
    throw new HttpError(503, "session store unavailable, retry later", { "retry-after": "1" });
  }
}

export async function openSession(
  env: Env,
  config: Config,
  kind: RoomKind,
  user: string,
  sid: string,
  expiresAt: number,
): Promise<void> {
  const key = sessionKey(kind, user);
  const value: StoredSession = { sid, exp: expiresAt };
  await kv(() =>
    env.SESSIONS.put(key, JSON.stringify(value), { expirationTtl: Math.max(60, config.TOKEN_TTL_SECONDS) }),
  );
  remember(key, sid, Date.now());
}

/** Marks one session revoked. Login never writes it, so a logout can never undo a newer login. */
export const revokedKey = (kind: RoomKind, user: string, sid: string) => `revoked:v1:${kind}:${user}:${sid}`;

/** Whether `sid` is the user's current session in that group, and not logged out. */
export async function isCurrentSession(env: Env, kind: RoomKind, user: string, sid: string): Promise<boolean> {
  const key = sessionKey(kind, user);
  const now = Date.now();
  const cached = recent.get(key);
  if (cached && cached.until > now) return timingSafeEqual(cached.sid, sid);
  // One KV round trip for both keys (bulk get).
  const revoked = revokedKey(kind, user, sid);
  const found = await kv(() => env.SESSIONS.get<unknown>([key, revoked], "json"));
  const stored = found.get(key) as StoredSession | null | undefined;
  if (!stored || typeof stored.sid !== "string" || stored.exp * 1000 < now) {
    recent.delete(key);
    return false;
  }
  if (found.get(revoked) != null) return false;
  remember(key, stored.sid, now);
  return timingSafeEqual(stored.sid, sid);
}

/**
 * Revokes one session: writes its revocation marker (until the token would expire anyway) rather than
 * deleting the user's session key. KV has no compare-and-delete, so a delete could remove a newer
 * login that landed in between; a per-session marker cannot.
 */
export async function closeSession(
  env: Env,
  kind: RoomKind,
  user: string,
  sid: string,
  tokenExpiresAt: number,
): Promise<void> {
  const key = sessionKey(kind, user);
  const ttl = Math.max(60, Math.ceil(tokenExpiresAt - Date.now() / 1000));
  await kv(() => env.SESSIONS.put(revokedKey(kind, user, sid), "1", { expirationTtl: ttl }));
  // After the write: a check racing the logout may have re-cached the session while it was in flight.
  recent.delete(key);
}
