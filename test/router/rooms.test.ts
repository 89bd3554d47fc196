// Contract section 5 through the router, for every room kind: lifecycle, capacity, races, codes, lists.
import { describe, expect, it } from "vitest";
import { BIZID, Client, call, randomName } from "../helpers";

const KINDS = [
  { kind: "live_room", capacity: 4 },
  { kind: "double_room", capacity: 2 },
  { kind: "multi_room", capacity: 4 },
] as const;

const login = (kind: (typeof KINDS)[number]["kind"], n: number) =>
  Promise.all(Array.from({ length: n }, () => Client.login(kind)));

describe.each(KINDS)("$kind", ({ kind, capacity }) => {
  it("full lifecycle: create, join, list, heartbeat, leave, gone", async () => {
    const [a, b] = await login(kind, 2);
    const created = await a!.do("create_room", { roomInfo: "hello" });
    expect(created).toMatchObject({ code: 0, roomID: expect.stringMatching(/^room_[0-9a-f]{8}_[0-9a-f]{4}$/) });
    const roomID = created.roomID as string;

    expect((await a!.join(roomID)).code).toBe(0);
    expect((await b!.join(roomID)).code).toBe(0);
    const room = await b!.do("get_pushers", { roomID });
    expect(room).toMatchObject({ code: 0, roomID, roomInfo: "hello", roomCreator: a!.user });
    expect(room.mixedPlayURL).toMatch(new RegExp(`^http://play\\.example\\.test/live/${BIZID}_.*${a!.user}\\.flv$`));
    expect(room.pushers.map((p: { userID: string }) => p.userID).sort()).toEqual([a!.user, b!.user].sort());
    for (const p of room.pushers) {
      expect(Object.keys(p).sort()).toEqual(["accelerateURL", "userAvatar", "userID", "userName"]);
      expect(p.accelerateURL).toMatch(
        /^rtmp:\/\/play\.example\.test\/live\/\w+\?bizid=8888&txSecret=[0-9a-f]{32}&txTime=[0-9A-F]{8}$/,
      );
    }
    if (kind === "live_room") expect(room.audienceCount).toBe(0);

    const list = await b!.do("get_room_list", { index: 0, cnt: 100 });
    const listed = list.rooms.find((r: { roomID: string }) => r.roomID === roomID);
    expect(listed).toMatchObject({ roomID, roomInfo: "hello", roomCreator: a!.user, mixedPlayURL: room.mixedPlayURL });
    expect(listed.pushers).toHaveLength(2);

    expect((await b!.do("pusher_heartbeat", { roomID })).code).toBe(0);
    expect((await b!.do("delete_pusher", { roomID })).code).toBe(0);
    expect((await b!.do("delete_pusher", { roomID })).code).toBe(5);
    expect((await a!.do("delete_pusher", { roomID })).code).toBe(0);
    // The last pusher leaving destroys the room, and it leaves the list.
    expect((await a!.do("get_pushers", { roomID })).code).toBe(1);
    const after = await a!.do("get_room_list", { index: 0, cnt: 100 });
    expect(after.rooms.some((r: { roomID: string }) => r.roomID === roomID)).toBe(false);
  });

  it(`holds ${capacity} pushers: the next gets 5001; re-adding refreshes`, async () => {
    const users = await login(kind, capacity + 1);
    const roomID = randomName("r");
    expect((await users[0]!.do("create_room", { roomID, roomInfo: "cap" })).code).toBe(0);
    for (const u of users.slice(0, capacity)) expect((await u.join(roomID)).code).toBe(0);
    expect((await users[capacity]!.join(roomID)).code).toBe(5001);
    const refreshed = await users[capacity - 1]!.join(roomID, { userName: "renamed", userAvatar: "new.png" });
    expect(refreshed.code).toBe(0);
    const room = await users[0]!.do("get_pushers", { roomID });
    expect(room.pushers).toHaveLength(capacity);
    const me = room.pushers.find((p: { userID: string }) => p.userID === users[capacity - 1]!.user);
    expect(me).toMatchObject({ userName: "renamed", userAvatar: "new.png" });
  });

  it("concurrent add_pusher from more users than fit: exactly capacity succeed", async () => {
    const users = await login(kind, 10);
    const roomID = randomName("r");
    expect((await users[0]!.do("create_room", { roomID, roomInfo: "crowd" })).code).toBe(0);
    const urls = await Promise.all(users.map((u) => u.pushUrl(roomID)));
    const codes = await Promise.all(
      users.map((u, i) => u.do("add_pusher", { roomID, userName: u.user, userAvatar: "", pushURL: urls[i] })),
    ).then((rs) => rs.map((r) => r.code));
    expect(codes.filter((c) => c === 0)).toHaveLength(capacity);
    expect(codes.filter((c) => c === 5001)).toHaveLength(10 - capacity);
    expect((await users[0]!.do("get_pushers", { roomID })).pushers).toHaveLength(capacity);
  });

  it("add_pusher creates a missing room with the caller as creator", async () => {
    const [a] = await login(kind, 1);
    const roomID = randomName("r");
    expect((await a!.join(roomID, { roomInfo: "made by join" })).code).toBe(0);
    expect(await a!.do("get_pushers", { roomID })).toMatchObject({
      code: 0,
      roomCreator: a!.user,
      roomInfo: "made by join",
    });
    const [b] = await login(kind, 1);
    const implicit = randomName("r");
    expect((await b!.join(implicit)).code).toBe(0);
    expect(await b!.do("get_pushers", { roomID: implicit })).toMatchObject({ code: 0, roomInfo: "" });
  });

  it("answers every error code of section 5", async () => {
    const [a, b, c] = await login(kind, 3);
    const roomID = randomName("r");
    expect((await a!.do("create_room", { roomID, roomInfo: "x" })).code).toBe(0);
    expect((await b!.do("create_room", { roomID, roomInfo: "again" })).code).toBe(11);
    expect((await a!.do("create_room", { roomInfo: "x".repeat(1025) })).code).toBe(11);
    expect((await a!.do("create_room", { roomInfo: "你".repeat(342) })).code).toBe(11); // 1026 bytes
    expect((await a!.do("create_room", { roomInfo: "你".repeat(341) })).code).toBe(0); // 1023 bytes
    expect((await a!.do("create_room", {})).code).toBe(2);
    expect((await a!.do("create_room", { roomInfo: 5 })).code).toBe(2);
    expect((await a!.do("create_room", { roomInfo: "x", roomID: "bad/id" })).code).toBe(2);
    expect((await a!.join(roomID)).code).toBe(0);

    const foreign = await b!.pushUrl(roomID);
    const pusher = { roomID, userName: "x", userAvatar: "y" };
    expect((await a!.do("add_pusher", { ...pusher, pushURL: foreign })).code).toBe(2);
    const own = await a!.pushUrl(roomID);
    expect((await a!.do("add_pusher", { ...pusher, pushURL: own.replace("txSecret=", "txSecret=0") })).code).toBe(2);
    expect((await a!.do("add_pusher", { ...pusher, pushURL: own.replace(/txTime=\w+/, "txTime=5C271099") })).code).toBe(
      2,
    );
    expect((await a!.do("add_pusher", { ...pusher, pushURL: "rtmp://evil.test/live/x" })).code).toBe(2);
    expect((await a!.do("add_pusher", { ...pusher })).code).toBe(2);
    expect((await a!.do("add_pusher", { ...pusher, pushURL: own, userName: "n".repeat(129) })).code).toBe(2);

    expect((await c!.do("delete_pusher", { roomID })).code).toBe(5);
    expect((await c!.do("pusher_heartbeat", { roomID })).code).toBe(5);
    expect((await b!.do("destroy_room", { roomID })).code).toBe(3);
    const nowhere = randomName("nope");
    expect((await a!.do("destroy_room", { roomID: nowhere })).code).toBe(3);
    expect((await a!.do("delete_pusher", { roomID: nowhere })).code).toBe(3);
    expect((await a!.do("pusher_heartbeat", { roomID: nowhere })).code).toBe(3);
    expect((await a!.do("get_pushers", { roomID: nowhere })).code).toBe(1);
    expect((await a!.do("get_pushers", {})).code).toBe(2);
    // None of the failures above changed the room.
    const room = await a!.do("get_pushers", { roomID });
    expect(room.pushers.map((p: { userID: string }) => p.userID)).toEqual([a!.user]);
    expect((await a!.do("destroy_room", { roomID })).code).toBe(0);
    expect((await a!.do("get_pushers", { roomID })).code).toBe(1);
  });

  it("a room id of this kind is invisible to the other kinds", async () => {
    const [a] = await login(kind, 1);
    const roomID = randomName("r");
    expect((await a!.join(roomID)).code).toBe(0);
    for (const other of KINDS.filter((k) => k.kind !== kind)) {
      const o = await Client.login(other.kind, a!.user);
      expect((await o.do("get_pushers", { roomID })).code).toBe(1);
      const list = await o.do("get_room_list", { index: 0, cnt: 100 });
      expect(list.rooms.some((r: { roomID: string }) => r.roomID === roomID)).toBe(false);
      // The same id can be created there independently.
      expect((await o.do("create_room", { roomID, roomInfo: other.kind })).code).toBe(0);
    }
    expect((await a!.do("get_pushers", { roomID })).code).toBe(0);
  });

  it("the creator leaving ends the room only where the policy says so", async () => {
    const [a, b] = await login(kind, 2);
    const roomID = randomName("r");
    expect((await a!.do("create_room", { roomID, roomInfo: "c" })).code).toBe(0);
    await a!.join(roomID);
    await b!.join(roomID);
    expect((await a!.do("delete_pusher", { roomID })).code).toBe(0);
    const expected = kind === "live_room" ? 1 : 0;
    expect((await b!.do("get_pushers", { roomID })).code).toBe(expected);
  });
});

describe("get_room_list", () => {
  it("lists rooms with pushers in creation order, paged by index and cnt", async () => {
    // A kind's list is shared by the whole file: use a fresh kind-wide view and filter to our rooms.
    const creators = await login("multi_room", 5);
    const made: string[] = [];
    for (const c of creators) {
      const roomID = randomName("p");
      expect((await c.do("create_room", { roomID, roomInfo: "p" })).code).toBe(0);
      expect((await c.join(roomID)).code).toBe(0);
      made.push(roomID);
    }
    const empty = randomName("p");
    expect((await creators[0]!.do("create_room", { roomID: empty, roomInfo: "nobody" })).code).toBe(0);

    const q = creators[0]!;
    const all = (await q.do("get_room_list", { index: 0, cnt: 100 })).rooms.map((r: { roomID: string }) => r.roomID);
    const mine = all.filter((id: string) => made.includes(id));
    expect(mine).toEqual(made);
    expect(all).not.toContain(empty);

    const start = all.indexOf(made[0]);
    const pages = [];
    for (let i = start; i < start + 5; i += 2) {
      pages.push(...(await q.do("get_room_list", { index: i, cnt: 2 })).rooms.map((r: { roomID: string }) => r.roomID));
    }
    expect(pages.slice(0, 5)).toEqual(made);
    expect(
      (await q.do("get_room_list", { index: String(start + 1), cnt: "2" })).rooms.map(
        (r: { roomID: string }) => r.roomID,
      ),
    ).toEqual(made.slice(1, 3));
  });

  it("handles index and cnt edges", async () => {
    const [q] = await login("double_room", 1);
    const roomID = randomName("e");
    await q!.join(roomID);
    const total = (await q!.do("get_room_list", { index: 0, cnt: 100 })).rooms.length;
    expect(total).toBeGreaterThanOrEqual(1);
    expect(await q!.do("get_room_list", { index: 0, cnt: 0 })).toMatchObject({ code: 0, rooms: [] });
    expect(await q!.do("get_room_list", { index: 0, cnt: -5 })).toMatchObject({ code: 0, rooms: [] });
    expect((await q!.do("get_room_list", { index: total, cnt: 10 })).rooms).toEqual([]);
    expect((await q!.do("get_room_list", { index: 1_000_000, cnt: 10 })).rooms).toEqual([]);
    expect((await q!.do("get_room_list", { index: 0, cnt: 1_000_000 })).code).toBe(0);
    expect((await q!.do("get_room_list", { index: -1, cnt: 10 })).code).toBe(2);
    expect((await q!.do("get_room_list", { index: 0 })).code).toBe(2);
    expect((await q!.do("get_room_list", { index: "x", cnt: 10 })).code).toBe(2);
    expect((await q!.do("get_room_list", { index: 1.5, cnt: 10 })).code).toBe(2);
    expect((await q!.do("get_room_list", { index: 0, cnt: "99999999999999999999" })).code).toBe(2);
  });

  it("caps cnt at ROOM_LIST_MAX_CNT", async () => {
    const users = await login("live_room", 3);
    for (const u of users) await u.join(randomName("cap"));
    const r = await call("live_room", "get_room_list", { query: users[0]!.query, body: { index: 0, cnt: 101 } });
    expect(r.body.code).toBe(0);
    expect(r.body.rooms.length).toBeLessThanOrEqual(100);
  });
});
