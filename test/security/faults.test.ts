// Faults: Durable Objects evicted between requests, alarms that throw half-way, a directory that keeps
// failing, the session store down, an upstream that never answers, a room object that throws. Each
// must end in a clear answer and, once the fault is gone, in the state a fault-free run reaches.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createFakeLiveApi, fetchVia } from "../../dev/fake-live-api";
import { forgetCachedSessions } from "../../src/auth/sessions";
import { type Config, configFor } from "../../src/config";
import { Directory } from "../../src/rooms/directory";
import type { Room } from "../../src/rooms/room";
import type { RoomKind } from "../../src/rooms/types";
import {
  captureLogs,
  directoryStub,
  drainRoom,
  dumpRoom,
  expectDirectoryInStep,
  expectWellFormed,
  KINDS,
  listed,
  randomName,
  retryNow,
  roomStub,
  routerWith,
  SDK_APP_ID,
  Session,
  send,
  unlimited,
  userSigFor,
} from "./support";

const router = unlimited();

afterEach(() => {
  vi.restoreAllMocks();
});

// ------------------------------------------------------------------ eviction

/** A scripted session on one room; `between` runs between every two requests. */
async function script(kind: RoomKind, users: Session[], roomID: string, between: () => Promise<void>) {
  const [a, b, c] = users as [Session, Session, Session];
  const answers: unknown[] = [];
  const step = async (fn: () => Promise<unknown>) => {
    answers.push(await fn());
    await between();
  };
  const live = kind === "live_room";
  await step(() => a.do("create_room", { roomID, roomInfo: "evict me" }));
  await step(() => a.join(roomID));
  await step(() => b.join(roomID));
  await step(() => c.join(roomID)); // 5001 in double_room
  await step(() => b.do("pusher_heartbeat", { roomID }));
  await step(() => b.join(roomID, { userName: "renamed" }));
  if (live) {
    await step(() => c.do("add_audience", { roomID, userInfo: "c" }));
    await step(() => b.do("add_audience", { roomID, userInfo: "b" }));
    await step(() => c.do("set_custom_field", { roomID, fieldName: "likes", operation: "inc", value: 3 }));
    await step(() => b.do("set_custom_field", { roomID, fieldName: "likes", operation: "dec" }));
    await step(() => c.do("delete_audience", { roomID }));
    await step(() => a.do("get_audiences", { roomID }));
    await step(() => a.do("get_custom_info", { roomID }));
  }
  await step(() => a.do("get_pushers", { roomID }));
  await step(() => b.do("delete_pusher", { roomID }));
  await step(() => b.do("delete_pusher", { roomID }));
  await step(() => c.join(roomID));
  await step(() =>
    a
      .do("get_room_list", { index: 0, cnt: 100 })
      .then((r) => r.rooms.find((x: { roomID: string }) => x.roomID === roomID)),
  );
  // c goes quiet: the alarm evicts it.
  await step(async () => {
    await runInDurableObject(roomStub(kind, roomID), (_i, state) => {
      state.storage.sql.exec("UPDATE pushers SET deadline = ? WHERE user_id = ?", Date.now() - 1, c.user);
    });
    return runDurableObjectAlarm(roomStub(kind, roomID));
  });
  await step(() => a.do("get_pushers", { roomID }));
  await step(() => c.do("pusher_heartbeat", { roomID }));
  return answers;
}

/** Makes answers of two rooms comparable: room ids, user names and signed URL parameters differ. */
function normalize(value: unknown, roomID: string): unknown {
  return JSON.parse(
    JSON.stringify(value ?? null)
      .replaceAll(roomID, "<room>")
      .replace(/txSecret=[0-9a-f]{32}&txTime=[0-9A-F]{8}/g, "<signed>"),
  );
}

describe("Durable Object eviction", () => {
  it.each(KINDS)("%s: evicting the room and the directory between every two requests loses nothing", async (kind) => {
    const users = await Promise.all([0, 1, 2].map(() => Session.login(router, kind)));
    const plain = randomName("plain");
    const evicted = randomName("evict");
    const expected = await script(kind, users, plain, async () => {});
    let evictions = 0;
    const got = await script(kind, users, evicted, async () => {
      for (const stub of [roomStub(kind, evicted), directoryStub(kind)]) {
        await evictDurableObject(stub).then(
          () => evictions++,
          () => {}, // not running (e.g. storage reclaimed and never touched since): nothing to evict
        );
      }
    });
    expect(evictions).toBeGreaterThan(10);
    expect(normalize(got, evicted)).toEqual(normalize(expected, plain));
    const [a, b] = await Promise.all([dumpRoom(kind, plain), dumpRoom(kind, evicted)]);
    const strip = (d: typeof a) => ({
      tables: Object.keys(d.tables).sort(),
      pushers: (d.tables.pushers ?? []).map((p) => [p.user_id, p.user_name, p.user_avatar]),
      audiences: (d.tables.audiences ?? []).map((x) => [x.user_id, x.user_info]),
      custom: d.tables.custom_fields ?? [],
      room: (d.tables.room ?? []).map((r) => [r.creator, r.room_info, r.empty_since === null]),
      sync: (d.tables.directory_sync ?? []).map((s) => [s.pending, s.view === null]),
      armed: d.alarm !== null,
    });
    expect(strip(b)).toEqual(strip(a));
    await expectDirectoryInStep(users[0]!, evicted, "after evictions");
    await drainRoom(kind, plain);
    await drainRoom(kind, evicted);
  });

  it("an eviction while a directory change is still pending loses neither the change nor its retry", async () => {
    const a = await Session.login(router, "multi_room");
    const roomID = randomName("pend");
    const dir = directoryStub("multi_room");
    // On the prototype: RPC dispatches to class methods only (an own-property spy is not called).
    const apply = vi.spyOn(Directory.prototype, "apply").mockRejectedValue(new Error("directory down"));
    expect((await a.join(roomID)).code).toBe(0);
    expect((await listed("multi_room")).find((r) => r.roomID === roomID)).toBeUndefined();
    apply.mockRestore();
    await evictDurableObject(roomStub("multi_room", roomID));
    await evictDurableObject(dir);
    const state = await dumpRoom("multi_room", roomID);
    expect(state.tables.directory_sync).toMatchObject([{ pending: 1 }]);
    expect(state.alarm).not.toBeNull();
    expect(await retryNow("multi_room", roomID)).toBe(true);
    await expectDirectoryInStep(a, roomID);
    await drainRoom("multi_room", roomID);
  });
});

// ------------------------------------------------------------------ alarms that throw

type Seam = Record<string, (...args: unknown[]) => unknown>;

/** Makes `method` of the room instance throw the first time it runs, then behave. */
function throwOnce(kind: RoomKind, roomID: string, method: string) {
  let calls = 0;
  return runInDurableObject(roomStub(kind, roomID), (instance: Room) => {
    const seam = instance as unknown as Seam;
    const original = seam[method]!.bind(instance);
    vi.spyOn(seam, method).mockImplementation((...args: unknown[]) => {
      calls++;
      if (calls === 1) throw new Error(`injected fault in ${method}`);
      return original(...args);
    });
    return () => calls;
  });
}

describe("an alarm that throws half-way", () => {
  // The runtime retries a failed alarm (with backoff, ~2 s for the first retry here). The handler is
  // idempotent, so the retry completes what the failed run left undone.
  for (const [where, method] of [
    ["after the evictions committed, before the directory heard of them", "reclaimIfIdle"],
    ["inside the eviction transaction (rolled back)", "removePusher"],
    ["while re-arming, after everything else was done", "finalize"],
  ] as const) {
    it(`is retried and completes: fault ${where}`, { timeout: 20_000 }, async () => {
      const kind: RoomKind = "multi_room";
      const [a, b] = await Promise.all([Session.login(router, kind), Session.login(router, kind)]);
      const roomID = randomName("throw");
      expect((await a.join(roomID)).code).toBe(0);
      expect((await b.join(roomID)).code).toBe(0);
      const calls = await throwOnce(kind, roomID, method);
      // Both pushers go quiet; the runtime's own alarm fires in 50 ms.
      await runInDurableObject(roomStub(kind, roomID), async (_i, state) => {
        state.storage.sql.exec("UPDATE pushers SET deadline = ?", Date.now() - 1);
        await state.storage.setAlarm(Date.now() + 50);
      });
      await vi.waitFor(
        async () => {
          expect(calls()).toBeGreaterThanOrEqual(2);
          expect(await dumpRoom(kind, roomID)).toEqual({ tables: {}, alarm: null });
        },
        { timeout: 15_000, interval: 250 },
      );
      expect((await a.do("get_pushers", { roomID })).code).toBe(1);
      expect((await listed(kind)).find((r) => r.roomID === roomID)).toBeUndefined();
    });
  }

  it("a failed alarm run that the test harness does not retry is completed by the next alarm run", async () => {
    // runDurableObjectAlarm deletes the alarm before running it; whatever the throw left pending must
    // have re-armed an alarm so that running it again completes the work.
    const kind: RoomKind = "live_room";
    const [host, guest] = await Promise.all([Session.login(router, kind), Session.login(router, kind)]);
    const roomID = randomName("rerun");
    expect((await host.join(roomID)).code).toBe(0);
    expect((await guest.join(roomID)).code).toBe(0);
    await throwOnce(kind, roomID, "removePusher");
    await runInDurableObject(roomStub(kind, roomID), (_i, state) => {
      state.storage.sql.exec("UPDATE pushers SET deadline = ? WHERE user_id = ?", Date.now() - 1, guest.user);
    });
    await expect(runDurableObjectAlarm(roomStub(kind, roomID))).rejects.toThrow(/injected fault/);
    // Nothing half-done is visible: the guest is still there, the directory still agrees.
    expect((await host.do("get_pushers", { roomID })).pushers).toHaveLength(2);
    await expectDirectoryInStep(host, roomID, "after the failed run");
    // In production the runtime re-runs it; here it is re-armed by hand (an hour ahead, so that the
    // runtime's own alarm does not take it first) and run again.
    await runInDurableObject(roomStub(kind, roomID), (_i, state) => state.storage.setAlarm(Date.now() + 3_600_000));
    expect(await runDurableObjectAlarm(roomStub(kind, roomID))).toBe(true);
    expect((await host.do("get_pushers", { roomID })).pushers.map((p: { userID: string }) => p.userID)).toEqual([
      host.user,
    ]);
    await expectDirectoryInStep(host, roomID, "after the retry");
    await drainRoom(kind, roomID);
  });
});

// ------------------------------------------------------------------ the directory failing

describe("the directory failing repeatedly", () => {
  it.each(KINDS)("%s: joins, leaves and a destroy during a long outage converge once it works", async (kind) => {
    const users = await Promise.all([0, 1, 2].map(() => Session.login(router, kind)));
    const [a, b, c] = users as [Session, Session, Session];
    const rooms = [randomName("o1"), randomName("o2"), randomName("o3")];
    let refused = 0;
    const apply = vi.spyOn(Directory.prototype, "apply").mockImplementation(async () => {
      refused++;
      throw new Error("directory overloaded");
    });
    // Every membership change answers the client at once, whatever the directory does.
    for (const roomID of rooms) {
      expect((await a.join(roomID)).code).toBe(0);
      expect((await b.join(roomID)).code).toBe(0);
    }
    expect((await b.do("delete_pusher", { roomID: rooms[0] })).code).toBe(0);
    expect((await a.do("destroy_room", { roomID: rooms[1] })).code).toBe(0);
    expect((await c.join(rooms[2]!)).code).toBe(kind === "double_room" ? 5001 : 0);
    // Retries keep failing for a while (each backs off and re-arms).
    for (let i = 0; i < 4; i++) for (const roomID of rooms) await retryNow(kind, roomID);
    expect(refused).toBeGreaterThanOrEqual(12);
    for (const roomID of rooms) {
      const state = await dumpRoom(kind, roomID);
      expect(state.tables.directory_sync?.[0]?.pending, roomID).toBe(1);
      expect(state.alarm, `${roomID} keeps an alarm for its retry`).not.toBeNull();
    }
    apply.mockRestore();
    for (const roomID of rooms) await retryNow(kind, roomID);
    for (const roomID of rooms) await expectDirectoryInStep(a, roomID, "after the outage");
    expect((await listed(kind)).find((r) => r.roomID === rooms[1])).toBeUndefined();
    expect(await dumpRoom(kind, rooms[1]!)).toEqual({ tables: {}, alarm: null });
    for (const roomID of rooms) await drainRoom(kind, roomID);
  });

  it("a directory call that hangs does not hold the client: the change answers within the sync wait", async () => {
    const kind: RoomKind = "multi_room";
    const a = await Session.login(router, kind);
    const roomID = randomName("hang");
    // Hangs 3 s, then fails (what the room's 10 s call timeout does, sooner). The timer runs in the
    // directory's own context: a promise settled from the test would be I/O across objects.
    const apply = vi
      .spyOn(Directory.prototype, "apply")
      .mockImplementation(
        () => new Promise<void>((_resolve, reject) => setTimeout(() => reject(new Error("timed out")), 3_000)),
      );
    const started = Date.now();
    expect((await a.join(roomID)).code).toBe(0);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(1_900); // SYNC_WAIT_MS is 2 s...
    expect(took).toBeLessThan(2_900); // ...and the client is answered then, not when the call gives up
    apply.mockRestore();
    await vi.waitFor(async () => expect((await dumpRoom(kind, roomID)).tables.directory_sync?.[0]?.attempts).toBe(1), {
      timeout: 5_000,
    });
    await new Promise((r) => setTimeout(r, 1_500)); // the hung call fails; the change stays pending
    expect((await dumpRoom(kind, roomID)).tables.directory_sync?.[0]?.pending).toBe(1);
    await retryNow(kind, roomID);
    await expectDirectoryInStep(a, roomID);
    await drainRoom(kind, roomID);
  });
});

// ------------------------------------------------------------------ the session store down

describe("KV unavailable", () => {
  const kvDown = () => new Error("KV GET failed: 503 Service Unavailable");

  it("a room action with an uncached session answers 503 JSON, never a pass", async () => {
    const a = await Session.login(router, "live_room");
    forgetCachedSessions();
    vi.spyOn(env.SESSIONS, "get").mockRejectedValue(kvDown());
    for (const action of ["get_push_url", "create_room", "get_room_list", "logout"]) {
      const r = await send(router, {
        group: "live_room",
        action,
        query: a.query,
        body: { roomInfo: "x", cnt: 1, index: 0 },
      });
      expectWellFormed(r, action);
      expect(r.status, action).toBe(503);
      expect(r.body.message).toMatch(/session store unavailable/);
      expect(r.headers.get("retry-after")).toBe("1");
    }
    vi.restoreAllMocks();
    expect((await a.do("get_push_url")).code).toBe(0); // the session survived the outage
  });

  it("login answers 503 when the session cannot be written, and issues no token", async () => {
    const user = randomName();
    vi.spyOn(env.SESSIONS, "put").mockRejectedValue(kvDown());
    const r = await send(router, {
      group: "double_room",
      action: "login",
      query: { sdkAppID: SDK_APP_ID, accountType: "36862", userID: user, userSig: await userSigFor(user) },
    });
    expect(r.status).toBe(503);
    expect(r.body.token).toBeUndefined();
    expect(r.text).not.toMatch(/eyJ/);
  });

  it("logout answers 503 when the revocation cannot be written, and the session is not reported revoked", async () => {
    const a = await Session.login(router, "multi_room");
    vi.spyOn(env.SESSIONS, "put").mockRejectedValue(kvDown());
    const r = await send(router, { group: "multi_room", action: "logout", query: a.query });
    expect(r.status).toBe(503);
    vi.restoreAllMocks();
    // Not revoked, and the client was told so: it can retry the logout.
    expect((await a.do("get_push_url")).code).toBe(0);
    expect((await a.do("logout")).code).toBe(0);
    expect((await a.do("get_push_url")).code).toBe(7);
  });

  it("a corrupt or foreign session record is a refusal (7 or 503), never a pass", async () => {
    const a = await Session.login(router, "live_room");
    const key = `session:v1:live_room:${a.user}`;
    const stored = (await env.SESSIONS.get(key))!;
    const sid = JSON.parse(stored).sid as string;
    for (const [value, code] of [
      ["not json", 503],
      [JSON.stringify({ sid: 5, exp: 9e9 }), 7],
      [JSON.stringify({ sid, exp: 1 }), 7], // expired
      [JSON.stringify({ sid: `${sid}x`, exp: 9e9 }), 7],
      [JSON.stringify({ exp: 9e9 }), 7],
      ["null", 7],
    ] as const) {
      await env.SESSIONS.put(key, value);
      forgetCachedSessions();
      const r = await send(router, { group: "live_room", action: "get_push_url", query: a.query });
      expect(r.body.code, value).toBe(code);
    }
    await env.SESSIONS.put(key, stored);
    forgetCachedSessions();
    expect((await a.do("get_push_url")).code).toBe(0);
  });
});

// ------------------------------------------------------------------ upstream and internal faults

describe("an outbound call that hangs", () => {
  it("merge_stream is cut off at LIVE_API_TIMEOUT_MS with code 6, even when fetch ignores the abort", async () => {
    const fast = routerWith({ LIVE_API_TIMEOUT_MS: "300", ROOM_LIMITER: undefined });
    const host = await Session.login(fast, "live_room");
    const roomID = randomName("mix");
    expect((await host.join(roomID)).code).toBe(0);
    vi.spyOn(globalThis, "fetch").mockImplementation(() => new Promise<Response>(() => {})); // never settles
    const started = Date.now();
    const r = await send(fast, {
      group: "live_room",
      action: "merge_stream",
      query: host.query,
      body: { roomID, mergeParams: { timestamp: 1 } },
    });
    const took = Date.now() - started;
    expect(r.status).toBe(200);
    expect(r.body.code).toBe(6);
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2_000);
    // A body that starts and then stalls is cut off the same way.
    vi.mocked(globalThis.fetch).mockResolvedValue(
      new Response(new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode('{"code":')) })),
    );
    const stalled = await send(fast, {
      group: "live_room",
      action: "merge_stream",
      query: host.query,
      body: { roomID, mergeParams: {} },
    });
    expect(stalled.body.code).toBe(6);
    await drainRoom("live_room", roomID);
  });

  it("the alarm's stream-status check against a hanging API completes within the timeout", async () => {
    const kind: RoomKind = "live_room";
    const host = await Session.login(router, kind);
    const roomID = randomName("status");
    expect((await host.join(roomID)).code).toBe(0);
    const stub = roomStub(kind, roomID);
    await runInDurableObject(stub, (instance: Room, state) => {
      const config: Config = {
        ...configFor(env),
        STREAM_STATUS_CHECK: true,
        insecureSecrets: [],
        LIVE_API_TIMEOUT_MS: 300,
      };
      vi.spyOn(instance as unknown as { loadConfig(): Config }, "loadConfig").mockReturnValue(config);
      state.storage.sql.exec("UPDATE pushers SET deadline = ?", Date.now() - 1);
    });
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(() => new Promise<Response>(() => {}));
    const started = Date.now();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(fetchSpy).toHaveBeenCalled();
    // Unknown state: kept for now, looked at again soon, never past 3 heartbeat timeouts.
    const state = await dumpRoom(kind, roomID);
    expect(state.tables.pushers).toHaveLength(1);
    expect(state.alarm).not.toBeNull();
    vi.restoreAllMocks();
    await evictDurableObject(stub);
    await drainRoom(kind, roomID);
  });
});

describe("a room object that throws", () => {
  it("answers 500 JSON with the request id, logs the fault with that id, and leaks nothing of it", async () => {
    const secretDetail = "SQLITE_CORRUPT at /var/lib/rooms/xyz.sqlite";
    const a = await Session.login(router, "multi_room");
    const failing = routerWith({
      ROOM_LIMITER: undefined,
      ROOM: {
        getByName: () => new Proxy({}, { get: () => () => Promise.reject(new Error(secretDetail)) }),
      },
    });
    const { result: r, lines } = await captureLogs(() =>
      send(failing, { group: "multi_room", action: "get_pushers", query: a.query, body: { roomID: "r1" } }),
    );
    expect(r.status).toBe(500);
    expect(r.body).toMatchObject({ code: 500, message: expect.stringMatching(/internal error/) });
    const id = r.headers.get("x-request-id")!;
    expect(r.body.message).toContain(id);
    expect(r.text).not.toContain("SQLITE");
    expect(lines.some((l) => l.includes(id) && l.includes(secretDetail))).toBe(true);
    expect(lines.join("\n")).not.toContain(a.token);
  });

  it("a fault of the rate limiter serves the request (fail-open, logged), never a 500", async () => {
    const limiter = { limit: () => Promise.reject(new Error("limiter unavailable")) };
    const flaky = routerWith({ AUTH_LIMITER: limiter, ROOM_LIMITER: limiter });
    const { result: r, lines } = await captureLogs(() =>
      send(flaky, { group: "utils", action: "get_login_info", method: "GET" }),
    );
    expect(r.body.code).toBe(0);
    expect(lines.some((l) => l.includes("rate_limiter_unavailable"))).toBe(true);
    const a = await Session.login(flaky, "multi_room");
    expect((await a.do("create_room", { roomInfo: "x" })).code).toBe(0);
  });
});

describe("every answer under faults is well-formed", () => {
  it("upstream 5xx, non-JSON, oversized and redirecting answers are code 6", async () => {
    const host = await Session.login(router, "live_room");
    const roomID = randomName("up");
    expect((await host.join(roomID)).code).toBe(0);
    const fake = createFakeLiveApi();
    const spy = vi.spyOn(globalThis, "fetch").mockImplementation(fetchVia(fake));
    for (const answer of [
      () => new Response("oops", { status: 502 }),
      () => new Response("<html>", { status: 200 }),
      () => new Response(`{"code":0,"message":"${"x".repeat(70_000)}"}`, { status: 200 }),
      () => new Response(null, { status: 302, headers: { location: "http://evil.test/" } }),
      () => new Response("[1,2]", { status: 200 }),
    ]) {
      spy.mockImplementationOnce(async () => answer());
      const r = await send(router, {
        group: "live_room",
        action: "merge_stream",
        query: host.query,
        body: { roomID, mergeParams: {} },
      });
      expectWellFormed(r);
      expect(r.body.code).toBe(6);
    }
    await drainRoom("live_room", roomID);
  });
});
