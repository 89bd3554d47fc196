// Authentication of every room action but login: token signature and expiry first (no I/O for a
// forged token), then the live session in KV. Sets the acting user for the handler.
import type { Context } from "hono";
import type { AppEnv } from "../http/context";
import { readQuery } from "../http/input";
import { Code, ProtocolError } from "../protocol/codes";
import { parse, UserID } from "../protocol/schemas";
import type { RoomKind } from "../rooms/types";
import { isCurrentSession } from "./sessions";
import { type TokenClaims, verifyToken } from "./tokens";

const denied = (why: string) => ProtocolError.of(Code.AUTH, why);

/** The claims of the request's valid, current session for `kind`; throws code 7 otherwise. */
export async function authenticate(c: Context<AppEnv>, kind: RoomKind): Promise<TokenClaims> {
  const query = readQuery(c, ["userID", "token"]);
  if (!query.userID || !query.token) throw denied("userID 和 token 必填");
  const userID = parse(UserID, query.userID);
  if (query.token.length > 1024) throw denied("token 无效");
  const claims = await verifyToken(c.get("config"), query.token, kind);
  if (!claims) throw denied("token 无效或已过期");
  if (claims.user !== userID) throw denied("token 与 userID 不匹配");
  if (!(await isCurrentSession(c.env, kind, claims.user, claims.sid))) throw denied("会话已失效，请重新登录");
  c.set("user", claims.user);
  c.set("kind", kind);
  return claims;
}

/** A body `userID`, when present, must be the token's user (contract section 1). */
export function assertBodyUser(body: Record<string, unknown>, user: string): void {
  if (body.userID !== undefined && body.userID !== user) throw denied("body 中的 userID 与 token 不匹配");
}
