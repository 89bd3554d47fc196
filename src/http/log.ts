// Structured JSON logs: one line per request, plus errors. Only the path and fields named here are ever
// logged: never a query string, a token, a userSig or a key (they travel in query strings).
import type { Context } from "hono";
import type { AppEnv } from "./context";

export function logEvent(level: "info" | "warn" | "error", c: Context<AppEnv>, fields: Record<string, unknown>): void {
  const line = JSON.stringify({
    level,
    requestId: c.get("requestId"),
    method: c.req.method,
    path: c.req.path,
    group: c.get("group"),
    action: c.get("action"),
    ...fields,
  });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
