// One error path for the whole service: business failures are HTTP 200 {code, message}; requests that
// are not requests of this protocol get their HTTP status, still as JSON {code, message}.
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ConfigError } from "../config";
import { HttpError, ProtocolError } from "../protocol/codes";
import type { AppEnv } from "./context";
import { logEvent } from "./log";

/** Answers a business outcome (success or failure): always HTTP 200. */
export function answer(c: Context<AppEnv>, outcome: { code: number; message: string }): Response {
  c.set("code", outcome.code);
  return c.json(outcome, 200);
}

export function httpFailure(c: Context<AppEnv>, status: number, message: string, headers: Record<string, string> = {}) {
  c.set("code", status);
  return c.json({ code: status, message }, status as 400, headers);
}

export const notFound: NotFoundHandler<AppEnv> = (c) => httpFailure(c, 404, "no such route");

export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof ProtocolError) return answer(c, err.failure);
  if (err instanceof HttpError) return httpFailure(c, err.status, err.message, err.headers);
  if (err instanceof HTTPException) return httpFailure(c, err.status, err.message || "request rejected");
  if (err instanceof ConfigError) {
    // Names the variable, never a value: operators need it, and it holds no secret.
    logEvent("error", c, { error: err.message });
    return httpFailure(c, 500, err.message);
  }
  logEvent("error", c, { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  return httpFailure(c, 500, `internal error (request id ${c.get("requestId") ?? "unknown"})`);
};
