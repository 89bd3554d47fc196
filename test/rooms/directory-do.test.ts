// The Directory Durable Object: ordering, paging, versioned apply, tombstones, and O(cnt) pages.
// Most tests talk to a Directory under a random name (any name works), so they do not share state.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type Directory, type DirectoryChange, TOMBSTONE_TTL_MS } from "../../src/rooms/directory";
import type { RoomView } from "../../src/rooms/types";
import { directory, listedRoom, newRef, pusherFor, randomID, roomStub } from "./helpers";

const view = (roomID: string, pushers = ["p"]): RoomView => ({
  roomID,
  roomInfo: `info-${roomID}`,
  roomCreator: pushers[0] ?? "c",
  mixedPlayURL: `http://play.example.test/live/8888_${roomID}.flv`,
  pushers: pushers.map((userID) => ({ userID, userName: userID, userAvatar: "", accelerateURL: "" })),
});
const upsert = (roomID: string, createdAt: number, version: number, pushers?: string[]): DirectoryChange => ({
  roomID,
  version,
  entry: { room: view(roomID, pushers), createdAt, version },
});
const removal = (roomID: string, version: number): DirectoryChange => ({ roomID, version, entry: null });

function freshDirectory() {
  return directory(randomID("dir_"));
}

async function ids(dir: ReturnType<typeof freshDirectory>, index = 0, cnt = 1000) {
  return (await dir.list(index, cnt)).map((r) => r.roomID);
}

describe("order and paging", () => {
  it("lists by (createdAt, roomID) with index/cnt edges", async () => {
    const dir = freshDirectory();
    await dir.apply([upsert("c", 200, 1), upsert("a", 300, 1), upsert("b", 200, 1)]);
    await dir.apply([upsert("z", 100, 1)]);
    await dir.apply([upsert("d", 300, 1)]);
    expect(await ids(dir)).toEqual(["z", "b", "c", "a", "d"]);
    expect(await dir.size()).toBe(5);

    expect(await ids(dir, 0, 2)).toEqual(["z", "b"]);
    expect(await ids(dir, 2, 2)).toEqual(["c", "a"]);
    expect(await ids(dir, 4, 2)).toEqual(["d"]);
    expect(await ids(dir, 5, 2)).toEqual([]);
    expect(await ids(dir, 500, 2)).toEqual([]);
    expect(await ids(dir, 0, 0)).toEqual([]);
    expect(await ids(dir, 0, -3)).toEqual([]);
    expect(await ids(dir, 1, 1)).toEqual(["b"]);
    expect(await dir.list(0, 1)).toEqual([view("z")]);
  });

  it("keeps the order across an eviction (rebuilt from the index)", async () => {
    const dir = freshDirectory();
    await dir.apply([upsert("m", 5, 1), upsert("k", 5, 1), upsert("x", 1, 1)]);
    await evictDurableObject(dir);
    expect(await ids(dir)).toEqual(["x", "k", "m"]);
    await dir.apply([upsert("a", 3, 1)]);
    expect(await ids(dir)).toEqual(["x", "a", "k", "m"]);
  });
});

describe("versioned apply", () => {
  it("is idempotent and ignores anything not newer than what it holds", async () => {
    const dir = freshDirectory();
    await dir.apply([upsert("r", 10, 5, ["a"])]);
    await dir.apply([upsert("r", 10, 5, ["a"])]);
    expect(await dir.size()).toBe(1);
    await dir.apply([upsert("r", 10, 4, ["stale"])]);
    expect((await dir.list(0, 1))[0]?.pushers.map((p) => p.userID)).toEqual(["a"]);
    await dir.apply([upsert("r", 10, 6, ["a", "b"])]);
    expect((await dir.list(0, 1))[0]?.pushers.map((p) => p.userID)).toEqual(["a", "b"]);
  });

  it("keeps a tombstone so a late, older upsert cannot bring a removed room back", async () => {
    const dir = freshDirectory();
    await dir.apply([upsert("r", 10, 1)]);
    await dir.apply([removal("r", 3)]);
    expect(await ids(dir)).toEqual([]);
    await dir.apply([upsert("r", 10, 2)]);
    expect(await ids(dir)).toEqual([]);
    // A removal of a room never seen also blocks its older upserts.
    await dir.apply([removal("q", 7), upsert("q", 1, 6)]);
    expect(await ids(dir)).toEqual([]);
    // A newer lifetime of the room is listed again, at its new creation time.
    await dir.apply([upsert("other", 50, 1), upsert("r", 100, 4)]);
    expect(await ids(dir)).toEqual(["other", "r"]);
  });

  it("moves a room when its creation time changes, applying a batch in order", async () => {
    const dir = freshDirectory();
    await dir.apply([upsert("a", 1, 1), upsert("b", 2, 1)]);
    await dir.apply([upsert("a", 3, 2), removal("b", 2), upsert("b", 0, 3)]);
    expect(await ids(dir)).toEqual(["b", "a"]);
    expect(await dir.size()).toBe(2);
  });

  it("ignores malformed changes", async () => {
    const dir = freshDirectory();
    await dir.apply([
      { roomID: "", version: 1, entry: null },
      { roomID: "x", version: Number.NaN, entry: null },
      { roomID: "y", version: 1, entry: { createdAt: "soon" } } as unknown as DirectoryChange,
      upsert("ok", 1, 1),
    ]);
    expect(await ids(dir)).toEqual(["ok"]);
  });

  it("garbage-collects old tombstones", async () => {
    const dir = freshDirectory();
    await dir.apply([upsert("gone", 1, 1), removal("gone", 2)]);
    await runInDurableObject(dir, (_d: Directory, state) => {
      state.storage.sql.exec(
        "UPDATE rooms SET removed_at = ? WHERE room_id = 'gone'",
        Date.now() - TOMBSTONE_TTL_MS - 1,
      );
    });
    await dir.apply([upsert("new", 1, 1)]);
    const rows = await runInDurableObject(dir, (_d: Directory, state) =>
      state.storage.sql.exec<{ room_id: string }>("SELECT room_id FROM rooms ORDER BY room_id").toArray(),
    );
    expect(rows.map((r) => r.room_id)).toEqual(["new"]);
  });
});

describe("cost of a page", () => {
  it("reads O(cnt) rows for the last page of 50,000 rooms", async () => {
    const dir = freshDirectory();
    const total = 50_000;
    const batch = 2_500;
    for (let start = 0; start < total; start += batch) {
      const changes: DirectoryChange[] = [];
      // Creation times collide on purpose (ties order by roomID).
      for (let i = start; i < start + batch; i++)
        changes.push(upsert(`room_${String(i).padStart(6, "0")}`, Math.floor(i / 3), 1));
      await dir.apply(changes);
    }
    expect(await dir.size()).toBe(total);

    const { rooms, rowsRead } = await runInDurableObject(dir, async (instance: Directory, state) => {
      const sql = state.storage.sql;
      const original = sql.exec.bind(sql);
      let read = 0;
      sql.exec = ((query: string, ...bindings: unknown[]) => {
        const cursor = original(query, ...bindings);
        const rows = cursor.toArray();
        read += cursor.rowsRead;
        return Object.assign([][Symbol.iterator].call(rows), { toArray: () => rows, one: () => rows[0] });
      }) as typeof sql.exec;
      try {
        return { rooms: await instance.list(total - 10, 100), rowsRead: read };
      } finally {
        sql.exec = original;
      }
    });
    expect(rooms.map((r) => r.roomID)).toEqual(
      Array.from({ length: 10 }, (_, k) => `room_${String(total - 10 + k).padStart(6, "0")}`),
    );
    // One primary-key read per room on the page (the wrapper did see them), nothing for the 49,990 skipped.
    expect(rowsRead).toBeGreaterThanOrEqual(10);
    expect(rowsRead).toBeLessThanOrEqual(20);

    // A restarted object rebuilds the same order from the (createdAt, roomID) index.
    await evictDurableObject(dir);
    expect((await dir.list(total - 10, 100)).map((r) => r.roomID)).toEqual(rooms.map((r) => r.roomID));
    expect(await dir.size()).toBe(total);
  });
});

describe("fed by rooms", () => {
  it("lists rooms with pushers only, per kind", async () => {
    const empty = newRef("multi_room");
    await roomStub(empty).createRoom(empty, "nobody", "empty");
    const busy = newRef("multi_room");
    await roomStub(busy).addPusher(busy, pusherFor(busy, "p"));
    expect(await listedRoom("multi_room", empty.roomID)).toBeUndefined();
    expect(await listedRoom("multi_room", busy.roomID)).toMatchObject({
      roomID: busy.roomID,
      pushers: [{ userID: "p" }],
    });
    expect(await listedRoom("double_room", busy.roomID)).toBeUndefined();
  });

  it("orders rooms by creation time as they are created", async () => {
    const refs = [newRef("live_room"), newRef("live_room"), newRef("live_room")];
    for (const ref of refs) {
      await roomStub(ref).addPusher(ref, pusherFor(ref, `host_${ref.roomID}`));
      await new Promise((r) => setTimeout(r, 2));
    }
    const listed = (await directory("live_room").list(0, 1000)).map((r) => r.roomID);
    const mine = listed.filter((id) => refs.some((r) => r.roomID === id));
    expect(mine).toEqual(refs.map((r) => r.roomID));
  });
});
