// Black-box helpers: requests go through the worker's fetch handler, as a client's would. `send` and
// `Session` take the router to talk to (the worker's own by default; the security suite also builds
// routers over a modified env), so every suite shares one client.
import { env, exports } from "cloudflare:workers";
import { generateUserSig } from "../src/auth/usersig";
import { DEMO_SECRETS } from "../src/config";
import type { RoomKind } from "../src/rooms/types";

export const SDK_APP_ID = 1400000000;
export const BIZID = "8888";
export const BASE = "http://localhost";

/** Non-demo secrets and app identity: what a correctly configured deployment would have. */
export const DEPLOY_SECRETS = {
  TLS_SIG_SECRET_KEY: "1a".repeat(32),
  TOKEN_SIGNING_KEY: "2b".repeat(32),
  LIVE_PUSH_KEY: "3c".repeat(16),
  LIVE_API_KEY: "4d".repeat(16),
};
export const DEPLOY_VARS = {
  SDK_APP_ID: "1400123456",
  ACCOUNT_TYPE: "1",
  LIVE_APP_ID: "1250123456",
  LIVE_BIZID: "12345",
  LIVE_PUSH_HOST: "push.live.example.com",
  LIVE_PLAY_HOST: "play.live.example.com",
};

export interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, any>;
  text: string;
}

/** A protocol answer: {code, message} and the action's fields. */
export type Answer = { code: number; message: string; [field: string]: any };

export type Fetch = (request: Request) => Promise<Response>;

/** The worker under test, as deployed: its default export's fetch handler. */
export const workerFetch: Fetch = (request) => exports.default.fetch(request);

export interface Send {
  group: string;
  action: string;
  /** Query parameters, in order; a repeated name is sent twice. */
  query?: Array<[string, string]> | Record<string, string | number | undefined>;
  /** JSON body (stringified), or `raw` bytes/text as is. */
  body?: unknown;
  raw?: BodyInit;
  method?: string;
  prefix?: "" | "/weapp";
  headers?: Record<string, string>;
  /** Path as is (percent-encoded variants); overrides group/action. */
  path?: string;
  host?: string;
}

export async function send(fetcher: Fetch, s: Send): Promise<Reply> {
  const url = new URL(`${s.host ?? BASE}${s.path ?? `${s.prefix ?? ""}/${s.group}/${s.action}`}`);
  const pairs = Array.isArray(s.query) ? s.query : Object.entries(s.query ?? {});
  for (const [k, v] of pairs) if (v !== undefined) url.searchParams.append(k, String(v));
  const method = s.method ?? "POST";
  const body =
    s.raw ?? (method === "GET" || method === "HEAD" ? undefined : s.body === undefined ? "{}" : JSON.stringify(s.body));
  const res = await fetcher(
    new Request(url, { method, body, headers: { "content-type": "application/json", ...s.headers } }),
  );
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`non-JSON answer ${res.status} to ${s.group}/${s.action}: ${text.slice(0, 200)}`);
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** One request to the worker under test. */
export function call(group: string, action: string, opts: Omit<Send, "group" | "action"> = {}): Promise<Reply> {
  return send(workerFetch, { group, action, ...opts });
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

/** A logged-in user of one group, talking to one router. */
export class Session {
  constructor(
    readonly fetcher: Fetch,
    readonly kind: RoomKind,
    readonly user: string,
    public token: string,
  ) {}

  static async login(fetcher: Fetch, kind: RoomKind, user = randomName()): Promise<Session> {
    const r = await send(fetcher, {
      group: kind,
      action: "login",
      query: { sdkAppID: SDK_APP_ID, accountType: "36862", userID: user, userSig: await userSigFor(user) },
    });
    if (r.body.code !== 0) throw new Error(`login failed: ${r.text}`);
    return new Session(fetcher, kind, user, r.body.token);
  }

  get query() {
    return { userID: this.user, token: this.token };
  }

  async do(action: string, body: Record<string, unknown> = {}): Promise<Answer> {
    return (await send(this.fetcher, { group: this.kind, action, query: this.query, body })).body as Answer;
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

/** A user logged in to the worker under test. */
export type Client = Session;
export const Client = {
  login: (kind: RoomKind, user?: string): Promise<Client> => Session.login(workerFetch, kind, user),
};

export { env };
