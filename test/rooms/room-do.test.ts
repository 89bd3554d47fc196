// The Room Durable Object through its RPC surface (as the router calls it), plus its alarm.
// Storage is per test file, so every test uses fresh random room names.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { Code } from "../../src/protocol/codes";
import { MAX_CUSTOM_FIELDS, type Room } from "../../src/rooms/room";
import { ROOM_KINDS, type RoomKind, type RoomRef } from "../../src/rooms/types";
import {
  alarmOf,
  BIZID,
  breakDirectory,
  expirePushers,
  listedRoom,
  newRef,
  overrideConfig,
  PLAY_HOST,
  pusherFor,
  randomID,
  roomSql,
  roomStub,
  stubStreamStates,
  tablesOf,
  watchDirectory,
} from "./helpers";

const CAPACITY: Record<RoomKind, number> = { live_room: 4, double_room: 2, multi_room: 4 };
const HEARTBEAT_MS = 20_000;
const IDLE_MS = 30_000;

async function join(ref: RoomRef, userID: string, roomInfo?: string) {
  return roomStub(ref).addPusher(ref, pusherFor(ref, userID), roomInfo);
}

async function pusherIDs(ref: RoomRef): Promise<string[]> {
  const r = await roomStub(ref).getPushers(ref);
  if (r.code !== 0) return [];
  return r.pushers.map((p) => p.userID);
}

async function deadlines(ref: RoomRef): Promise<Record<string, number>> {
  const rows = await roomSql<{ user_id: string; deadline: number }>(ref, "SELECT user_id, deadline FROM pushers");
  return Object.fromEntries(rows.map((r) => [r.user_id, r.deadline]));
}

describe.each(ROOM_KINDS)("%s lifecycle", (kind) => {
  it("create, join, list, heartbeat, leave, destroy", async () => {
    const ref = newRef(kind);
    const room = roomStub(ref);

    expect(await room.createRoom(ref, "alice", "hello")).toMatchObject({ code: 0, roomID: ref.roomID });
    const created = await room.getPushers(ref);
    expect(created).toMatchObject({
      code: 0,
      roomID: ref.roomID,
      roomInfo: "hello",
      roomCreator: "alice",
      pushers: [],
    });
    // No pusher yet: not listed.
    expect(await listedRoom(kind, ref.roomID)).toBeUndefined();

    expect(await join(ref, "alice")).toMatchObject({ code: 0 });
    expect(await join(ref, "bob")).toMatchObject({ code: 0 });
    const view = await room.getPushers(ref);
    const creatorStream = kind === "live_room" ? `${BIZID}_alice` : `${BIZID}_${ref.roomID}_alice`;
    expect(view).toEqual({
      code: 0,
      message: expect.any(String),
      roomID: ref.roomID,
      roomInfo: "hello",
      roomCreator: "alice",
      mixedPlayURL: `http://${PLAY_HOST}/live/${creatorStream}.flv`,
      pushers: ["alice", "bob"].map((id) => ({
        userID: id,
        userName: `name-${id}`,
        userAvatar: `https://example.test/${id}.png`,
        accelerateURL: pusherFor(ref, id).accelerateURL,
      })),
      ...(kind === "live_room" ? { audienceCount: 0 } : {}),
    });
    const { code: _c, message: _m, ...summary } = view as typeof view & { code: 0 };
    expect(await listedRoom(kind, ref.roomID)).toEqual(summary);

    expect(await room.heartbeat(ref, "bob")).toMatchObject({ code: 0 });
    expect(await room.requireCreator(ref, "alice")).toMatchObject({ code: 0 });
    expect(await room.deletePusher(ref, "bob")).toMatchObject({ code: 0 });
    expect(await pusherIDs(ref)).toEqual(["alice"]);
    expect((await listedRoom(kind, ref.roomID))?.pushers.map((p) => p.userID)).toEqual(["alice"]);

    expect(await room.destroyRoom(ref, "bob")).toMatchObject({ code: Code.NO_ROOM });
    expect(await room.destroyRoom(ref, "alice")).toMatchObject({ code: 0 });
    expect(await room.getPushers(ref)).toMatchObject({ code: Code.PUSHERS_NO_ROOM });
    expect(await listedRoom(kind, ref.roomID)).toBeUndefined();
    // Gone means gone: no tables, no alarm.
    expect(await tablesOf(ref)).toEqual([]);
    expect(await alarmOf(ref)).toBeNull();
  });

  it("add_pusher creates a missing room with the caller as creator", async () => {
    const ref = newRef(kind);
    expect(await join(ref, "carol", "from add_pusher")).toMatchObject({ code: 0 });
    expect(await roomStub(ref).getPushers(ref)).toMatchObject({
      roomCreator: "carol",
      roomInfo: "from add_pusher",
      pushers: [{ userID: "carol" }],
    });
    const ref2 = newRef(kind);
    await join(ref2, "dave");
    expect(await roomStub(ref2).getPushers(ref2)).toMatchObject({ roomCreator: "dave", roomInfo: "" });
  });

  it(`admits ${CAPACITY[kind]} pushers, then 5001; a re-add refreshes even when full`, async () => {
    const ref = newRef(kind);
    const room = roomStub(ref);
    const users = Array.from({ length: CAPACITY[kind] }, (_, i) => `user${i}`);
    for (const u of users) expect(await join(ref, u)).toMatchObject({ code: 0 });
    expect(await join(ref, "late")).toMatchObject({ code: Code.FULL });

    const before = await deadlines(ref);
    await new Promise((r) => setTimeout(r, 5));
    const refreshed = pusherFor(ref, users[0]!, { userName: "renamed", userAvatar: "https://example.test/new.png" });
    expect(await room.addPusher(ref, refreshed)).toMatchObject({ code: 0 });
    const view = await room.getPushers(ref);
    expect(view.code === 0 && view.pushers[0]).toMatchObject({ userID: users[0], userName: "renamed" });
    expect(view.code === 0 && view.pushers.map((p) => p.userID)).toEqual(users);
    expect((await deadlines(ref))[users[0]!]).toBeGreaterThan(before[users[0]!]!);
    // The directory follows the new info.
    expect((await listedRoom(kind, ref.roomID))?.pushers[0]?.userName).toBe("renamed");
  });

  it("12 concurrent add_pusher calls admit exactly the capacity", async () => {
    const ref = newRef(kind);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => join(ref, `c${i}`)));
    const codes = results.map((r) => r.code);
    expect(codes.filter((c) => c === 0)).toHaveLength(CAPACITY[kind]);
    expect(codes.filter((c) => c === Code.FULL)).toHaveLength(12 - CAPACITY[kind]);
    expect(await pusherIDs(ref)).toHaveLength(CAPACITY[kind]);
    expect((await listedRoom(kind, ref.roomID))?.pushers).toHaveLength(CAPACITY[kind]);
  });

  it("the last pusher leaving destroys the room", async () => {
    const ref = newRef(kind);
    await roomStub(ref).createRoom(ref, "owner", "x");
    await join(ref, "guest");
    expect(await roomStub(ref).deletePusher(ref, "guest")).toMatchObject({ code: 0 });
    expect(await roomStub(ref).getPushers(ref)).toMatchObject({ code: Code.PUSHERS_NO_ROOM });
    expect(await listedRoom(kind, ref.roomID)).toBeUndefined();
    expect(await tablesOf(ref)).toEqual([]);
  });
});

describe("error codes", () => {
  it("answers each documented code", async () => {
    const ref = newRef("live_room");
    const room = roomStub(ref);
    // No room.
    expect(await room.getPushers(ref)).toMatchObject({ code: Code.PUSHERS_NO_ROOM });
    expect(await room.heartbeat(ref, "a")).toMatchObject({ code: Code.NO_ROOM });
    expect(await room.deletePusher(ref, "a")).toMatchObject({ code: Code.NO_ROOM });
    expect(await room.destroyRoom(ref, "a")).toMatchObject({ code: Code.NO_ROOM });
    expect(await room.requireCreator(ref, "a")).toMatchObject({ code: Code.NO_ROOM });
    expect(await room.addAudience(ref, "a", "{}")).toMatchObject({ code: Code.NO_ROOM });
    expect(await room.deleteAudience(ref, "a")).toMatchObject({ code: Code.NO_ROOM });
    expect(await room.getAudiences(ref)).toMatchObject({ code: Code.NO_ROOM });
    expect(await room.setCustomField(ref, "likes", "inc", undefined)).toMatchObject({ code: Code.NO_ROOM });
    expect(await room.getCustomInfo(ref)).toMatchObject({ code: Code.NO_ROOM });
    // Reads and failed writes of a missing room leave no storage behind.
    expect(await tablesOf(ref)).toEqual([]);

    expect(await room.createRoom(ref, "owner", "info")).toMatchObject({ code: 0 });
    expect(await room.createRoom(ref, "other", "info")).toMatchObject({ code: Code.ROOM_INFO });
    await join(ref, "owner");
    expect(await room.heartbeat(ref, "stranger")).toMatchObject({ code: Code.NOT_PUSHER });
    expect(await room.deletePusher(ref, "stranger")).toMatchObject({ code: Code.NOT_PUSHER });
    expect(await room.destroyRoom(ref, "stranger")).toMatchObject({ code: Code.NO_ROOM });
    expect(await room.requireCreator(ref, "stranger")).toMatchObject({ code: Code.NO_ROOM });
    expect(await room.requireCreator(ref, "owner")).toMatchObject({ code: 0 });
    expect(await room.setCustomField(ref, "f", "set", undefined)).toMatchObject({ code: Code.BAD_PARAM });
    expect(await room.setCustomField(ref, "", "inc", 1)).toMatchObject({ code: Code.BAD_PARAM });
    expect(await room.setCustomField(ref, "x".repeat(65), "inc", 1)).toMatchObject({ code: Code.BAD_PARAM });
    expect(await room.setCustomField(ref, "f", "inc", 1.5)).toMatchObject({ code: Code.BAD_PARAM });
    expect(await room.setCustomField(ref, "f", "mul" as "inc", 1)).toMatchObject({ code: Code.BAD_PARAM });
    for (const r of [await room.getPushers(ref), await room.heartbeat(ref, "stranger")]) {
      expect(typeof r.message).toBe("string");
      expect(r.message.length).toBeGreaterThan(0);
    }
  });

  it("refuses a call routed to the wrong object and touches nothing", async () => {
    const ref = newRef("multi_room");
    await join(ref, "a");
    const wrongKind: RoomRef = { kind: "double_room", roomID: ref.roomID };
    const wrongRoom: RoomRef = { kind: "multi_room", roomID: "other" };
    expect(await roomStub(ref).getPushers(wrongKind)).toMatchObject({ code: Code.PUSHERS_NO_ROOM });
    expect(await roomStub(ref).addPusher(wrongRoom, pusherFor(ref, "b"))).toMatchObject({ code: Code.NO_ROOM });
    expect(await roomStub(ref).destroyRoom(wrongRoom, "a")).toMatchObject({ code: Code.NO_ROOM });
    expect(
      await roomStub(ref).addPusher({ kind: "nope", roomID: ref.roomID } as unknown as RoomRef, pusherFor(ref, "b")),
    ).toMatchObject({
      code: Code.NO_ROOM,
    });
    // live_room-only methods on another kind.
    expect(await roomStub(ref).addAudience(ref, "v", "x")).toMatchObject({ code: Code.NO_ROOM });
    expect(await pusherIDs(ref)).toEqual(["a"]);
  });
});

describe("room kinds are separate namespaces", () => {
  it("the same roomID in two kinds is two rooms and two directories", async () => {
    const roomID = randomID("same_");
    const live: RoomRef = { kind: "live_room", roomID };
    const multi: RoomRef = { kind: "multi_room", roomID };
    await join(live, "l1");
    expect(await roomStub(multi).getPushers(multi)).toMatchObject({ code: Code.PUSHERS_NO_ROOM });
    await join(multi, "m1");
    await join(multi, "m2");
    expect(await pusherIDs(live)).toEqual(["l1"]);
    expect(await pusherIDs(multi)).toEqual(["m1", "m2"]);
    expect((await listedRoom("live_room", roomID))?.pushers).toHaveLength(1);
    expect((await listedRoom("multi_room", roomID))?.pushers).toHaveLength(2);
    expect(await listedRoom("double_room", roomID)).toBeUndefined();
    await roomStub(live).destroyRoom(live, "l1");
    expect(await pusherIDs(multi)).toEqual(["m1", "m2"]);
    expect(await listedRoom("multi_room", roomID)).toBeDefined();
  });
});

describe("creator leaving", () => {
  it("destroys a live room", async () => {
    const ref = newRef("live_room");
    await join(ref, "host");
    await join(ref, "guest");
    expect(await roomStub(ref).deletePusher(ref, "host")).toMatchObject({ code: 0 });
    expect(await roomStub(ref).getPushers(ref)).toMatchObject({ code: Code.PUSHERS_NO_ROOM });
    expect(await listedRoom("live_room", ref.roomID)).toBeUndefined();
  });

  it("keeps a multi/double room by default, and uses the default creator stream for mixedPlayURL", async () => {
    const ref = newRef("double_room");
    await join(ref, "host");
    await join(ref, "guest");
    await roomStub(ref).deletePusher(ref, "host");
    const view = await roomStub(ref).getPushers(ref);
    expect(view).toMatchObject({ code: 0, roomCreator: "host", pushers: [{ userID: "guest" }] });
    expect(view.code === 0 && view.mixedPlayURL).toBe(`http://${PLAY_HOST}/live/${BIZID}_${ref.roomID}_host.flv`);
  });

  it("destroys a multi room when CREATOR_LEAVE_DESTROYS is set", async () => {
    const ref = newRef("multi_room");
    await join(ref, "host");
    await join(ref, "guest");
    await overrideConfig(ref, { CREATOR_LEAVE_DESTROYS: true });
    await roomStub(ref).deletePusher(ref, "host");
    expect(await roomStub(ref).getPushers(ref)).toMatchObject({ code: Code.PUSHERS_NO_ROOM });
  });
});

describe("audiences (live_room)", () => {
  it("adds, refreshes, lists, bounds, and removes idempotently", async () => {
    const ref = newRef("live_room");
    const room = roomStub(ref);
    await join(ref, "host");
    expect(await room.addAudience(ref, "v0", "first")).toMatchObject({ code: 0 });
    expect(await room.addAudience(ref, "v0", "second")).toMatchObject({ code: 0 });
    expect(await room.getAudiences(ref)).toMatchObject({ code: 0, audiences: [{ userID: "v0", userInfo: "second" }] });
    for (let i = 1; i < 30; i++) expect(await room.addAudience(ref, `v${i}`, `info${i}`)).toMatchObject({ code: 0 });
    // Full: a newcomer is refused, a refresh is not (the original refused both).
    expect(await room.addAudience(ref, "v30", "late")).toMatchObject({ code: Code.FULL });
    expect(await room.addAudience(ref, "v7", "refreshed")).toMatchObject({ code: 0 });
    const list = await room.getAudiences(ref);
    expect(list.code === 0 && list.audiences).toHaveLength(30);
    expect(list.code === 0 && list.audiences[7]).toEqual({ userID: "v7", userInfo: "refreshed" });
    expect(await room.getPushers(ref)).toMatchObject({ audienceCount: 30 });
    expect(await listedRoom("live_room", ref.roomID)).toMatchObject({ audienceCount: 30 });

    expect(await room.deleteAudience(ref, "v3")).toMatchObject({ code: 0 });
    expect(await room.deleteAudience(ref, "v3")).toMatchObject({ code: 0 });
    expect(await room.deleteAudience(ref, "never-here")).toMatchObject({ code: 0 });
    expect(await room.addAudience(ref, "v30", "now fits")).toMatchObject({ code: 0 });
    expect(await room.getPushers(ref)).toMatchObject({ audienceCount: 30 });
  });

  it("audiences go with the room", async () => {
    const ref = newRef("live_room");
    const room = roomStub(ref);
    await join(ref, "host");
    await room.addAudience(ref, "v", "x");
    await room.destroyRoom(ref, "host");
    await join(ref, "host");
    expect(await room.getAudiences(ref)).toMatchObject({ code: 0, audiences: [] });
  });
});

describe("custom fields (live_room)", () => {
  it("inc/dec/set with defaults, floors dec at 0, answers the whole map", async () => {
    const ref = newRef("live_room");
    const room = roomStub(ref);
    await join(ref, "host");
    expect(await room.getCustomInfo(ref)).toMatchObject({ code: 0, customInfo: "{}" });
    expect(await room.setCustomField(ref, "likes", "inc", undefined)).toMatchObject({ customInfo: '{"likes":1}' });
    expect(await room.setCustomField(ref, "likes", "inc", 5)).toMatchObject({ customInfo: '{"likes":6}' });
    expect(await room.setCustomField(ref, "likes", "dec", undefined)).toMatchObject({ customInfo: '{"likes":5}' });
    expect(await room.setCustomField(ref, "likes", "dec", 100)).toMatchObject({ customInfo: '{"likes":0}' });
    expect(await room.setCustomField(ref, "fresh", "dec", undefined)).toMatchObject({
      customInfo: '{"likes":0,"fresh":0}',
    });
    expect(await room.setCustomField(ref, "online", "set", 42)).toMatchObject({
      customInfo: '{"likes":0,"fresh":0,"online":42}',
    });
    expect(await room.setCustomField(ref, "__proto__", "inc", 2)).toMatchObject({ code: 0 });
    const info = await room.getCustomInfo(ref);
    expect(info.code === 0 && JSON.parse(info.customInfo)).toEqual(
      JSON.parse('{"likes":0,"fresh":0,"online":42,"__proto__":2}'),
    );
  });

  it(`bounds the number of fields at ${MAX_CUSTOM_FIELDS}`, async () => {
    const ref = newRef("live_room");
    const room = roomStub(ref);
    await join(ref, "host");
    for (let i = 0; i < MAX_CUSTOM_FIELDS; i++) {
      expect(await room.setCustomField(ref, `f${i}`, "inc", 1)).toMatchObject({ code: 0 });
    }
    expect(await room.setCustomField(ref, "one_too_many", "inc", 1)).toMatchObject({ code: Code.BAD_PARAM });
    // Existing fields still change.
    const r = await room.setCustomField(ref, "f0", "inc", 1);
    expect(r.code === 0 && JSON.parse(r.customInfo).f0).toBe(2);
  });
});

describe("expiry by alarm", () => {
  it("keeps the alarm on the earliest deadline and moves it only when that changes", async () => {
    const ref = newRef("multi_room");
    const room = roomStub(ref);
    await join(ref, "a");
    await new Promise((r) => setTimeout(r, 5));
    await join(ref, "b");
    let d = await deadlines(ref);
    expect(await alarmOf(ref)).toBe(d.a);

    // b is not the earliest: its heartbeat does not move the alarm.
    await new Promise((r) => setTimeout(r, 5));
    await room.heartbeat(ref, "b");
    expect(await alarmOf(ref)).toBe(d.a);

    // a is: the alarm moves to the new earliest (b's).
    await new Promise((r) => setTimeout(r, 5));
    await room.heartbeat(ref, "a");
    d = await deadlines(ref);
    expect(d.b).toBeLessThan(d.a!);
    expect(await alarmOf(ref)).toBe(d.b);
    expect(d.a! - Date.now()).toBeLessThanOrEqual(HEARTBEAT_MS);
  });

  it("evicts a quiet pusher and keeps a heartbeating one", async () => {
    const ref = newRef("multi_room");
    const room = roomStub(ref);
    await join(ref, "talker");
    await join(ref, "quiet");
    await room.heartbeat(ref, "talker");
    // Moved in storage behind the object's back (no re-arm), so the test runs the alarm, not the runtime.
    await expirePushers(ref, ["quiet"]);
    expect(await runDurableObjectAlarm(room)).toBe(true);
    expect(await pusherIDs(ref)).toEqual(["talker"]);
    expect((await listedRoom("multi_room", ref.roomID))?.pushers.map((p) => p.userID)).toEqual(["talker"]);
    // The next alarm is the survivor's deadline.
    expect(await alarmOf(ref)).toBe((await deadlines(ref)).talker);
  });

  it("the runtime's own alarm evicts within about a second of the deadline", async () => {
    const ref = newRef("multi_room");
    const room = roomStub(ref);
    await join(ref, "talker");
    await join(ref, "quiet");
    const deadline = Date.now() + 300;
    await roomSql(ref, "UPDATE pushers SET deadline = ? WHERE user_id = 'quiet'", deadline);
    await room.heartbeat(ref, "talker"); // re-arms: quiet now holds the earliest deadline
    expect(await alarmOf(ref)).toBe(deadline);
    await vi.waitFor(async () => expect(await pusherIDs(ref)).toEqual(["talker"]), { timeout: 3000, interval: 50 });
    expect(Date.now() - deadline).toBeLessThan(1500);
  });

  it("a live room whose creator expires is destroyed, directory and storage included", async () => {
    const ref = newRef("live_room");
    const room = roomStub(ref);
    await join(ref, "host");
    await join(ref, "guest");
    await room.addAudience(ref, "viewer", "x");
    await room.setCustomField(ref, "likes", "inc", 3);
    await expirePushers(ref, ["host"]);
    expect(await runDurableObjectAlarm(room)).toBe(true);
    expect(await room.getPushers(ref)).toMatchObject({ code: Code.PUSHERS_NO_ROOM });
    expect(await listedRoom("live_room", ref.roomID)).toBeUndefined();
    expect(await tablesOf(ref)).toEqual([]);
    expect(await alarmOf(ref)).toBeNull();
  });

  it("the last pusher expiring destroys the room", async () => {
    const ref = newRef("double_room");
    await join(ref, "only");
    await expirePushers(ref);
    await runDurableObjectAlarm(roomStub(ref));
    expect(await roomStub(ref).getPushers(ref)).toMatchObject({ code: Code.PUSHERS_NO_ROOM });
    expect(await tablesOf(ref)).toEqual([]);
  });

  it("reclaims a room created and never joined after the idle timeout", async () => {
    const ref = newRef("multi_room");
    const room = roomStub(ref);
    await room.createRoom(ref, "ghost", "nobody comes");
    const [row] = await roomSql<{ created_at: number; empty_since: number }>(
      ref,
      "SELECT created_at, empty_since FROM room",
    );
    expect(row!.empty_since).toBe(row!.created_at);
    expect(await alarmOf(ref)).toBe(row!.created_at + IDLE_MS);

    // An early alarm (before the idle deadline) changes nothing and re-arms.
    expect(await runDurableObjectAlarm(room)).toBe(true);
    expect(await room.getPushers(ref)).toMatchObject({ code: 0 });
    expect(await alarmOf(ref)).toBe(row!.created_at + IDLE_MS);

    await roomSql(ref, "UPDATE room SET empty_since = ?", Date.now() - IDLE_MS - 1);
    expect(await runDurableObjectAlarm(room)).toBe(true);
    expect(await room.getPushers(ref)).toMatchObject({ code: Code.PUSHERS_NO_ROOM });
    expect(await tablesOf(ref)).toEqual([]);
    expect(await alarmOf(ref)).toBeNull();
    // The roomID is free again.
    expect(await room.createRoom(ref, "next", "again")).toMatchObject({ code: 0 });
  });

  it("running the alarm twice in a row is harmless", async () => {
    const ref = newRef("multi_room");
    const room = roomStub(ref);
    await join(ref, "stay1");
    await join(ref, "stay2");
    await join(ref, "go");
    await expirePushers(ref, ["go"]);
    // At-least-once delivery: the handler may run again on the same state.
    await runInDurableObject(room, async (instance: Room) => {
      await instance.alarm();
      await instance.alarm();
    });
    expect(await pusherIDs(ref)).toEqual(["stay1", "stay2"]);
    // And through the runtime: each run re-arms for the survivors and changes nothing else.
    expect(await runDurableObjectAlarm(room)).toBe(true);
    expect(await runDurableObjectAlarm(room)).toBe(true);
    expect(await pusherIDs(ref)).toEqual(["stay1", "stay2"]);
    expect((await listedRoom("multi_room", ref.roomID))?.pushers).toHaveLength(2);
    const d = await deadlines(ref);
    await room.heartbeat(ref, "stay1");
    expect(await alarmOf(ref)).toBe(Math.min(d.stay2!, (await deadlines(ref)).stay1!));
  });

  it("an alarm on a reclaimed room does nothing", async () => {
    const ref = newRef("multi_room");
    await join(ref, "a");
    await roomStub(ref).destroyRoom(ref, "a");
    await runInDurableObject(roomStub(ref), (instance: Room) => instance.alarm());
    expect(await tablesOf(ref)).toEqual([]);
    expect(await alarmOf(ref)).toBeNull();
  });

  it("heartbeats never call the directory", async () => {
    const ref = newRef("multi_room");
    await join(ref, "a");
    const spy = await watchDirectory(ref);
    for (let i = 0; i < 5; i++) await roomStub(ref).heartbeat(ref, "a");
    expect(spy).not.toHaveBeenCalled();
    await join(ref, "b");
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
  });
});

describe("expiry with the stream status check", () => {
  async function setup(answer: "live" | "stopped" | "unknown") {
    const ref = newRef("multi_room");
    await join(ref, "host");
    await join(ref, "p");
    await overrideConfig(ref, { STREAM_STATUS_CHECK: true, insecureSecrets: [] });
    const spy = await stubStreamStates(ref, (streams) => new Map(streams.map((s) => [s, answer])));
    await expirePushers(ref, ["p"]);
    return { ref, spy };
  }

  it("keeps a pusher whose stream is live, and records the confirmation", async () => {
    const { ref, spy } = await setup("live");
    await runDurableObjectAlarm(roomStub(ref));
    expect(spy).toHaveBeenCalledWith(expect.anything(), [`${BIZID}_${ref.roomID}_p`]);
    expect(await pusherIDs(ref)).toEqual(["host", "p"]);
    const [row] = await roomSql<{ deadline: number; confirmed_at: number }>(
      ref,
      "SELECT deadline, confirmed_at FROM pushers WHERE user_id = 'p'",
    );
    expect(row!.confirmed_at).toBeGreaterThan(0);
    expect(row!.deadline).toBe(row!.confirmed_at + HEARTBEAT_MS);
  });

  it("evicts a pusher whose stream stopped", async () => {
    const { ref } = await setup("stopped");
    await runDurableObjectAlarm(roomStub(ref));
    expect(await pusherIDs(ref)).toEqual(["host"]);
  });

  it("retries an unknown stream, then evicts it past 3 timeouts of silence", async () => {
    const { ref } = await setup("unknown");
    await runDurableObjectAlarm(roomStub(ref));
    expect(await pusherIDs(ref)).toEqual(["host", "p"]);
    const [row] = await roomSql<{ deadline: number }>(ref, "SELECT deadline FROM pushers WHERE user_id = 'p'");
    expect(row!.deadline).toBeGreaterThan(Date.now());
    expect(row!.deadline - Date.now()).toBeLessThanOrEqual(5_000);

    await roomSql(
      ref,
      "UPDATE pushers SET last_seen = ?, deadline = ? WHERE user_id = 'p'",
      Date.now() - 3 * HEARTBEAT_MS,
      Date.now() - 1,
    );
    await runDurableObjectAlarm(roomStub(ref));
    expect(await pusherIDs(ref)).toEqual(["host"]);
  });

  it("does not ask the API when the check is off (default)", async () => {
    const ref = newRef("multi_room");
    await join(ref, "host");
    await join(ref, "p");
    const spy = await stubStreamStates(ref, () => new Map());
    await expirePushers(ref, ["p"]);
    await runDurableObjectAlarm(roomStub(ref));
    expect(spy).not.toHaveBeenCalled();
    expect(await pusherIDs(ref)).toEqual(["host"]);
  });
});

describe("durability", () => {
  it("keeps all state across an eviction of the object", async () => {
    const ref = newRef("live_room");
    const room = roomStub(ref);
    await join(ref, "host", "durable");
    await join(ref, "guest");
    await room.addAudience(ref, "viewer", "vi");
    await room.setCustomField(ref, "likes", "set", 7);
    const before = await room.getPushers(ref);
    const alarm = await alarmOf(ref);

    await evictDurableObject(room);

    expect(await room.getPushers(ref)).toEqual(before);
    expect(await room.getAudiences(ref)).toMatchObject({ audiences: [{ userID: "viewer", userInfo: "vi" }] });
    expect(await room.getCustomInfo(ref)).toMatchObject({ customInfo: '{"likes":7}' });
    expect(await alarmOf(ref)).toBe(alarm);
    expect(await room.heartbeat(ref, "guest")).toMatchObject({ code: 0 });
    expect(await room.addPusher(ref, pusherFor(ref, "third"))).toMatchObject({ code: 0 });
    expect(await pusherIDs(ref)).toEqual(["host", "guest", "third"]);
  });

  it("records the schema version", async () => {
    const ref = newRef("multi_room");
    await join(ref, "a");
    expect(await roomSql(ref, "SELECT version FROM schema_version")).toEqual([{ version: 1 }]);
  });
});

describe("directory sync", () => {
  it("converges after the room -> directory call fails, via the alarm retry", async () => {
    const ref = newRef("multi_room");
    const room = roomStub(ref);
    const outage = await breakDirectory(ref);

    // The membership change succeeds for the caller; the directory does not have it yet.
    expect(await join(ref, "a")).toMatchObject({ code: 0 });
    expect(outage.attempts).toBe(1);
    expect(await listedRoom("multi_room", ref.roomID)).toBeUndefined();
    const [pending] = await roomSql<{ pending: number; attempts: number; retry_at: number }>(
      ref,
      "SELECT pending, attempts, retry_at FROM directory_sync",
    );
    expect(pending).toMatchObject({ pending: 1, attempts: 1 });
    // The retry is a deadline: the alarm is set to it (earlier than the pusher's).
    expect(await alarmOf(ref)).toBe(pending!.retry_at);
    expect(pending!.retry_at).toBeLessThan((await deadlines(ref)).a!);

    // A retry that fails again backs off.
    await roomSql(ref, "UPDATE directory_sync SET retry_at = ?", Date.now() - 1);
    await runDurableObjectAlarm(room);
    expect(outage.attempts).toBe(2);
    const [again] = await roomSql<{ attempts: number; retry_at: number }>(
      ref,
      "SELECT attempts, retry_at FROM directory_sync",
    );
    expect(again!.attempts).toBe(2);
    expect(again!.retry_at - Date.now()).toBeGreaterThan(5_000);

    // More changes while the directory is down: only the newest matters.
    await join(ref, "b");
    expect(await listedRoom("multi_room", ref.roomID)).toBeUndefined();

    outage.restore();
    await roomSql(ref, "UPDATE directory_sync SET retry_at = ?", Date.now() - 1);
    expect(await runDurableObjectAlarm(room)).toBe(true);
    expect((await listedRoom("multi_room", ref.roomID))?.pushers.map((p) => p.userID)).toEqual(["a", "b"]);
    expect(await roomSql(ref, "SELECT pending, retry_at FROM directory_sync")).toEqual([
      { pending: 0, retry_at: null },
    ]);
    // Back to the pusher deadline.
    expect(await alarmOf(ref)).toBe(Math.min(...Object.values(await deadlines(ref))));
  });

  it("a destroyed room keeps a pending removal until it lands, then reclaims its storage", async () => {
    const ref = newRef("double_room");
    const room = roomStub(ref);
    await join(ref, "a");
    expect(await listedRoom("double_room", ref.roomID)).toBeDefined();
    const outage = await breakDirectory(ref);
    expect(await room.destroyRoom(ref, "a")).toMatchObject({ code: 0 });
    // Destroyed for clients, still listed until the removal lands; storage holds only the pending removal.
    expect(await room.getPushers(ref)).toMatchObject({ code: Code.PUSHERS_NO_ROOM });
    expect(await listedRoom("double_room", ref.roomID)).toBeDefined();
    expect(await roomSql(ref, "SELECT view, pending FROM directory_sync")).toEqual([{ view: null, pending: 1 }]);
    expect(await roomSql(ref, "SELECT COUNT(*) AS n FROM pushers")).toEqual([{ n: 0 }]);
    expect(await alarmOf(ref)).not.toBeNull();

    outage.restore();
    await roomSql(ref, "UPDATE directory_sync SET retry_at = ?", Date.now() - 1);
    await runDurableObjectAlarm(room);
    expect(await listedRoom("double_room", ref.roomID)).toBeUndefined();
    expect(await tablesOf(ref)).toEqual([]);
    expect(await alarmOf(ref)).toBeNull();
  });

  it("a room destroyed and created again is listed again (versions keep going up)", async () => {
    const ref = newRef("multi_room");
    const room = roomStub(ref);
    await join(ref, "a");
    const [first] = await roomSql<{ version: number }>(ref, "SELECT version FROM directory_sync");
    await room.destroyRoom(ref, "a");
    expect(await tablesOf(ref)).toEqual([]);
    await join(ref, "b");
    const [second] = await roomSql<{ version: number }>(ref, "SELECT version FROM directory_sync");
    expect(second!.version).toBeGreaterThan(first!.version);
    expect((await listedRoom("multi_room", ref.roomID))?.pushers.map((p) => p.userID)).toEqual(["b"]);
    // And after an eviction of the object (no in-memory version) as well.
    await room.destroyRoom(ref, "b");
    await evictDurableObject(room);
    await join(ref, "c");
    const [third] = await roomSql<{ version: number }>(ref, "SELECT version FROM directory_sync");
    expect(third!.version).toBeGreaterThan(second!.version);
    expect((await listedRoom("multi_room", ref.roomID))?.pushers.map((p) => p.userID)).toEqual(["c"]);
  });

  it("membership changes that do not change the listing send nothing", async () => {
    const ref = newRef("multi_room");
    await join(ref, "a");
    const spy = await watchDirectory(ref);
    await join(ref, "a"); // same info: a refresh
    expect(spy).not.toHaveBeenCalled();
    await roomStub(ref).addPusher(ref, pusherFor(ref, "a", { userName: "new name" }));
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
  });
});
