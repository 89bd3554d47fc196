// A typed client of the whole protocol: one method per action, inputs typed from the valibot schemas
// the router validates with, outputs from the response table that the OpenAPI document is built from.
//
//   const rs = new RoomServiceClient({ baseUrl: "http://127.0.0.1:8787" });
//   const info = await rs.utils.get_login_info({ userID: "alice" });
//   if (info.code === 0) await rs.live_room.login({ sdkAppID: info.sdkAppID, accountType: info.accType,
//                                                   userID: info.userID, userSig: info.userSig });
//   const url = await rs.live_room.get_push_url();           // userID and token are held after login
//
// Every method resolves to the service's JSON answer: narrow on `code === 0` (or use `expectOk`).
// Only a failure to get a JSON answer at all (network, timeout, non-JSON) rejects, with TransportError.
//
// Runtime-free imports only (`import type`), so Node runs this file by type stripping as is (e.g. the
// benchmark and scripts/demo.ts), and a Worker or a browser bundle gets no server code with it.
import type * as v from "valibot";
import type {
  BusinessFailureCode,
  HttpErrorStatus,
  ROOM_BODIES,
  ROOM_RESPONSES,
  RoomActionName,
  UTIL_RESPONSES,
  UtilActionName,
} from "../openapi/responses";
import type { Queries } from "../protocol/schemas";
import type { RoomKind } from "../rooms/types";

export const DEFAULT_BASE_URL = "http://127.0.0.1:8787";

/** A fetch-compatible function (global fetch, a Worker's service binding, `exports.default.fetch`). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface ClientOptions {
  /** Origin (and optional path) of the service. Default http://127.0.0.1:8787. */
  baseUrl?: string;
  /** Route prefix: "" (default) or "/weapp", as the mini-program clients use. */
  prefix?: string;
  fetch?: FetchLike;
  /** Per-request timeout in ms (default 10 000). */
  timeoutMs?: number;
  /** Extra request headers (e.g. x-request-id). */
  headers?: Record<string, string>;
}

/** A failure answer: a business code (HTTP 200) or, for a non-protocol request, the HTTP status. */
export interface FailureAnswer<C extends number = BusinessFailureCode> {
  code: C | HttpErrorStatus;
  message: string;
}

type Success<S extends v.GenericSchema> = v.InferOutput<S>;

export type UtilAnswer<A extends UtilActionName> =
  | Success<(typeof UTIL_RESPONSES)[A]["success"]>
  | FailureAnswer<(typeof UTIL_RESPONSES)[A]["failures"][number]>;
export type RoomAnswer<A extends RoomActionName> =
  | Success<(typeof ROOM_RESPONSES)[A]["success"]>
  | FailureAnswer<(typeof ROOM_RESPONSES)[A]["failures"][number]>;
/** What the action's JSON body may hold (as a client sends it: numbers may be numeric strings). */
export type RoomBody<A extends RoomActionName> = v.InferInput<(typeof ROOM_BODIES)[A]>;
export type LoginQuery = v.InferInput<typeof Queries.login>;
export type LoginInfoQuery = v.InferInput<typeof Queries.loginInfo>;

/** The success fields of an answer type. */
export type Ok<T> = Extract<T, { code: 0 }>;

export function isOk<T extends { code: number }>(answer: T): answer is Ok<T> {
  return answer.code === 0;
}

/** An answer that was not code 0, raised by `expectOk`. */
export class ProtocolFailure extends Error {
  override name = "ProtocolFailure";
  readonly code: number;
  readonly answer: { code: number; message: string };
  constructor(what: string, answer: { code: number; message: string }) {
    super(`${what}: code ${answer.code}: ${answer.message}`);
    this.code = answer.code;
    this.answer = answer;
  }
}

/** The answer if it is code 0; else throws ProtocolFailure naming `what`. */
export function expectOk<T extends { code: number; message: string }>(answer: T, what = "request"): Ok<T> {
  if (!isOk(answer)) throw new ProtocolFailure(what, answer);
  return answer;
}

/** No JSON answer: network failure, timeout, or a body that is not a JSON object with a numeric code. */
export class TransportError extends Error {
  override name = "TransportError";
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
  }
}

type Query = Record<string, string | number | undefined>;

/** Sends one protocol request and returns its JSON answer. Shared by every group's client. */
export class Transport {
  readonly baseUrl: string;
  readonly prefix: string;
  private readonly fetchFn: FetchLike;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

  constructor(options: ClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    this.prefix = (options.prefix ?? "").replace(/\/+$/, "");
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.headers = options.headers ?? {};
  }

  url(group: string, action: string, query: Query = {}): string {
    const url = new URL(`${this.baseUrl}${this.prefix}/${group}/${action}`);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    return url.toString();
  }

  async send<T>(method: "GET" | "POST", group: string, action: string, query: Query, body?: unknown): Promise<T> {
    const url = this.url(group, action, query);
    const init: RequestInit = {
      method,
      headers: {
        accept: "application/json",
        ...(method === "POST" ? { "content-type": "application/json" } : {}),
        ...this.headers,
      },
      body: method === "POST" ? JSON.stringify(body ?? {}) : undefined,
      signal: AbortSignal.timeout(this.timeoutMs),
    };
    let response: Response;
    try {
      response = await this.fetchFn(url, init);
    } catch (err) {
      // Never echo the URL: its query string carries the token or the userSig.
      throw new TransportError(`${group}/${action}: ${err instanceof Error ? err.message : String(err)}`, undefined, {
        cause: err,
      });
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new TransportError(`${group}/${action}: HTTP ${response.status}, answer is not JSON`, response.status);
    }
    if (typeof parsed !== "object" || parsed === null || typeof (parsed as { code?: unknown }).code !== "number") {
      throw new TransportError(
        `${group}/${action}: HTTP ${response.status}, answer has no numeric code`,
        response.status,
      );
    }
    return parsed as T;
  }
}

/** The `utils` group: no session; GET by default (POST answers the same). */
export class UtilsClient {
  private readonly transport: Transport;
  constructor(transport: Transport) {
    this.transport = transport;
  }

  get_login_info(query: LoginInfoQuery = {}, method: "GET" | "POST" = "GET"): Promise<UtilAnswer<"get_login_info">> {
    return this.transport.send(method, "utils", "get_login_info", { userID: query.userID });
  }

  get_test_pushurl(method: "GET" | "POST" = "GET"): Promise<UtilAnswer<"get_test_pushurl">> {
    return this.transport.send(method, "utils", "get_test_pushurl", {});
  }

  get_test_rtmpaccurl(method: "GET" | "POST" = "GET"): Promise<UtilAnswer<"get_test_rtmpaccurl">> {
    return this.transport.send(method, "utils", "get_test_rtmpaccurl", {});
  }
}

export interface Session {
  userID: string;
  token: string;
}

/** One room group (live_room, double_room or multi_room), holding the session of its last login. */
export class RoomClient<K extends RoomKind = RoomKind> {
  readonly kind: K;
  /** The logged-in user and token (undefined before login and after logout). */
  session: Session | undefined;
  protected readonly transport: Transport;

  constructor(transport: Transport, kind: K, session?: Session) {
    this.transport = transport;
    this.kind = kind;
    this.session = session;
  }

  get userID(): string | undefined {
    return this.session?.userID;
  }

  get token(): string | undefined {
    return this.session?.token;
  }

  /** Sends any room action of this group with the held session (userID and token in the query). */
  send<A extends RoomActionName>(action: A, body: RoomBody<A>): Promise<RoomAnswer<A>> {
    return this.transport.send(
      "POST",
      this.kind,
      action,
      { userID: this.session?.userID, token: this.session?.token },
      body,
    );
  }

  /** Logs in with a userSig (e.g. from utils.get_login_info) and holds the session on success. */
  async login(query: LoginQuery): Promise<RoomAnswer<"login">> {
    const answer = await this.transport.send<RoomAnswer<"login">>("POST", this.kind, "login", { ...query }, {});
    if (isOk(answer)) this.session = { userID: answer.userID, token: answer.token };
    return answer;
  }

  /** Revokes the held session; forgets it on success. */
  async logout(body: RoomBody<"logout"> = {}): Promise<RoomAnswer<"logout">> {
    const answer = await this.send("logout", body);
    if (isOk(answer)) this.session = undefined;
    return answer;
  }

  get_push_url(body: RoomBody<"get_push_url"> = {}): Promise<RoomAnswer<"get_push_url">> {
    return this.send("get_push_url", body);
  }

  create_room(body: RoomBody<"create_room">): Promise<RoomAnswer<"create_room">> {
    return this.send("create_room", body);
  }

  destroy_room(body: RoomBody<"destroy_room">): Promise<RoomAnswer<"destroy_room">> {
    return this.send("destroy_room", body);
  }

  add_pusher(body: RoomBody<"add_pusher">): Promise<RoomAnswer<"add_pusher">> {
    return this.send("add_pusher", body);
  }

  delete_pusher(body: RoomBody<"delete_pusher">): Promise<RoomAnswer<"delete_pusher">> {
    return this.send("delete_pusher", body);
  }

  pusher_heartbeat(body: RoomBody<"pusher_heartbeat">): Promise<RoomAnswer<"pusher_heartbeat">> {
    return this.send("pusher_heartbeat", body);
  }

  get_pushers(body: RoomBody<"get_pushers">): Promise<RoomAnswer<"get_pushers">> {
    return this.send("get_pushers", body);
  }

  get_room_list(body: RoomBody<"get_room_list">): Promise<RoomAnswer<"get_room_list">> {
    return this.send("get_room_list", body);
  }
}

/** live_room: the room actions plus audiences, custom fields and stream mixing. */
export class LiveRoomClient extends RoomClient<"live_room"> {
  add_audience(body: RoomBody<"add_audience">): Promise<RoomAnswer<"add_audience">> {
    return this.send("add_audience", body);
  }

  delete_audience(body: RoomBody<"delete_audience">): Promise<RoomAnswer<"delete_audience">> {
    return this.send("delete_audience", body);
  }

  get_audiences(body: RoomBody<"get_audiences">): Promise<RoomAnswer<"get_audiences">> {
    return this.send("get_audiences", body);
  }

  set_custom_field(body: RoomBody<"set_custom_field">): Promise<RoomAnswer<"set_custom_field">> {
    return this.send("set_custom_field", body);
  }

  get_custom_info(body: RoomBody<"get_custom_info">): Promise<RoomAnswer<"get_custom_info">> {
    return this.send("get_custom_info", body);
  }

  merge_stream(body: RoomBody<"merge_stream">): Promise<RoomAnswer<"merge_stream">> {
    return this.send("merge_stream", body);
  }
}

/**
 * One user's view of the service: `utils`, and a client per room group, each holding its own session
 * (a session belongs to one group). Make one RoomServiceClient per simulated user.
 */
export class RoomServiceClient {
  readonly transport: Transport;
  readonly utils: UtilsClient;
  readonly live_room: LiveRoomClient;
  readonly double_room: RoomClient<"double_room">;
  readonly multi_room: RoomClient<"multi_room">;

  constructor(options: ClientOptions = {}) {
    this.transport = new Transport(options);
    this.utils = new UtilsClient(this.transport);
    this.live_room = new LiveRoomClient(this.transport, "live_room");
    this.double_room = new RoomClient(this.transport, "double_room");
    this.multi_room = new RoomClient(this.transport, "multi_room");
  }

  /** The client of one room group. */
  room<K extends RoomKind>(kind: K): RoomServiceClient[K] {
    return this[kind];
  }

  /**
   * get_login_info then login in one group: the usual start of a session against a service that
   * issues userSigs itself (development, demos, benchmarks).
   */
  async loginAs(kind: RoomKind, userID?: string): Promise<RoomAnswer<"login">> {
    const info = await this.utils.get_login_info(userID === undefined ? {} : { userID });
    if (!isOk(info)) return info;
    return this.room(kind).login({
      sdkAppID: info.sdkAppID,
      accountType: info.accType,
      userID: info.userID,
      userSig: info.userSig,
    });
  }
}
