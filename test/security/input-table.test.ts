// Hostile input, table-driven: for every action of every group, each kind of bad input the issue names
// is sent by the room's own creator (so that a request wrongly accepted would change something), and
// must answer the contract's code AND leave everything as it was: the room as the four read actions
// see it, its directory listing, every row of its storage and its alarm, the caller's session, and no
// room object created anywhere else.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createFakeLiveApi, fetchVia } from "../../dev/fake-live-api";
import { parseConfig } from "../../src/config";
import { pushUrl, signerFromConfig } from "../../src/live/urls";
import { LIMITS } from "../../src/protocol/schemas";
import type { RoomKind } from "../../src/rooms/types";
import {
  expectWellFormed,
  hasStorage,
  KINDS,
  type Reply,
  randomName,
  roomStub,
  SDK_APP_ID,
  type Send,
  Session,
  send,
  snapshot,
  storedSession,
  unlimited,
  userSigFor,
} from "./support";

const router = unlimited();
const signer = signerFromConfig(parseConfig({ ENVIRONMENT: "development" }));

let total = 0;
const perAction = new Map<string, number>();
afterAll(() => {
  const lines = [...perAction].map(([k, n]) => `${k}=${n}`).join(" ");
  console.warn(`input-table: ${total} cases (${lines})`);
});

// ------------------------------------------------------------------ hostile values

const BOMB_DEPTH = 30_000; // 60 KB of brackets: under the 64 KiB body limit, deeper than any parser needs
const arrayBomb = () => `${"[".repeat(BOMB_DEPTH)}${"]".repeat(BOMB_DEPTH)}`;
/** JSON text of a body whose `field` is a nesting bomb (raw: the bomb is not built with JSON.stringify). */
const bombIn = (body: Record<string, unknown>, field: string) => {
  const { [field]: _drop, ...rest } = body;
  const head = JSON.stringify(rest).slice(0, -1);
  return `${head}${head.length > 1 ? "," : ""}${JSON.stringify(field)}:${arrayBomb()}}`;
};

const WRONG_TYPES: Array<[string, unknown]> = [
  ["number", 123],
  ["float", 1.5],
  ["true", true],
  ["null", null],
  ["array", []],
  ["object", {}],
];
const CONTROL: Array<[string, (s: string) => string]> = [
  ["NUL", (s) => `${s}\u0000`],
  ["BEL", (s) => `\u0007${s}`],
  ["ESC sequence", (s) => `\u001b[31m${s}`],
  ["DEL", (s) => `${s}\u007f`],
  ["C1 NEL", (s) => `${s}\u0085`],
  ["lone high surrogate", (s) => `${s}\ud800`],
  ["lone low surrogate", (s) => `\udc00${s}`],
  ["reversed pair", (s) => `${s}\udc00\ud800`],
];
const BAD_IDS: string[] = [
  "a/b",
  "../x",
  "..",
  "x' OR '1'='1",
  "x;DROP TABLE room",
  'x"); DELETE FROM pushers;--',
  "x%2Fy",
  "a\\b",
  "a.b",
  "a:b",
  " x",
  "x ",
  "x\n",
  "日本",
  "x#y",
  "x?y=1",
  "",
  "a".repeat(65),
];
const NUMBER_FAULTS: Array<[string, unknown]> = [
  ["true", true],
  ["null", null],
  ["array", [1]],
  ["object", { n: 1 }],
  ["word", "abc"],
  ["empty string", ""],
  ["float", 1.5],
  ["float string", "1.5"],
  ["exponent string", "1e3"],
  ["hex string", "0x10"],
  ["2^31", 2 ** 31],
  ["2^31 as string", "2147483648"],
  ["-(2^31)", -(2 ** 31)],
  ["17 digits", "99999999999999999"],
  ["1e300", 1e300],
  ["huge negative string", "-9999999999999999"],
];
const NOT_JSON: Array<[string, BodyInit]> = [
  ["truncated", "{"],
  ["form-encoded", "roomID=x&cnt=1"],
  ["array", "[]"],
  ["null", "null"],
  ["number", "123"],
  ["string", '"str"'],
  ["trailing garbage", '{"a":1} x'],
  ["single quotes", "{'roomID':'x'}"],
  ["NaN", '{"cnt":NaN}'],
];
const NOT_UTF8: Array<[string, BodyInit]> = [
  ["0xff", new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])],
  ["overlong '/'", new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d])],
  ["UTF-8 encoded surrogate", new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d])],
  ["truncated sequence", new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe4, 0xbd, 0x22, 0x7d])],
  ["UTF-16 with BOM", new Uint8Array([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00])],
];
const streamOf = (size: number) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      const chunk = new TextEncoder().encode(" ".repeat(8192));
      for (let sent = 0; sent < size; sent += chunk.byteLength) controller.enqueue(chunk);
      controller.close();
    },
  });
const OVERSIZE: Array<[string, () => BodyInit]> = [
  ["64 KiB + 1", () => `{"roomInfo":"${"x".repeat(LIMITS.bodyBytes - 14)}"}`],
  ["2 MB", () => `{"a":"${"x".repeat(2_000_000)}"}`],
  ["streamed, no content-length", () => streamOf(LIMITS.bodyBytes + 8192)],
];

// ------------------------------------------------------------------ the actions

type Field =
  | { type: "roomID"; optional?: boolean }
  | { type: "roomInfo"; optional?: boolean }
  | { type: "text"; max: number; optional?: boolean }
  | { type: "int"; min0?: boolean }
  | { type: "pushURL" }
  | { type: "operation" }
  | { type: "value" }
  | { type: "mergeParams" };

interface Fixture {
  kind: RoomKind;
  roomID: string;
  host: Session;
  guest: Session;
  viewer: Session;
  hostPushURL: string;
}

interface ActionSpec {
  liveOnly?: boolean;
  fields: Record<string, Field>;
  /** The creator's valid request (a fresh roomID where a valid one would create a room). */
  valid(f: Fixture): Record<string, unknown>;
}

const ACTIONS: Record<string, ActionSpec> = {
  logout: { fields: {}, valid: () => ({}) },
  get_push_url: { fields: { roomID: { type: "roomID", optional: true } }, valid: (f) => ({ roomID: f.roomID }) },
  create_room: {
    fields: { roomID: { type: "roomID", optional: true }, roomInfo: { type: "roomInfo" } },
    valid: () => ({ roomID: randomName("new"), roomInfo: "info" }),
  },
  destroy_room: { fields: { roomID: { type: "roomID" } }, valid: (f) => ({ roomID: f.roomID }) },
  add_pusher: {
    fields: {
      roomID: { type: "roomID" },
      roomInfo: { type: "roomInfo", optional: true },
      userName: { type: "text", max: LIMITS.userName },
      userAvatar: { type: "text", max: LIMITS.userAvatar },
      pushURL: { type: "pushURL" },
    },
    // A refresh with the stored info: accepted, it would still move the pusher's deadline.
    valid: (f) => ({
      roomID: f.roomID,
      userName: f.host.user,
      userAvatar: "https://example.test/a.png",
      pushURL: f.hostPushURL,
    }),
  },
  delete_pusher: { fields: { roomID: { type: "roomID" } }, valid: (f) => ({ roomID: f.roomID }) },
  pusher_heartbeat: { fields: { roomID: { type: "roomID" } }, valid: (f) => ({ roomID: f.roomID }) },
  get_pushers: { fields: { roomID: { type: "roomID" } }, valid: (f) => ({ roomID: f.roomID }) },
  get_room_list: {
    fields: { cnt: { type: "int" }, index: { type: "int", min0: true } },
    valid: () => ({ cnt: 10, index: 0 }),
  },
  add_audience: {
    liveOnly: true,
    fields: { roomID: { type: "roomID" }, userInfo: { type: "text", max: LIMITS.userInfo } },
    valid: (f) => ({ roomID: f.roomID, userInfo: "changed-info" }),
  },
  delete_audience: { liveOnly: true, fields: { roomID: { type: "roomID" } }, valid: (f) => ({ roomID: f.roomID }) },
  get_audiences: { liveOnly: true, fields: { roomID: { type: "roomID" } }, valid: (f) => ({ roomID: f.roomID }) },
  set_custom_field: {
    liveOnly: true,
    fields: {
      roomID: { type: "roomID" },
      fieldName: { type: "text", max: LIMITS.fieldName },
      operation: { type: "operation" },
      value: { type: "value" },
    },
    valid: (f) => ({ roomID: f.roomID, fieldName: "likes", operation: "inc", value: 1 }),
  },
  get_custom_info: { liveOnly: true, fields: { roomID: { type: "roomID" } }, valid: (f) => ({ roomID: f.roomID }) },
  merge_stream: {
    liveOnly: true,
    fields: { roomID: { type: "roomID" }, mergeParams: { type: "mergeParams" } },
    valid: (f) => ({ roomID: f.roomID, mergeParams: { timestamp: 1, eventId: 1, interface: { para: { app_id: 1 } } } }),
  },
};

interface Case {
  name: string;
  request: Send;
  status: number;
  code: number;
  /** A room id the request names, which must not come into existence. */
  target?: string;
}

const reject = (name: string, request: Send, code: number, target?: string): Case => ({
  name,
  request,
  status: code >= 400 ? code : 200,
  code,
  target,
});

/** Bad values for one field, with the code each must get. */
async function fieldCases(f: Fixture, name: string, field: Field): Promise<Array<[string, unknown, number]>> {
  const out: Array<[string, unknown, number]> = [];
  const MISSING = Symbol("missing");
  const wrongTypes = () => {
    for (const [t, v] of WRONG_TYPES) out.push([t, v, 2]);
  };
  switch (field.type) {
    case "roomID": {
      if (!field.optional) out.push(["missing", MISSING, 2]);
      wrongTypes();
      out.push(["the fixture id in an array", [f.roomID], 2], ["the fixture id in an object", { roomID: f.roomID }, 2]);
      for (const id of BAD_IDS) out.push([`id ${JSON.stringify(id)}`, id, 2]);
      for (const [c, wrap] of CONTROL) out.push([c, wrap(f.roomID), 2]);
      break;
    }
    case "roomInfo": {
      if (!field.optional) out.push(["missing", MISSING, 2]);
      wrongTypes();
      out.push(["1025 ASCII bytes", "x".repeat(1025), 11], ["1026 UTF-8 bytes in 342 chars", "你".repeat(342), 11]);
      for (const [c, wrap] of CONTROL) out.push([c, wrap("info"), 2]);
      break;
    }
    case "text": {
      if (!field.optional) out.push(["missing", MISSING, 2]);
      wrongTypes();
      out.push(
        [`${field.max + 1} ASCII bytes`, "y".repeat(field.max + 1), 2],
        [`${field.max + 2}+ UTF-8 bytes`, "你".repeat(Math.ceil((field.max + 1) / 3)), 2],
      );
      if (name === "fieldName") out.push(["empty", "", 2]);
      for (const [c, wrap] of CONTROL) out.push([c, wrap("txt"), 2]);
      break;
    }
    case "int": {
      out.push(["missing", MISSING, 2]);
      for (const [t, v] of NUMBER_FAULTS) out.push([t, v, 2]);
      if (field.min0) out.push(["-1", -1, 2], ['"-1"', "-1", 2]);
      break;
    }
    case "value": {
      for (const [t, v] of NUMBER_FAULTS) out.push([t, v, 2]);
      out.push(["negative for inc", -1, 2]);
      break;
    }
    case "operation": {
      out.push(["missing", MISSING, 2]);
      wrongTypes();
      for (const op of ["INC", "add", "", "inc ", "set\u0000"]) out.push([`op ${JSON.stringify(op)}`, op, 2]);
      break;
    }
    case "pushURL": {
      out.push(["missing", MISSING, 2]);
      wrongTypes();
      const url = new URL(f.hostPushURL);
      const stream = url.pathname.split("/").pop()!;
      const past = Math.floor(Date.now() / 1000) - 8 * 86400;
      const secret = url.searchParams.get("txSecret")!;
      const flipped = `${secret.slice(0, -1)}${secret.endsWith("0") ? "1" : "0"}`;
      out.push(
        ["1025 chars", `${f.hostPushURL}&${"p".repeat(1025)}`, 2],
        ["another user's URL", await f.guest.pushUrl(f.roomID), 2],
        // In live rooms the stream is the user's whatever the room: there, "another room" is a txTime one digit longer.
        [
          "another room's URL",
          await f.host.pushUrl(randomName("other")).then((u) => (f.kind === "live_room" ? `${u}0` : u)),
          2,
        ],
        ["tampered txSecret", f.hostPushURL.replace(secret, flipped), 2],
        ["expired", await pushUrl(signer, stream, past), 2],
        ["signed with another key", await pushUrl({ ...signer, pushKey: "f".repeat(32) }, stream), 2],
        ["other host", f.hostPushURL.replace("push.example.test", "push.evil.test"), 2],
        ["http scheme", f.hostPushURL.replace("rtmp://", "http://"), 2],
        ["extra parameter", `${f.hostPushURL}&x=1`, 2],
        ["fragment", `${f.hostPushURL}#x`, 2],
        ["userinfo", f.hostPushURL.replace("rtmp://", "rtmp://u:p@"), 2],
        ["dot segment", f.hostPushURL.replace("/live/", "/live/../live/"), 2],
        ["newline inside", f.hostPushURL.replace("?", "\n?"), 2],
        [
          "test stream of get_test_pushurl",
          (await send(router, { group: "utils", action: "get_test_pushurl" })).body.url_push,
          2,
        ],
      );
      for (const [c, wrap] of CONTROL) out.push([c, wrap(f.hostPushURL), 2]);
      break;
    }
    case "mergeParams": {
      out.push(["missing", MISSING, 2]);
      for (const [t, v] of WRONG_TYPES) if (t !== "array" && t !== "object") out.push([t, v, 2]);
      out.push(
        ["not JSON", "{nope", 2],
        ["JSON string of a string", '"x"', 2],
        ["JSON number", "42", 2],
        ["over 16 KiB as a string", JSON.stringify({ big: "x".repeat(17 * 1024) }), 2],
        ["over 16 KiB as an object", { big: "x".repeat(17 * 1024) }, 2],
      );
      break;
    }
  }
  return out.map(([label, value, code]) => [label, value === MISSING ? undefined : value, code]);
}

/** Every case for one action of one kind. */
async function casesFor(f: Fixture, action: string, spec: ActionSpec): Promise<Case[]> {
  const cases: Case[] = [];
  const base = (over: Partial<Send> = {}): Send => ({ group: f.kind, action, query: f.host.query, ...over });
  const valid = () => spec.valid(f);

  // Per field: missing, wrong types, bounds, control characters, metacharacters, nesting bomb.
  for (const [name, field] of Object.entries(spec.fields)) {
    for (const [label, value, code] of await fieldCases(f, name, field)) {
      const body = { ...valid() };
      if (value === undefined) delete body[name];
      else body[name] = value;
      const target = typeof body.roomID === "string" && body.roomID !== f.roomID ? body.roomID : undefined;
      cases.push(reject(`${name}: ${label}`, base({ body }), code, target));
    }
    const body = valid();
    cases.push(reject(`${name}: nesting bomb`, base({ raw: bombIn(body, name) }), 2));
  }

  // A body userID must be the token's user.
  for (const [label, value] of [
    ["another user", "mallory"],
    ["number", 5],
    ["null", null],
    ["array of the user", [f.host.user]],
    ["with a trailing space", `${f.host.user} `],
    ["upper-cased", f.host.user.toUpperCase()],
  ] as Array<[string, unknown]>) {
    cases.push(reject(`body userID: ${label}`, base({ body: { ...valid(), userID: value } }), 7));
  }
  cases.push(reject("body userID: nesting bomb", base({ raw: bombIn(valid(), "userID") }), 7));

  // The query: identity and token.
  const good = f.host.query;
  const q = (pairs: Array<[string, string]>) => base({ query: pairs, body: valid() });
  cases.push(
    reject("query: no token", q([["userID", good.userID]]), 7),
    reject("query: no userID", q([["token", good.token]]), 7),
    reject(
      "query: empty token",
      q([
        ["userID", good.userID],
        ["token", ""],
      ]),
      7,
    ),
    reject(
      "query: garbage token",
      q([
        ["userID", good.userID],
        ["token", "a.b.c"],
      ]),
      7,
    ),
    reject(
      "query: another user's userID",
      q([
        ["userID", f.guest.user],
        ["token", good.token],
      ]),
      7,
    ),
    reject(
      "query: userID twice (same)",
      q([
        ["userID", good.userID],
        ["userID", good.userID],
        ["token", good.token],
      ]),
      2,
    ),
    reject(
      "query: userID twice (other)",
      q([
        ["userID", good.userID],
        ["userID", f.guest.user],
        ["token", good.token],
      ]),
      2,
    ),
    reject(
      "query: token twice",
      q([
        ["userID", good.userID],
        ["token", good.token],
        ["token", f.guest.token],
      ]),
      2,
    ),
  );
  for (const bad of ["a b", "a/b", "../x", "ü", "a".repeat(33), "x\u0000", "x'--", "\ud800"]) {
    cases.push(
      reject(
        `query: userID ${JSON.stringify(bad)}`,
        q([
          ["userID", bad],
          ["token", good.token],
        ]),
        2,
      ),
    );
  }

  // The body as a whole.
  for (const [label, raw] of NOT_JSON) cases.push(reject(`body: not JSON (${label})`, base({ raw }), 400));
  for (const [label, raw] of NOT_UTF8) cases.push(reject(`body: not UTF-8 (${label})`, base({ raw }), 400));
  for (const [label, raw] of OVERSIZE) cases.push(reject(`body: over the limit (${label})`, base({ raw: raw() }), 413));
  cases.push(reject("method GET", base({ method: "GET" }), 405), reject("method PUT", base({ method: "PUT" }), 405));
  return cases;
}

/** login: query parameters (code 4), verification (7), body and method; the session must not move. */
async function loginCases(f: Fixture): Promise<Case[]> {
  const user = f.host.user; // a login wrongly accepted would replace the host's session
  const sig = await userSigFor(user);
  const good: Record<string, string> = {
    sdkAppID: String(SDK_APP_ID),
    accountType: "36862",
    userID: user,
    userSig: sig,
  };
  const req = (over: Record<string, string | undefined>, extra: Partial<Send> = {}): Send => {
    const pairs = Object.entries({ ...good, ...over }).filter((p): p is [string, string] => p[1] !== undefined);
    return { group: f.kind, action: "login", query: pairs, ...extra };
  };
  const now = Math.floor(Date.now() / 1000);
  const cases: Case[] = [];
  for (const name of Object.keys(good)) {
    cases.push(reject(`${name}: missing`, req({ [name]: undefined }), 4));
    cases.push(
      reject(`${name}: twice (same)`, { ...req({}), query: [...Object.entries(good), [name, good[name]!]] }, 4),
    );
    cases.push(reject(`${name}: empty`, req({ [name]: "" }), 4));
  }
  for (const v of ["abc", "1.5", "1e9", "0x10", "9999999999999", "-1400000000", " ", "1400000000 1"]) {
    cases.push(reject(`sdkAppID ${JSON.stringify(v)}`, req({ sdkAppID: v }), 4));
  }
  cases.push(reject("sdkAppID of another app", req({ sdkAppID: "1400000001" }), 7));
  cases.push(reject("sdkAppID of another app above 2^31", req({ sdkAppID: "2147483648" }), 7));
  cases.push(reject("accountType over 32 chars", req({ accountType: "9".repeat(33) }), 4));
  for (const bad of ["a b", "a/b", "../x", "ü", "a".repeat(33), "x\u0000", "x' OR '1'='1", "\ud800"]) {
    cases.push(reject(`userID ${JSON.stringify(bad)}`, req({ userID: bad }), 4));
  }
  cases.push(
    reject("userSig garbage", req({ userSig: "not*a*sig" }), 4),
    reject("userSig not base64", req({ userSig: "%%%%" }), 4),
    reject("userSig over 2048 chars", req({ userSig: "A".repeat(2049) }), 4),
    reject("userSig with control characters", req({ userSig: `${sig}\u0000` }), 4),
    reject("userSig of another user", req({ userSig: await userSigFor(f.guest.user) }), 7),
    reject("userSig expired", req({ userSig: await userSigFor(user, { expire: 10, now: now - 3600 }) }), 7),
    reject("userSig of another key", req({ userSig: await userSigFor(user, { key: "k".repeat(64) }) }), 7),
    reject("userSig of another app", req({ userSig: await userSigFor(user, { appId: 1400000001 }) }), 7),
  );
  for (const [label, raw] of NOT_JSON) cases.push(reject(`body: not JSON (${label})`, req({}, { raw }), 400));
  for (const [label, raw] of NOT_UTF8) cases.push(reject(`body: not UTF-8 (${label})`, req({}, { raw }), 400));
  for (const [label, raw] of OVERSIZE)
    cases.push(reject(`body: over the limit (${label})`, req({}, { raw: raw() }), 413));
  cases.push(reject("body userID: number", req({}, { body: { userID: 5 } }), 2));
  cases.push(reject("method GET", req({}, { method: "GET" }), 405));
  return cases;
}

// ------------------------------------------------------------------ running a case

async function fixture(kind: RoomKind): Promise<Fixture> {
  const [host, guest, viewer] = await Promise.all([
    Session.login(router, kind),
    Session.login(router, kind),
    Session.login(router, kind),
  ]);
  const roomID = randomName("fx");
  expect((await host.do("create_room", { roomID, roomInfo: "fixture" })).code).toBe(0);
  expect((await host.join(roomID)).code).toBe(0);
  expect((await guest.join(roomID)).code).toBe(0);
  if (kind === "live_room") {
    expect((await host.do("add_audience", { roomID, userInfo: "host-info" })).code).toBe(0);
    expect((await guest.do("add_audience", { roomID, userInfo: "guest-info" })).code).toBe(0);
    expect((await host.do("set_custom_field", { roomID, fieldName: "likes", operation: "set", value: 3 })).code).toBe(
      0,
    );
  }
  // Keep the pushers alive for the whole file: deadlines an hour away, and the alarm moved there.
  const stub = roomStub(kind, roomID);
  await runInDurableObject(stub, (_instance, state) => {
    state.storage.sql.exec("UPDATE pushers SET deadline = ?", Date.now() + 3_600_000);
  });
  await runDurableObjectAlarm(stub);
  return { kind, roomID, host, guest, viewer, hostPushURL: await host.pushUrl(roomID) };
}

async function observe(f: Fixture, target?: string) {
  const [room, session, created] = await Promise.all([
    snapshot(f.viewer, f.roomID),
    storedSession(f.kind, f.host.user),
    target && /^[A-Za-z0-9_-]{1,64}$/.test(target) ? hasStorage(f.kind, target) : false,
  ]);
  return { room, session, created };
}

async function run(f: Fixture, label: string, cases: Case[]): Promise<void> {
  const baseline = await observe(f);
  expect(baseline.room.pushers.code).toBe(0);
  const failures: string[] = [];
  for (const c of cases) {
    let r: Reply;
    try {
      r = await send(router, c.request);
      expectWellFormed(r, c.name);
    } catch (err) {
      failures.push(`${c.name}: ${String(err).slice(0, 300)}`);
      continue;
    }
    if (r.status !== c.status || r.body.code !== c.code) {
      failures.push(
        `${c.name}: expected ${c.status}/${c.code}, got ${r.status}/${r.body.code} ${r.text.slice(0, 160)}`,
      );
    }
    const after = await observe(f, c.target);
    if (after.created) failures.push(`${c.name}: created room ${JSON.stringify(c.target)}`);
    try {
      expect(after.room).toEqual(baseline.room);
      expect(after.session).toBe(baseline.session);
    } catch (err) {
      failures.push(`${c.name}: state changed: ${String(err).slice(0, 600)}`);
    }
  }
  total += cases.length;
  perAction.set(label, (perAction.get(label) ?? 0) + cases.length);
  expect(failures, failures.join("\n")).toEqual([]);
}

// ------------------------------------------------------------------ the table

describe.each(KINDS)("%s", (kind) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture(kind);
  });

  it("login", async () => {
    await run(f, "login", await loginCases(f));
  });

  for (const [action, spec] of Object.entries(ACTIONS)) {
    if (spec.liveOnly && kind !== "live_room") continue;
    it(action, async () => {
      const upstream = createFakeLiveApi();
      const fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(fetchVia(upstream));
      try {
        await run(f, action, await casesFor(f, action, spec));
        // Nothing rejected ever reached the cloud live API.
        expect(fetchSpy).not.toHaveBeenCalled();
      } finally {
        fetchSpy.mockRestore();
      }
    });
  }

  it("get_room_list: cnt <= 0 is an empty page, huge in-range values are capped, not errors", async () => {
    const cases: Array<[Record<string, unknown>, number]> = [
      [{ cnt: 0, index: 0 }, 0],
      [{ cnt: -1, index: 0 }, 0],
      [{ cnt: "-5", index: "0" }, 0],
      [{ cnt: -(2 ** 31 - 1), index: 0 }, 0],
    ];
    for (const [body] of cases) {
      const r = await f.viewer.do("get_room_list", body);
      expect(r, JSON.stringify(body)).toMatchObject({ code: 0, rooms: [] });
    }
    const capped = await f.viewer.do("get_room_list", { cnt: 2 ** 31 - 1, index: 0 });
    expect(capped.code).toBe(0);
    expect(capped.rooms.some((r: { roomID: string }) => r.roomID === f.roomID)).toBe(true);
    expect((await f.viewer.do("get_room_list", { cnt: " 5 ", index: "+0" })).code).toBe(0);
    expect(await f.viewer.do("get_room_list", { cnt: 10, index: 2 ** 31 - 1 })).toMatchObject({ code: 0, rooms: [] });
    total += 8;
  });
});

describe("utils", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture("multi_room");
  });

  it("get_login_info refuses userIDs outside the charset and duplicates (code 2)", async () => {
    const cases: Case[] = [];
    for (const bad of [
      "a b",
      "a/b",
      "../x",
      "ü",
      "a".repeat(33),
      "x\u0000",
      "x' OR '1'='1",
      "x;DROP",
      "\ud800",
      "a%00",
    ]) {
      for (const method of ["GET", "POST"]) {
        cases.push(
          reject(
            `${method} userID ${JSON.stringify(bad)}`,
            { group: "utils", action: "get_login_info", method, query: [["userID", bad]] },
            2,
          ),
        );
      }
    }
    cases.push(
      reject(
        "userID twice (same)",
        {
          group: "utils",
          action: "get_login_info",
          method: "GET",
          query: [
            ["userID", "al"],
            ["userID", "al"],
          ],
        },
        2,
      ),
      reject(
        "userID twice (other)",
        {
          group: "utils",
          action: "get_login_info",
          method: "GET",
          query: [
            ["userID", "al"],
            ["userID", "bo"],
          ],
        },
        2,
      ),
      reject("PUT", { group: "utils", action: "get_login_info", method: "PUT" }, 405),
    );
    for (const [label, raw] of OVERSIZE) {
      cases.push(
        reject(`body over the limit (${label})`, { group: "utils", action: "get_login_info", raw: raw() }, 413),
      );
    }
    await run(f, "get_login_info", cases);
  });

  it("get_test_pushurl / get_test_rtmpaccurl take no input: oversize 413, wrong method 405, the rest ignored", async () => {
    const cases: Case[] = [];
    for (const action of ["get_test_pushurl", "get_test_rtmpaccurl"]) {
      for (const [label, raw] of OVERSIZE)
        cases.push(reject(`${action} body over the limit (${label})`, { group: "utils", action, raw: raw() }, 413));
      cases.push(reject(`${action} DELETE`, { group: "utils", action, method: "DELETE" }, 405));
    }
    await run(f, "utils", cases);
    // No parameters, so nothing to refuse: a junk body or query is ignored (the body is never read).
    for (const action of ["get_test_pushurl", "get_test_rtmpaccurl"]) {
      for (const raw of ["{", "\u0000", "[]"]) {
        const r = await send(router, {
          group: "utils",
          action,
          raw,
          query: [
            ["x", "1"],
            ["x", "2"],
          ],
        });
        expect(r.body.code).toBe(0);
      }
    }
    total += 6;
  });
});

describe("hostile but valid text is stored and answered verbatim", () => {
  it("quotes, SQL, markup, emoji and __proto__ round-trip without effect", async () => {
    const host = await Session.login(router, "live_room");
    const roomID = randomName("vb");
    const roomInfo = `x'); DROP TABLE pushers;-- <script>alert(1)</script> 😀 "quoted" \\ \t\n`;
    expect((await host.do("create_room", { roomID, roomInfo })).code).toBe(0);
    expect(
      (await host.join(roomID, { userName: "Robert'); DROP TABLE room;--", userAvatar: "javascript:alert(1)" })).code,
    ).toBe(0);
    const room = await host.do("get_pushers", { roomID });
    expect(room).toMatchObject({
      code: 0,
      roomInfo,
      pushers: [{ userName: "Robert'); DROP TABLE room;--", userAvatar: "javascript:alert(1)" }],
    });
    for (const fieldName of [
      "__proto__",
      "constructor",
      "toString",
      "hasOwnProperty",
      "'; DROP TABLE custom_fields;--",
    ]) {
      expect((await host.do("set_custom_field", { roomID, fieldName, operation: "set", value: 7 })).code).toBe(0);
    }
    const info = JSON.parse((await host.do("get_custom_info", { roomID })).customInfo);
    expect(Object.keys(info)).toEqual([
      "__proto__",
      "constructor",
      "toString",
      "hasOwnProperty",
      "'; DROP TABLE custom_fields;--",
    ]);
    expect(Object.values(info)).toEqual([7, 7, 7, 7, 7]);
    // The last key wins in a body with a duplicated key (one JSON parser, so no parser differential).
    const dup = await send(router, {
      group: "live_room",
      action: "get_pushers",
      query: host.query,
      raw: `{"roomID":"nope_${roomID}","roomID":"${roomID}"}`,
    });
    expect(dup.body).toMatchObject({ code: 0, roomID });
    total += 1;
  });
});
