// What every action answers, in valibot: the success fields per action (contract sections 4-6), the
// business codes each can fail with, and the non-200 statuses of requests that are not protocol
// requests. The OpenAPI document, the typed client's output types and the conformance tests all read
// this one table; the type assertions at the end tie it to the shapes the Room object returns.
import * as v from "valibot";
import type { MergeResult } from "../live/merge";
import { Code } from "../protocol/codes";
import { Bodies } from "../protocol/schemas";
import type { AudienceView, PusherView, RoomView } from "../rooms/types";

const Int = v.pipe(v.number(), v.integer());
const Count = v.pipe(v.number(), v.integer(), v.minValue(0));

/** The envelope of every answer, success or not. */
export const Envelope = v.object({
  code: v.pipe(Int, v.description("0 = success; a business code (HTTP 200) or the HTTP status")),
  message: v.pipe(v.string(), v.description("Human-readable, in Chinese as the original service's")),
});

/** A success answer: `code` 0, `message`, and the action's fields at top level. */
function success<const E extends v.ObjectEntries>(entries: E) {
  return v.object({ code: v.literal(0), message: v.string(), ...entries });
}

export const PusherViewSchema = v.object({
  userID: v.string(),
  userName: v.string(),
  userAvatar: v.string(),
  accelerateURL: v.pipe(v.string(), v.description("Signed low-latency (acc) rtmp play URL of the pusher's stream")),
});

const roomViewEntries = {
  roomID: v.string(),
  roomInfo: v.string(),
  roomCreator: v.string(),
  mixedPlayURL: v.pipe(v.string(), v.description("flv play URL of the creator's stream")),
  pushers: v.array(PusherViewSchema),
  audienceCount: v.pipe(v.optional(Count), v.description("live_room only")),
};

export const RoomViewSchema = v.object(roomViewEntries);

export const AudienceViewSchema = v.object({ userID: v.string(), userInfo: v.string() });

export const MergeResultSchema = v.object({
  code: v.pipe(Int, v.description("The cloud API's own verdict: non-zero means it refused the mix")),
  message: v.string(),
  timestamp: Int,
});

const customInfo = v.pipe(v.string(), v.description("The room's whole custom-field map, as a JSON string"));

/** The non-200 statuses: requests that are not requests of this protocol. Body `{code: status, message}`. */
export const HTTP_ERRORS = {
  400: "Body is not valid UTF-8 JSON, or not a JSON object",
  404: "No such route (unknown group or action, or a live_room-only action in another kind)",
  405: "Wrong method (room actions: POST; utils: GET or POST); the Allow header lists the methods",
  413: "Body larger than 64 KiB",
  429: "Rate limited (per client address for credentials, per user for room creation); see Retry-After",
  500: "Unexpected server fault (logged with the request id, never leaking internals)",
  503: "Service not configured: a deployment with missing or demo secrets refuses to serve",
} as const;
export type HttpErrorStatus = keyof typeof HTTP_ERRORS;

export const HttpErrorSchema = (status: HttpErrorStatus) => v.object({ code: v.literal(status), message: v.string() });

export type BusinessFailureCode = Exclude<Code, 0>;

export interface ActionDoc {
  summary: string;
  description?: string;
  /** The success answer (HTTP 200, code 0). */
  success: v.GenericSchema;
  /** Business codes (HTTP 200) this action can answer besides 0. */
  failures: readonly BusinessFailureCode[];
  /** Non-200 statuses this action can answer. */
  http: readonly HttpErrorStatus[];
}

// Every room action reads a JSON body (400, 413), answers POST only (405), and may meet a fault or a
// refusing deployment (500, 503). Credential minting and room creation are rate limited (429).
const ROOM_HTTP = [400, 405, 413, 500, 503] as const;
const ROOM_HTTP_LIMITED = [400, 405, 413, 429, 500, 503] as const;
// utils ignore the body (no 400) but still pass the body limit.
const UTIL_HTTP = [405, 413, 500, 503] as const;
const UTIL_HTTP_LIMITED = [405, 413, 429, 500, 503] as const;

const { BAD_PARAM, PUSHERS_NO_ROOM, NO_ROOM, LOGIN_PARAM, NOT_PUSHER, UPSTREAM, AUTH, ROOM_INFO, FULL } = Code;

export const UTIL_RESPONSES = {
  get_login_info: {
    summary: "Issue a userSig (demo login material)",
    description:
      "A TLSSigAPIv2 userSig for the given userID, or for a random `user_xxxxxxxx_xxxx`; valid " +
      "USERSIG_TTL_SECONDS (default 30 days). `sdkAppID` and `accType` are the configured ones.",
    success: success({
      sdkAppID: v.pipe(v.string(), v.description("The configured SDK_APP_ID (digits)")),
      accType: v.pipe(v.string(), v.description("The configured ACCOUNT_TYPE (digits)")),
      userID: v.string(),
      userSig: v.string(),
    }),
    failures: [BAD_PARAM],
    http: UTIL_HTTP_LIMITED,
  },
  get_test_pushurl: {
    summary: "Signed push and play URLs of a random test stream",
    success: success({
      url_push: v.string(),
      url_play_flv: v.string(),
      url_play_rtmp: v.string(),
      url_play_hls: v.string(),
      url_play_acc: v.string(),
    }),
    failures: [],
    http: UTIL_HTTP,
  },
  get_test_rtmpaccurl: {
    summary: "Signed low-latency play URL of a random test stream",
    success: success({ url_rtmpacc: v.string() }),
    failures: [],
    http: UTIL_HTTP,
  },
} as const satisfies Record<string, ActionDoc>;

export const ROOM_RESPONSES = {
  login: {
    summary: "Log in with a userSig; answers a token for this group",
    description:
      "Verifies the userSig (TLSSigAPIv2) and opens a session for this room group, replacing the " +
      "user's previous session in it. Parameters come from the query string; the body may be empty.",
    success: success({ userID: v.string(), token: v.pipe(v.string(), v.description("Signed JWT (HS256)")) }),
    failures: [BAD_PARAM, LOGIN_PARAM, AUTH],
    http: ROOM_HTTP_LIMITED,
  },
  logout: {
    summary: "Revoke the session of this token",
    success: success({}),
    failures: [BAD_PARAM, AUTH],
    http: ROOM_HTTP,
  },
  get_push_url: {
    summary: "A signed rtmp push URL for the caller's stream",
    description:
      "Stream `{bizid}_{userID}` in live_room; `{bizid}_{roomID}_{userID}` in double/multi rooms when " +
      "the body names a roomID.",
    success: success({ pushURL: v.string() }),
    failures: [BAD_PARAM, AUTH],
    http: ROOM_HTTP,
  },
  create_room: {
    summary: "Create a room; the caller becomes its creator",
    description: "roomID is generated (`room_xxxxxxxx_xxxx`) when absent; an existing roomID is code 11.",
    success: success({ roomID: v.string() }),
    failures: [BAD_PARAM, AUTH, ROOM_INFO],
    http: ROOM_HTTP_LIMITED,
  },
  destroy_room: {
    summary: "Destroy a room (creator only)",
    success: success({}),
    failures: [BAD_PARAM, NO_ROOM, AUTH],
    http: ROOM_HTTP,
  },
  add_pusher: {
    summary: "Join a room as a pusher (creates the room if it does not exist)",
    description:
      "pushURL must be one this service issued (get_push_url) for the caller's stream. Re-adding " +
      "refreshes the pusher's info and heartbeat; a full room is code 5001.",
    success: success({}),
    failures: [BAD_PARAM, AUTH, ROOM_INFO, FULL],
    http: ROOM_HTTP_LIMITED,
  },
  delete_pusher: {
    summary: "Leave a room as a pusher",
    description: "The last pusher leaving destroys the room; in live_room, so does the creator leaving.",
    success: success({}),
    failures: [BAD_PARAM, NO_ROOM, NOT_PUSHER, AUTH],
    http: ROOM_HTTP,
  },
  pusher_heartbeat: {
    summary: "Refresh the caller's pusher deadline (HEARTBEAT_TIMEOUT_S, default 20 s)",
    success: success({}),
    failures: [BAD_PARAM, NO_ROOM, NOT_PUSHER, AUTH],
    http: ROOM_HTTP,
  },
  get_pushers: {
    summary: "The room and its pushers (room fields at top level)",
    description: "An unknown room is code 1 here (code 3 in every other room action).",
    success: success(roomViewEntries),
    failures: [PUSHERS_NO_ROOM, BAD_PARAM, AUTH],
    http: ROOM_HTTP,
  },
  get_room_list: {
    summary: "A page of the rooms with at least one pusher",
    description:
      "Ordered by creation time, then roomID: skips `index`, answers at most `cnt` (capped by " +
      "ROOM_LIST_MAX_CNT, default 100); cnt <= 0 gives an empty list.",
    success: success({ rooms: v.array(RoomViewSchema) }),
    failures: [BAD_PARAM, AUTH],
    http: ROOM_HTTP,
  },
  add_audience: {
    summary: "Add or refresh the caller as an audience member (live_room only)",
    success: success({}),
    failures: [BAD_PARAM, NO_ROOM, AUTH, FULL],
    http: ROOM_HTTP,
  },
  delete_audience: {
    summary: "Remove the caller from the audience (live_room only)",
    success: success({}),
    failures: [BAD_PARAM, NO_ROOM, AUTH],
    http: ROOM_HTTP,
  },
  get_audiences: {
    summary: "The room's audience (live_room only)",
    success: success({ audiences: v.array(AudienceViewSchema) }),
    failures: [BAD_PARAM, NO_ROOM, AUTH],
    http: ROOM_HTTP,
  },
  set_custom_field: {
    summary: "inc, dec or set a custom integer field (live_room only)",
    description:
      "`inc`/`dec` by `value` (default 1, >= 0), `set` to `value` (required); an unknown field starts " +
      "at 0 and `dec` stops at 0. Answers the whole map.",
    success: success({ customInfo }),
    failures: [BAD_PARAM, NO_ROOM, AUTH],
    http: ROOM_HTTP,
  },
  get_custom_info: {
    summary: "The room's custom fields (live_room only)",
    success: success({ customInfo }),
    failures: [BAD_PARAM, NO_ROOM, AUTH],
    http: ROOM_HTTP,
  },
  merge_stream: {
    summary: "Start a stream mix through the cloud live API (room creator, live_room only)",
    description:
      "`mergeParams` (a JSON string or object, at most 16 KiB) is POSTed unchanged to the cloud API's " +
      "mix_streamv2.start_mix_stream_advanced; its answer is copied into `result`. A timeout, network " +
      "error or non-2xx upstream is code 6.",
    success: success({ result: MergeResultSchema }),
    failures: [BAD_PARAM, NO_ROOM, UPSTREAM, AUTH],
    http: ROOM_HTTP,
  },
} as const satisfies Record<string, ActionDoc>;

export type UtilActionName = keyof typeof UTIL_RESPONSES;
export type RoomActionName = keyof typeof ROOM_RESPONSES;

/**
 * The body schema of each room action, typed (ROOM_ACTIONS erases it): the typed client's input
 * types come from here. The document builder checks that each is the very schema ROOM_ACTIONS uses.
 */
export const ROOM_BODIES = {
  login: Bodies.empty,
  logout: Bodies.empty,
  get_push_url: Bodies.getPushUrl,
  create_room: Bodies.createRoom,
  destroy_room: Bodies.roomOnly,
  add_pusher: Bodies.addPusher,
  delete_pusher: Bodies.roomOnly,
  pusher_heartbeat: Bodies.roomOnly,
  get_pushers: Bodies.roomOnly,
  get_room_list: Bodies.roomList,
  add_audience: Bodies.addAudience,
  delete_audience: Bodies.roomOnly,
  get_audiences: Bodies.roomOnly,
  set_custom_field: Bodies.setCustomField,
  get_custom_info: Bodies.roomOnly,
  merge_stream: Bodies.mergeStream,
} as const satisfies Record<RoomActionName, v.GenericSchema>;

/** The business failure answer of one action: `code` is one of its documented failure codes. */
export function failureSchema(codes: readonly BusinessFailureCode[]) {
  return v.object({ code: v.picklist(codes), message: v.string() });
}

// Compile-time ties to the shapes the Room object and the directory return: drift fails `tsc`.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const assertSame = <T extends true>(_: T) => undefined;
assertSame<Same<v.InferOutput<typeof PusherViewSchema>, PusherView>>(true);
assertSame<Same<v.InferOutput<typeof RoomViewSchema>, RoomView>>(true);
assertSame<Same<v.InferOutput<typeof AudienceViewSchema>, AudienceView>>(true);
assertSame<Same<v.InferOutput<typeof MergeResultSchema>, MergeResult>>(true);
