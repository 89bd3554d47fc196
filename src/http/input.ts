// Reading untrusted request input: the query string (no duplicated parameters) and the JSON body
// (valid UTF-8, a JSON object, bounded size: hono's bodyLimit answers 413 before we read).
import type { Context } from "hono";
import { Code, HttpError, ProtocolError } from "../protocol/codes";
import type { AppEnv } from "./context";

/**
 * The named query parameters. A parameter given twice is refused rather than guessed at
 * (`?userID=a&userID=b` must not authenticate as one and act as the other).
 */
export function readQuery(
  c: Context<AppEnv>,
  names: readonly string[],
  code: typeof Code.BAD_PARAM | typeof Code.LOGIN_PARAM = Code.BAD_PARAM,
): Record<string, string | undefined> {
  const params = new URL(c.req.url).searchParams;
  const out: Record<string, string | undefined> = {};
  for (const name of names) {
    const values = params.getAll(name);
    if (values.length > 1) throw ProtocolError.of(code, `${name} is duplicated`);
    out[name] = values[0];
  }
  return out;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** The request body as a JSON object; an empty body is `{}` (the original clients send both). */
export async function readJsonBody(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const bytes = await c.req.arrayBuffer();
  let textBody: string;
  try {
    textBody = utf8.decode(bytes);
  } catch {
    throw new HttpError(400, "body is not valid UTF-8");
  }
  if (textBody.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(textBody);
  } catch {
    // Includes nesting bombs: V8 throws RangeError on pathological depth, which lands here too.
    throw new HttpError(400, "body is not valid JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new HttpError(400, "body must be a JSON object");
  }
  return parsed as Record<string, unknown>;
}
