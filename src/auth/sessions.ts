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

/** Whether `sid` is the user's current session in that group. */
export async function isCurrentSession(env: Env, kind: RoomKind, user: string, sid: string): Promise<boolean> {
  const key = sessionKey(kind, user);
  const now = Date.now();
  const cached = recent.get(key);
  if (cached && cached.until > now) return timingSafeEqual(cached.sid, sid);
  const stored = await kv(() => env.SESSIONS.get<StoredSession>(key, "json"));
  if (!stored || typeof stored.sid !== "string" || stored.exp * 1000 < now) {
    recent.delete(key);
    return false;
  }
  remember(key, stored.sid, now);
  return timingSafeEqual(stored.sid, sid);
}

/** Revokes the session if it is still the current one (a newer login is left alone). */
export async function closeSession(env: Env, kind: RoomKind, user: string, sid: string): Promise<void> {
  const key = sessionKey(kind, user);
  const stored = await kv(() => env.SESSIONS.get<StoredSession>(key, "json"));
  recent.delete(key);
  if (stored && typeof stored.sid === "string" && timingSafeEqual(stored.sid, sid)) {
    await kv(() => env.SESSIONS.delete(key));
  }
}
