// The Hono environment shared by every route: bindings, and what middleware sets for handlers and logs.
import type { Config } from "../config";
import type { RoomKind } from "../rooms/types";

export interface RequestState {
  config: Config;
  requestId: string;
  /** Route group and action, for the request log (no query strings, tokens or secrets). */
  group?: string;
  action?: string;
  /** The business code answered, for the request log. */
  code?: number;
  /** The authenticated user and the room group of their session. */
  user?: string;
  kind?: RoomKind;
  /** The session id of the request's token (logout revokes exactly that session). */
  sid?: string;
  /** The token's expiry (unix seconds): how long a logout's revocation marker must outlive it. */
  tokenExp?: number;
}

export type AppEnv = { Bindings: Env; Variables: RequestState };
