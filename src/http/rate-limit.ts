// Abuse limits with the Workers Rate Limiting binding (works under miniflare too): per client address
// for the unauthenticated actions that mint credentials, per user for actions that create rooms.
import type { Context, MiddlewareHandler } from "hono";
import { HttpError } from "../protocol/codes";
import type { AppEnv } from "./context";
import { logEvent } from "./log";

/** Rate-limit bindings declared in wrangler.toml (optional: absent means unlimited). */
type LimiterName = "AUTH_LIMITER" | "ROOM_LIMITER";

async function allow(c: Context<AppEnv>, limiter: LimiterName, key: string): Promise<boolean> {
  const binding = (c.env as unknown as Partial<Record<LimiterName, RateLimit>>)[limiter];
  if (!binding) return true;
  try {
    return (await binding.limit({ key })).success;
  } catch (err) {
    // The limiter is a guard, not a dependency: if it fails, serve (and say so in the logs).
    logEvent("warn", c, { event: "rate_limiter_unavailable", limiter, error: String(err) });
    return true;
  }
}

function tooMany(): never {
  throw new HttpError(429, "too many requests, retry later", { "retry-after": "60" });
}

/** Per client address: login and get_login_info issue credentials and cost KV writes. */
export const limitByClient: MiddlewareHandler<AppEnv> = async (c, next) => {
  // CF-Connecting-IP is set by Cloudflare's edge (and by wrangler dev); clients cannot forge it there.
  const client = c.req.header("cf-connecting-ip") ?? "unknown";
  // Keyed by the path the router matched (percent-decoded), not the raw URL: `/utils/get_login_%69nfo`
  // reaches the same handler as `/utils/get_login_info` and must draw on the same budget.
  const route = c.req.path.replace(/^\/weapp(?=\/)/, "");
  if (!(await allow(c, "AUTH_LIMITER", `${route}:${client}`))) tooMany();
  await next();
};

/** Per authenticated user: creating rooms (create_room, add_pusher) allocates a Durable Object. */
export async function limitRoomCreation(c: Context<AppEnv>, user: string): Promise<void> {
  if (!(await allow(c, "ROOM_LIMITER", `${c.get("group")}:${user}`))) tooMany();
}
