// Property test: random sequences of requests, valid and invalid, generated from a model of the protocol
// (every action of every kind, bodies built field by field from valid values and junk, users and room ids
// from small pools so that collisions happen), thrown at the router. After every step the invariants
// hold: a JSON answer with an integer code and a string message, never a 500; no room above its
// capacity; every listed room has a pusher and the directory is in step with the room; a rejected
// request changed nothing (storage, alarm, session); what the model knows (logouts, new logins, joins,
// leaves, destroys) is what the service answers. At the end of each run every room is drained by its
// alarms and must leave nothing behind.
import { evictDurableObject } from "cloudflare:test";
import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createFakeLiveApi, fetchVia } from "../../dev/fake-live-api";
import { parseConfig } from "../../src/config";
import { pushUrl, signerFromConfig } from "../../src/live/urls";
import { Directory } from "../../src/rooms/directory";
import type { RoomKind } from "../../src/rooms/types";
import {
  CAPACITY,
  drainRoom,
  dumpRoom,
  expectWellFormed,
  KINDS,
  listed,
  type Reply,
  randomName,
  retryNow,
  roomStub,
  SDK_APP_ID,
  type Send,
  Session,
  send,
  storedSession,
  unlimited,
  userSigFor,
  viewOf,
} from "./support";

/** Runs of the property and steps per run: bounded so the whole suite stays within a few minutes. */
const NUM_RUNS = 40;
const MAX_STEPS = 30;
const USERS_PER_KIND = 5; // one more than the largest capacity: 5001 happens
const ROOMS_PER_RUN = 2;

const router = unlimited();
const signer = signerFromConfig(parseConfig({ ENVIRONMENT: "development" }));

const ROOM_ACTIONS = [
  "logout",
  "get_push_url",
  "create_room",
  "destroy_room",
  "add_pusher",
  "add_pusher",
  "add_pusher",
  "add_pusher",
  "add_pusher",
  "add_pusher",
  "delete_pusher",
  "pusher_heartbeat",
  "get_pushers",
  "get_room_list",
  "add_audience",
  "delete_audience",
  "get_audiences",
  "set_custom_field",
  "get_custom_info",
  "merge_stream",
] as const;
const LIVE_ONLY = new Set([
  "add_audience",
  "delete_audience",
  "get_audiences",
  "set_custom_field",
  "get_custom_info",
  "merge_stream",
]);
const READS = new Set([
  "get_push_url",
  "get_pushers",
  "get_room_list",
  "get_audiences",
  "get_custom_info",
  "merge_stream",
]);

// ------------------------------------------------------------------ generators

const VALID = "<valid>" as const;
const OMIT = "<omit>" as const;
type Slot = typeof VALID | typeof OMIT | { junk: unknown };

const junk = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    0,
    -1,
    1.5,
    "",
    [],
    {},
    "\u0000",
    "\ud800",
    "a/b",
    "../x",
    "x' OR '1'='1",
    2 ** 31,
    "2147483648",
    "-1",
    " 3 ",
    "inc",
    "set",
    "x".repeat(1100),
  ),
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -5, max: 10 }),
  fc.jsonValue({ maxDepth: 2 }),
);
const slot = (validWeight = 24): fc.Arbitrary<Slot> =>
  fc.oneof(
    { weight: validWeight, arbitrary: fc.constant(VALID) },
    { weight: 1, arbitrary: fc.constant(OMIT) },
    { weight: 1, arbitrary: junk.map((j) => ({ junk: j })) },
  );

const BAD_ROOM_IDS = ["a/b", "../x", "x' OR '1'='1", "x;DROP TABLE room", "", "a".repeat(65), "x\u0000", "日本"];

const rawStepArb = fc.record({
  kind: fc.constantFrom<RoomKind>(...KINDS),
  user: fc.integer({ min: 0, max: USERS_PER_KIND - 1 }),
  action: fc.oneof(
    { weight: 20, arbitrary: fc.constantFrom(...ROOM_ACTIONS) },
    { weight: 2, arbitrary: fc.constant("login") },
    { weight: 1, arbitrary: fc.constantFrom("no_such_action", "LOGIN", "login/", "get_pushers%00", "add_pusher/..") },
  ),
  room: fc.oneof(
    // Room 0 is the hot one (it fills up: 5001), room 1 sees the rest.
    { weight: 8, arbitrary: fc.constant(0) },
    { weight: 4, arbitrary: fc.constant(1) },
    { weight: 1, arbitrary: fc.constantFrom(...BAD_ROOM_IDS) },
  ),
  fields: fc.record({
    roomID: slot(40),
    roomInfo: slot(),
    userName: slot(),
    userAvatar: slot(),
    pushURL: fc.oneof(
      { weight: 10, arbitrary: fc.constant("own") },
      { weight: 2, arbitrary: fc.constantFrom("plain", "otherUser", "otherRoom", "expired", "tampered") },
      { weight: 1, arbitrary: junk.map((j) => ({ junk: j })) },
    ),
    cnt: slot(),
    index: slot(),
    userInfo: slot(),
    fieldName: slot(),
    operation: slot(),
    value: slot(10),
    mergeParams: slot(),
  }),
  op: fc.constantFrom("inc", "dec", "set"),
  small: fc.integer({ min: -2, max: 5 }),
  fieldName: fc.constantFrom("likes", "gifts", "__proto__", "x"),
  bodyUser: fc.oneof(
    { weight: 10, arbitrary: fc.constant("none") },
    { weight: 1, arbitrary: fc.constantFrom("self", "other") },
  ),
  auth: fc.oneof(
    { weight: 24, arbitrary: fc.constant("ok") },
    { weight: 1, arbitrary: fc.constantFrom("none", "otherUser", "dup", "garbage", "stale") },
  ),
  wire: fc.oneof(
    { weight: 40, arbitrary: fc.constant("json") },
    { weight: 1, arbitrary: fc.constantFrom("notjson", "badutf8", "huge", "get", "weapp") },
  ),
  login: fc.oneof(
    { weight: 4, arbitrary: fc.constant("valid") },
    { weight: 1, arbitrary: fc.constantFrom("otherKey", "expired", "otherApp", "garbage", "otherUser") },
  ),
  crossKind: fc.integer({ min: 0, max: 9 }),
  /** Half of the steps are well-formed in every field: they reach the rooms' own rules (3, 5, 11, 5001). */
  clean: fc.boolean(),
  /** Faults between requests: the room object evicted, the directory going down (or back up). */
  fault: fc.oneof(
    { weight: 30, arbitrary: fc.constant("none") },
    { weight: 1, arbitrary: fc.constantFrom("evict", "toggleDirectory") },
  ),
});
// A live_room-only action goes to live_room 8 times in 10; the other 2 check the 404 of the other kinds.
const stepArb = rawStepArb.map((s) =>
  LIVE_ONLY.has(s.action) && s.kind !== "live_room" && s.crossKind < 8 ? { ...s, kind: "live_room" as RoomKind } : s,
);
type Step = typeof stepArb extends fc.Arbitrary<infer T> ? T : never;

/** A step with every field valid (override what the example needs). */
const clean = (over: Partial<Step>): Step => ({
  kind: "double_room",
  user: 0,
  action: "add_pusher",
  room: 0,
  fields: {
    roomID: VALID,
    roomInfo: VALID,
    userName: VALID,
    userAvatar: VALID,
    pushURL: "own",
    cnt: VALID,
    index: VALID,
    userInfo: VALID,
    fieldName: VALID,
    operation: VALID,
    value: VALID,
    mergeParams: VALID,
  },
  op: "inc",
  small: 1,
  fieldName: "likes",
  bodyUser: "none",
  auth: "ok",
  wire: "json",
  login: "valid",
  crossKind: 9,
  clean: true,
  fault: "none",
  ...over,
});

/** Always run first: every outcome the protocol has, so a generator that drifts cannot hide one. */
const EXAMPLE_RUN: Step[] = [
  clean({ action: "get_pushers" }), // 1
  clean({ action: "delete_pusher" }), // 3
  clean({ action: "create_room" }),
  clean({ action: "create_room", user: 1 }), // 11
  clean({ action: "pusher_heartbeat" }), // 5
  clean({ action: "add_pusher" }),
  clean({ action: "add_pusher", user: 1 }),
  clean({ action: "add_pusher", user: 2 }), // 5001: a double room holds 2
  clean({ action: "add_pusher", user: 2, clean: false, fields: { ...clean({}).fields, userName: { junk: 5 } } }), // 2
  clean({ action: "get_pushers", auth: "garbage" }), // 7
  clean({ action: "get_pushers", wire: "notjson" }), // 400
  clean({ action: "add_audience" }), // 404 outside live_room
  clean({ action: "get_pushers", wire: "get" }), // 405
  clean({ action: "get_pushers", wire: "huge" }), // 413
  clean({ action: "get_pushers", fault: "evict" }),
  clean({ action: "delete_pusher", user: 1, fault: "toggleDirectory" }), // the directory is down from here
  clean({ action: "destroy_room" }),
  clean({ action: "add_pusher", user: 3 }),
];

// ------------------------------------------------------------------ the model

interface UserState {
  session: Session;
  /** Whether the model believes `session.token` is the live session. */
  active: boolean;
  /** Tokens the model knows were replaced or revoked. */
  stale: string[];
}

const world = new Map<RoomKind, UserState[]>();
let runNo = 0;
/** While set, every Directory.apply fails (a directory outage); the spy restores it. */
let directoryOutage: { mockRestore(): void } | null = null;
let stepsTaken = 0;
const outcomes = new Map<string, number>();

async function ensureLoggedIn(): Promise<void> {
  for (const kind of KINDS) {
    const users = world.get(kind)!;
    for (const u of users) {
      if (u.active) continue;
      const again = await Session.login(router, kind, u.session.user);
      u.stale.push(u.session.token);
      u.session.token = again.token;
      u.active = true;
    }
  }
}

function materialize(slotValue: Slot, valid: () => unknown, clean = false): unknown {
  if (clean || slotValue === VALID) return valid();
  if (slotValue === OMIT) return undefined;
  return slotValue.junk;
}

async function pushURLFor(step: Step, kind: RoomKind, user: string, other: string, roomID: string): Promise<unknown> {
  const spec = step.clean ? "own" : step.fields.pushURL;
  if (typeof spec === "object") return spec.junk;
  const scoped = kind !== "live_room";
  // A hostile roomID makes no stream name this service would sign: send what a client might forge.
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(roomID))
    return `rtmp://push.example.test/live/8888_${encodeURIComponent(roomID)}_${user}`;
  const streamFor = (u: string, r: string) => (scoped ? `8888_${r}_${u}` : `8888_${u}`);
  switch (spec) {
    case "own":
      return pushUrl(signer, streamFor(user, roomID));
    case "plain":
      return pushUrl(signer, `8888_${user}`);
    case "otherUser":
      return pushUrl(signer, streamFor(other, roomID));
    case "otherRoom":
      return scoped ? pushUrl(signer, streamFor(user, `${roomID}x`)) : pushUrl(signer, `8888_${user}x`);
    case "expired":
      return pushUrl(signer, streamFor(user, roomID), Math.floor(Date.now() / 1000) - 8 * 86400);
    default: {
      const url = await pushUrl(signer, streamFor(user, roomID));
      return url.replace(/txSecret=([0-9a-f])/, (_m, c: string) => `txSecret=${c === "0" ? "1" : "0"}`);
    }
  }
}

interface Built {
  request: Send;
  roomID: string | null;
  /** What the answer must be, when the step's shape decides it regardless of state. */
  expect?: { status: number; code?: number; codes?: number[] };
}

async function build(step: Step, pool: string[]): Promise<Built> {
  const { kind, action } = step;
  const users = world.get(kind)!;
  const me = users[step.user]!;
  const other = users[(step.user + 1) % users.length]!;
  const roomID = typeof step.room === "number" ? pool[step.room]! : step.room;
  const f = step.fields;

  if (action === "login") {
    const user = me.session.user;
    const now = Math.floor(Date.now() / 1000);
    const sig = {
      valid: () => userSigFor(user),
      otherKey: () => userSigFor(user, { key: "k".repeat(64) }),
      expired: () => userSigFor(user, { now: now - 7200, expire: 60 }),
      otherApp: () => userSigFor(user, { appId: SDK_APP_ID + 1 }),
      garbage: async () => "not*a*sig",
      otherUser: () => userSigFor(other.session.user),
    }[step.login]!;
    return {
      request: {
        group: kind,
        action,
        query: { sdkAppID: SDK_APP_ID, accountType: "36862", userID: user, userSig: await sig() },
      },
      roomID: null,
      expect: step.login === "valid" ? { status: 200, code: 0 } : { status: 200, codes: [4, 7] },
    };
  }

  const body: Record<string, unknown> = {};
  const put = (name: string, value: unknown) => {
    if (value !== undefined) body[name] = value;
  };
  put(
    "roomID",
    materialize(f.roomID, () => roomID, step.clean),
  );
  put(
    "roomInfo",
    materialize(f.roomInfo, () => `info ${step.small}`, step.clean),
  );
  put(
    "userName",
    materialize(f.userName, () => `name${step.small}`, step.clean),
  );
  put(
    "userAvatar",
    materialize(f.userAvatar, () => "https://example.test/a.png", step.clean),
  );
  put("pushURL", await pushURLFor(step, kind, me.session.user, other.session.user, roomID));
  put(
    "cnt",
    materialize(f.cnt, () => step.small * 3, step.clean),
  );
  put(
    "index",
    materialize(f.index, () => Math.max(0, step.small), step.clean),
  );
  put(
    "userInfo",
    materialize(f.userInfo, () => `viewer ${step.small}`, step.clean),
  );
  put(
    "fieldName",
    materialize(f.fieldName, () => step.fieldName, step.clean),
  );
  put(
    "operation",
    materialize(f.operation, () => step.op, step.clean),
  );
  put(
    "value",
    materialize(f.value, () => Math.max(0, step.small), step.clean),
  );
  put(
    "mergeParams",
    materialize(f.mergeParams, () => ({ timestamp: 1, eventId: step.small, interface: { para: {} } }), step.clean),
  );
  if (step.bodyUser === "self") body.userID = me.session.user;
  if (step.bodyUser === "other") body.userID = other.session.user;

  const token = me.session.token;
  const queries: Record<string, Array<[string, string]>> = {
    ok: [
      ["userID", me.session.user],
      ["token", token],
    ],
    none: [["userID", me.session.user]],
    otherUser: [
      ["userID", other.session.user],
      ["token", token],
    ],
    dup: [
      ["userID", me.session.user],
      ["userID", me.session.user],
      ["token", token],
    ],
    garbage: [
      ["userID", me.session.user],
      ["token", "x.y.z"],
    ],
    stale: [
      ["userID", me.session.user],
      ["token", me.stale.at(-1) ?? "never.issued.token"],
    ],
  };
  const query = queries[step.auth]!;

  const request: Send = { group: kind, action, query, body };
  let expected: Built["expect"];
  const routeExists =
    (ROOM_ACTIONS as readonly string[]).includes(action) && (!LIVE_ONLY.has(action) || kind === "live_room");
  if (step.wire === "huge") {
    request.raw = `{"roomInfo":"${"x".repeat(70_000)}"}`;
    expected = { status: 413 };
  } else if (!routeExists) {
    expected = { status: 404 };
  } else if (step.wire === "get") {
    request.method = "GET";
    expected = { status: 405 };
  } else if (step.auth !== "ok") {
    expected = step.auth === "dup" ? { status: 200, code: 2 } : { status: 200, code: 7 };
  } else if (!me.active) {
    expected = { status: 200, code: 7 };
  } else if (step.wire === "notjson") {
    request.raw = "{roomID:";
    expected = { status: 400 };
  } else if (step.wire === "badutf8") {
    request.raw = new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]);
    expected = { status: 400 };
  } else if (step.bodyUser === "other") {
    expected = { status: 200, code: 7 };
  }
  if (step.wire === "weapp") request.prefix = "/weapp";
  if (!routeExists && !(ROOM_ACTIONS as readonly string[]).includes(action)) request.path = `/${kind}/${action}`;
  const touched = typeof body.roomID === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(body.roomID) ? body.roomID : null;
  return { request, roomID: touched, expect: expected };
}

// ------------------------------------------------------------------ one step and its invariants

async function observe(kind: RoomKind, roomID: string | null, user: string) {
  const [storage, session] = await Promise.all([roomID ? dumpRoom(kind, roomID) : null, storedSession(kind, user)]);
  return { storage, session };
}

const pushersIn = (s: Awaited<ReturnType<typeof dumpRoom>> | null) =>
  ((s?.tables.pushers ?? []) as Array<{ user_id: string }>).map((p) => p.user_id);
const roomRow = (s: Awaited<ReturnType<typeof dumpRoom>> | null) =>
  (s?.tables.room?.[0] ?? null) as { creator: string; room_info: string } | null;

/** Ends a directory outage and lets every room the run touched send what it kept pending. */
async function directoryBack(touched: Set<string>): Promise<void> {
  if (!directoryOutage) return;
  directoryOutage.mockRestore();
  directoryOutage = null;
  for (const key of touched) {
    const [kind, roomID] = key.split(" ") as [RoomKind, string];
    await retryNow(kind, roomID);
  }
}

async function runStep(
  step: Step,
  pool: string[],
  observer: Map<RoomKind, Session>,
  touched: Set<string>,
): Promise<void> {
  const { kind } = step;
  const me = world.get(kind)![step.user]!;
  const built = await build(step, pool);
  if (built.roomID && pool.includes(built.roomID)) touched.add(`${kind} ${built.roomID}`);
  if (step.fault === "evict" && built.roomID) await evictDurableObject(roomStub(kind, built.roomID)).catch(() => {});
  if (step.fault === "toggleDirectory") {
    if (directoryOutage) await directoryBack(touched);
    else directoryOutage = vi.spyOn(Directory.prototype, "apply").mockRejectedValue(new Error("directory outage"));
  }
  const what = `run ${runNo} ${kind}/${step.action} ${JSON.stringify(built.request.body ?? built.request.raw ?? "").slice(0, 200)} auth=${step.auth} wire=${step.wire}`;
  const before = await observe(kind, built.roomID, me.session.user);

  let r: Reply;
  try {
    r = await send(router, built.request);
  } catch (err) {
    throw new Error(`${what}: ${String(err)}`);
  }
  stepsTaken++;
  const outcome = r.status === 200 ? `code ${r.body.code}` : `HTTP ${r.status}`;
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);

  // 1. The answer's shape.
  expectWellFormed(r, what);
  if (built.expect) {
    expect(r.status, `${what}: ${r.text.slice(0, 200)}`).toBe(built.expect.status);
    if (built.expect.code !== undefined)
      expect(r.body.code, `${what}: ${r.text.slice(0, 200)}`).toBe(built.expect.code);
    if (built.expect.codes) expect(built.expect.codes, `${what}: ${r.text.slice(0, 200)}`).toContain(r.body.code);
  }
  const succeeded = r.status === 200 && r.body.code === 0;

  // 2. The model's sessions.
  if (step.action === "login" && succeeded) {
    me.stale.push(me.session.token);
    me.session.token = r.body.token;
    me.active = true;
  }
  if (step.action === "logout" && succeeded) {
    me.stale.push(me.session.token);
    me.active = false;
  }

  const after = await observe(kind, built.roomID, me.session.user);

  // 3. A rejected request changed nothing; a read changed nothing either way.
  if (!succeeded || READS.has(step.action)) {
    // While the directory is down, the room's own retry alarm may run between the two snapshots: its
    // retry bookkeeping is not the request's doing.
    const settled = (s: typeof before.storage) => (directoryOutage ? withoutRetryBookkeeping(s) : s);
    expect(settled(after.storage), `${what}: storage changed by ${outcome}`).toEqual(settled(before.storage));
    if (step.action !== "login" && step.action !== "logout") expect(after.session, what).toBe(before.session);
  }
  if (!succeeded && (step.action === "login" || step.action === "logout"))
    expect(after.session, what).toBe(before.session);

  // 4. Room invariants: capacity, an alarm for every room that has state, what success means.
  if (built.roomID) {
    const pushers = pushersIn(after.storage);
    const room = roomRow(after.storage);
    expect(pushers.length, `${what}: capacity`).toBeLessThanOrEqual(CAPACITY[kind]);
    expect(new Set(pushers).size, `${what}: duplicate pusher`).toBe(pushers.length);
    if (room || pushers.length > 0) expect(room, `${what}: pushers without a room`).not.toBeNull();
    const hasState = Object.keys(after.storage?.tables ?? {}).length > 0;
    if (hasState) expect(after.storage?.alarm, `${what}: state without an alarm`).not.toBeNull();
    if (succeeded) {
      const user = me.session.user;
      if (step.action === "add_pusher") expect(pushers, what).toContain(user);
      if (step.action === "delete_pusher") expect(pushers, what).not.toContain(user);
      if (step.action === "destroy_room") expect(room, what).toBeNull();
      if (step.action === "create_room") {
        expect(room, what).toMatchObject({
          creator: user,
          room_info: built.request.body && (built.request.body as { roomInfo: string }).roomInfo,
        });
        expect(roomRow(before.storage), `${what}: created over an existing room`).toBeNull();
      }
    }

    // 5. The directory is in step with the room (unless it is down), and lists only rooms with
    // pushers within capacity.
    const view = await observer.get(kind)!.do("get_pushers", { roomID: built.roomID });
    if (view.code === 0)
      expect(
        view.pushers.map((p: { userID: string }) => p.userID),
        what,
      ).toEqual(pushers);
    if (directoryOutage) return;
    const rooms = await listed(kind);
    for (const entry of rooms) {
      expect(entry.pushers.length, `${what}: listed ${entry.roomID}`).toBeGreaterThanOrEqual(1);
      expect(entry.pushers.length, `${what}: listed ${entry.roomID}`).toBeLessThanOrEqual(CAPACITY[kind]);
    }
    const entry = rooms.find((x) => x.roomID === built.roomID);
    if (view.code === 0 && view.pushers.length > 0) expect(entry, `${what}: directory`).toEqual(viewOf(view));
    else expect(entry, `${what}: directory lists a room without pushers`).toBeUndefined();
  }
}

function withoutRetryBookkeeping(s: Awaited<ReturnType<typeof dumpRoom>> | null) {
  if (!s) return s;
  const sync = (s.tables.directory_sync ?? []).map(({ attempts: _a, retry_at: _r, ...rest }) => rest);
  return { tables: { ...s.tables, directory_sync: sync }, alarm: s.alarm === null ? null : "armed" };
}

async function expectInStep(viewer: Session, roomID: string, what: string) {
  const view = await viewer.do("get_pushers", { roomID });
  const entry = (await listed(viewer.kind)).find((x) => x.roomID === roomID);
  if (view.code === 0 && view.pushers.length > 0) expect(entry, what).toEqual(viewOf(view));
  else expect(entry, what).toBeUndefined();
}

// ------------------------------------------------------------------ the property

describe("random requests against the router", () => {
  const observer = new Map<RoomKind, Session>();
  let fetchSpy: { mockRestore(): void };

  beforeAll(async () => {
    fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(fetchVia(createFakeLiveApi()));
    for (const kind of KINDS) {
      const users: UserState[] = [];
      for (let i = 0; i < USERS_PER_KIND; i++) {
        users.push({ session: await Session.login(router, kind, randomName(`fz${i}`)), active: true, stale: [] });
      }
      world.set(kind, users);
      observer.set(kind, await Session.login(router, kind, randomName("obs")));
    }
  });
  afterAll(() => fetchSpy.mockRestore());

  it(`holds every invariant over ${NUM_RUNS} runs of up to ${MAX_STEPS} steps`, { timeout: 240_000 }, async () => {
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...KINDS),
        fc.array(stepArb, { minLength: 10, maxLength: MAX_STEPS }),
        async (focus, drawn) => {
          runNo++;
          // Most steps of a run go to one kind, so that its two rooms fill up (5001) and users collide.
          const steps = drawn.map((s) => (s.crossKind < 7 && !LIVE_ONLY.has(s.action) ? { ...s, kind: focus } : s));
          await ensureLoggedIn();
          const pool = Array.from({ length: ROOMS_PER_RUN }, (_, i) => `f${runNo}r${i}${randomName("").slice(0, 4)}`);
          const touched = new Set<string>();
          try {
            for (const step of steps) await runStep(step, pool, observer, touched);
          } finally {
            await directoryBack(touched);
          }
          for (const key of touched) {
            const [kind, roomID] = key.split(" ") as [RoomKind, string];
            await expectInStep(observer.get(kind)!, roomID, `run ${runNo} after the faults`);
          }
          // Everything the run created is reclaimed by the alarms, directory included.
          for (const key of touched) {
            const [kind, roomID] = key.split(" ") as [RoomKind, string];
            await drainRoom(kind, roomID);
            const left = await dumpRoom(kind, roomID);
            expect(left, `run ${runNo}: ${kind}:${roomID} left state behind`).toEqual({ tables: {}, alarm: null });
            const rooms = await listed(kind);
            expect(
              rooms.find((x) => x.roomID === roomID),
              `run ${runNo}: ${key} still listed`,
            ).toBeUndefined();
          }
        },
      ),
      { numRuns: NUM_RUNS, endOnFailure: false, examples: [["double_room", EXAMPLE_RUN]] },
    );
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const spread = [...outcomes]
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k}:${n}`)
      .join(" ");
    console.warn(`fuzz: ${runNo} runs, ${stepsTaken} requests in ${seconds} s; outcomes ${spread}`);
    // The generator reaches the interesting outcomes, not only rejections.
    for (const must of [
      "code 0",
      "code 1",
      "code 2",
      "code 3",
      "code 5",
      "code 7",
      "code 11",
      "code 5001",
      "HTTP 400",
      "HTTP 404",
      "HTTP 405",
      "HTTP 413",
    ]) {
      expect(outcomes.has(must), must).toBe(true);
    }
  });
});
