// Black-box helpers: requests go through the worker's own fetch handler, as a client's would.
import { env, exports } from "cloudflare:workers";
import { generateUserSig } from "../src/auth/usersig";
import { DEMO_SECRETS } from "../src/config";
import type { RoomKind } from "../src/rooms/types";

export const SDK_APP_ID = 1400000000;
export const BIZID = "8888";
export const BASE = "http://localhost";

export interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, any>;
}

export interface CallOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** Raw body bytes/text, sent as is. */
  raw?: BodyInit;
  method?: string;
  prefix?: "" | "/weapp";
  headers?: Record<string, string>;
}

export async function call(group: string, action: string, opts: CallOptions = {}): Promise<Reply> {
  const url = new URL(`${BASE}${opts.prefix ?? ""}/${group}/${action}`);
  for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.append(k, String(v));
  const method = opts.method ?? "POST";
  const body = opts.raw ?? (method === "GET" || method === "HEAD" ? undefined : JSON.stringify(opts.body ?? {}));
  const res = await exports.default.fetch(url, {
    method,
    body,
    headers: { "content-type": "application/json", ...opts.headers },
  });
  const textBody = await res.text();
  let parsed: Record<string, any>;
  try {
    parsed = JSON.parse(textBody);
  } catch {
    throw new Error(`non-JSON answer ${res.status}: ${textBody.slice(0, 200)}`);
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export function userSigFor(userID: string, opts: { key?: string; appId?: number; expire?: number; now?: number } = {}) {
  return generateUserSig({
    identifier: userID,
    sdkAppId: opts.appId ?? SDK_APP_ID,
    secretKey: opts.key ?? DEMO_SECRETS.TLS_SIG_SECRET_KEY,
    expireSeconds: opts.expire ?? 86400,
    now: opts.now,
  });
}

export function randomName(prefix = "u"): string {
  return `${prefix}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/** A logged-in user of one room group. */
export class Client {
  private constructor(
    readonly kind: RoomKind,
    readonly user: string,
    public token: string,
  ) {}

  static async login(kind: RoomKind, user = randomName()): Promise<Client> {
    const r = await call(kind, "login", {
      query: { sdkAppID: SDK_APP_ID, accountType: "36862", userID: user, userSig: await userSigFor(user) },
    });
    if (r.body.code !== 0) throw new Error(`login failed: ${JSON.stringify(r.body)}`);
    return new Client(kind, user, r.body.token);
  }

  get query() {
    return { userID: this.user, token: this.token };
  }

  async do(action: string, body: Record<string, unknown> = {}): Promise<Record<string, any>> {
    return (await call(this.kind, action, { query: this.query, body })).body;
  }

  async pushUrl(roomID?: string): Promise<string> {
    const r = await this.do("get_push_url", roomID ? { roomID } : {});
    if (r.code !== 0) throw new Error(`get_push_url failed: ${JSON.stringify(r)}`);
    return r.pushURL;
  }

  async join(roomID: string, extra: Record<string, unknown> = {}) {
    return this.do("add_pusher", {
      roomID,
      userName: this.user,
      userAvatar: "https://example.test/a.png",
      pushURL: await this.pushUrl(roomID),
      ...extra,
    });
  }
}

export { env };
