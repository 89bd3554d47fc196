// Every input of the protocol, as valibot schemas: the one place that says what a request may carry.
// Bounds are the contract's (section 3): ids by charset and length, every other string by UTF-8 bytes.
import * as v from "valibot";
import { Code, ProtocolError } from "./codes";

export const LIMITS = {
  userID: 32,
  roomID: 64,
  roomInfo: 1024,
  userInfo: 1024,
  userName: 128,
  userAvatar: 1024,
  pushURL: 1024,
  userSig: 2048,
  token: 1024,
  fieldName: 64,
  customFields: 32,
  /** Largest JSON body a room action accepts (merge_stream's 16 KiB mergeParams, escaped, fits). */
  bodyBytes: 64 * 1024,
  /** Largest |index| / |value| accepted: beyond any real list or counter, and exact in a double. */
  integer: 2 ** 31 - 1,
} as const;

const encoder = new TextEncoder();
export const utf8Bytes = (s: string): number => encoder.encode(s).length;

// C0/C1 controls (tab, CR and LF are allowed in free text) and lone surrogates are never meaningful here.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
const cleanText = v.check<string, string>(
  (s) => !CONTROL.test(s) && s.isWellFormed(),
  "contains control characters or invalid Unicode",
);

/** A string of at most `max` UTF-8 bytes with no control characters. */
export const text = (max: number) =>
  v.pipe(
    v.string("must be a string"),
    cleanText,
    v.check((s) => utf8Bytes(s) <= max, `longer than ${max} bytes`),
  );

export const UserID = v.pipe(
  v.string("must be a string"),
  v.regex(/^[A-Za-z0-9_-]{1,32}$/, "must be 1-32 characters of A-Z a-z 0-9 _ -"),
);
export const RoomID = v.pipe(
  v.string("must be a string"),
  v.regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 characters of A-Z a-z 0-9 _ -"),
);

/** An integer sent as a JSON number or a numeric string (the original clients do both). */
export const Int = v.pipe(
  v.union(
    [v.number(), v.pipe(v.string(), v.regex(/^\s*[+-]?\d{1,16}\s*$/, "must be an integer"))],
    "must be an integer",
  ),
  v.transform(Number),
  v.integer("must be an integer"),
  v.minValue(-LIMITS.integer, "out of range"),
  v.maxValue(LIMITS.integer, "out of range"),
);

// roomInfo over its bound is its own code (11), not code 2: the message marks the issue for `parse`.
const ROOM_INFO_TOO_LONG = "roomInfo longer than 1024 bytes";
const RoomInfo = v.pipe(
  v.string("must be a string"),
  cleanText,
  v.check((s) => utf8Bytes(s) <= LIMITS.roomInfo, ROOM_INFO_TOO_LONG),
);

const roomTarget = { roomID: RoomID };
// A body userID is allowed (old clients send it) and must equal the token's user: checked by auth.
const bodyUser = { userID: v.optional(v.string()) };

export const Bodies = {
  empty: v.object({ ...bodyUser }),
  getPushUrl: v.object({ ...bodyUser, roomID: v.optional(RoomID) }),
  roomOnly: v.object({ ...bodyUser, ...roomTarget }),
  createRoom: v.object({ ...bodyUser, roomID: v.optional(RoomID), roomInfo: RoomInfo }),
  addPusher: v.object({
    ...bodyUser,
    ...roomTarget,
    roomInfo: v.optional(RoomInfo),
    userName: text(LIMITS.userName),
    userAvatar: text(LIMITS.userAvatar),
    pushURL: v.pipe(v.string("must be a string"), v.maxLength(LIMITS.pushURL, `longer than ${LIMITS.pushURL} bytes`)),
  }),
  roomList: v.object({ ...bodyUser, cnt: Int, index: v.pipe(Int, v.minValue(0, "must be >= 0")) }),
  addAudience: v.object({ ...bodyUser, ...roomTarget, userInfo: text(LIMITS.userInfo) }),
  setCustomField: v.pipe(
    v.object({
      ...bodyUser,
      ...roomTarget,
      fieldName: v.pipe(text(LIMITS.fieldName), v.minLength(1, "must not be empty")),
      operation: v.picklist(["inc", "dec", "set"], "must be inc, dec or set"),
      value: v.optional(Int),
    }),
    v.forward(
      v.check((b) => b.operation !== "set" || b.value !== undefined, "is required for set"),
      ["value"],
    ),
    // Counters are never negative (dec floors at 0), so no operation may take a negative value.
    v.forward(
      v.check((b) => b.value === undefined || b.value >= 0, "must be >= 0"),
      ["value"],
    ),
  ),
  mergeStream: v.object({ ...bodyUser, ...roomTarget, mergeParams: v.unknown() }),
} as const;

/**
 * An SDKAppID as login sends it: what the configuration accepts for SDK_APP_ID (1-12 digits), as a JSON
 * number or a numeric string. Wider than Int, whose 2^31 bound would refuse larger app ids as malformed.
 */
const AppID = v.pipe(
  v.union(
    [v.number(), v.pipe(v.string(), v.regex(/^\s*\+?\d{1,12}\s*$/, "must be a number of at most 12 digits"))],
    "must be a number of at most 12 digits",
  ),
  v.transform(Number),
  v.integer("must be an integer"),
  v.minValue(0, "must be a number of at most 12 digits"),
  v.maxValue(999_999_999_999, "must be a number of at most 12 digits"),
);

export const Queries = {
  /** Every authenticated action. */
  auth: v.object({ userID: UserID, token: v.pipe(v.string(), v.minLength(1), v.maxLength(LIMITS.token)) }),
  login: v.object({
    sdkAppID: AppID,
    accountType: v.pipe(v.string(), v.minLength(1, "is required"), v.maxLength(32)),
    userID: UserID,
    userSig: v.pipe(v.string(), v.minLength(1, "is required"), v.maxLength(LIMITS.userSig)),
  }),
  loginInfo: v.object({
    userID: v.optional(v.union([v.literal(""), UserID], "must be 1-32 characters of A-Z a-z 0-9 _ -")),
  }),
} as const;

/**
 * Validates untrusted input against a schema; on failure throws the protocol's answer naming the
 * first bad parameter (`code` 2 unless the caller says otherwise; roomInfo over its bound is 11).
 */
export function parse<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
  code: typeof Code.BAD_PARAM | typeof Code.LOGIN_PARAM = Code.BAD_PARAM,
): v.InferOutput<S> {
  const result = v.safeParse(schema, input, { abortPipeEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  if (issue.message === ROOM_INFO_TOO_LONG) throw ProtocolError.of(Code.ROOM_INFO, "roomInfo 超过 1024 字节");
  const name = v.getDotPath(issue) ?? "body";
  const problem = issue.input === undefined ? "is required" : issue.message;
  throw ProtocolError.of(code, `${name} ${problem}`);
}
