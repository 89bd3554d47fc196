// Pure deadline, versioning and ordering rules of the room objects: no runtime needed.
import { describe, expect, it } from "vitest";
import type { StreamState } from "../../src/live/stream-status";
import { nextVersion, retryDelayMs, SYNC_FIRST_RETRY_MS, SYNC_MAX_RETRY_MS } from "../../src/rooms/directory-sync";
import {
  decideExpiry,
  idleReclaimAt,
  MAX_SILENT_TIMEOUTS,
  nextAlarm,
  type PusherClock,
  silentLimit,
  streamCheckEnabled,
  UNKNOWN_RETRY_MS,
} from "../../src/rooms/expiry";
import { compareKeys, OrderedIndex } from "../../src/rooms/ordered-index";

const HB = 20_000;
const T0 = 1_800_000_000_000;

const pusher = (userID: string, over: Partial<PusherClock> = {}): PusherClock => ({
  userID,
  stream: `8888_${userID}`,
  lastSeen: T0,
  confirmedAt: null,
  deadline: T0 + HB,
  ...over,
});
const states = (entries: Record<string, StreamState>) => new Map(Object.entries(entries));

describe("decideExpiry without the stream check", () => {
  it("evicts exactly the pushers whose deadline has passed (deadline == now counts)", () => {
    const due = pusher("a", { deadline: T0 + HB });
    const early = pusher("b", { deadline: T0 + HB - 1 });
    const later = pusher("c", { deadline: T0 + HB + 1 });
    expect(decideExpiry([due, early, later], null, T0 + HB, HB)).toEqual([
      { userID: "a", action: "evict", reason: "timeout" },
      { userID: "b", action: "evict", reason: "timeout" },
    ]);
  });

  it("decides nothing when nothing is due", () => {
    expect(decideExpiry([pusher("a")], null, T0, HB)).toEqual([]);
    expect(decideExpiry([], null, T0, HB)).toEqual([]);
  });
});

describe("decideExpiry with the stream check", () => {
  const now = T0 + HB;

  it("keeps a live stream one more timeout and records the confirmation", () => {
    expect(decideExpiry([pusher("a")], states({ "8888_a": "live" }), now, HB)).toEqual([
      { userID: "a", action: "extend", deadline: now + HB, confirmedAt: now },
    ]);
  });

  it("evicts a stopped stream", () => {
    expect(decideExpiry([pusher("a")], states({ "8888_a": "stopped" }), now, HB)).toEqual([
      { userID: "a", action: "evict", reason: "stopped" },
    ]);
  });

  it("retries an unknown stream soon, keeping the last confirmation", () => {
    const p = pusher("a", { confirmedAt: T0 - 1000 });
    expect(decideExpiry([p], states({ "8888_a": "unknown" }), now, HB)).toEqual([
      { userID: "a", action: "extend", deadline: now + UNKNOWN_RETRY_MS, confirmedAt: T0 - 1000 },
    ]);
  });

  it("treats a stream missing from the answer as unknown", () => {
    const [d] = decideExpiry([pusher("a")], states({}), now, HB);
    expect(d).toMatchObject({ action: "extend", deadline: now + UNKNOWN_RETRY_MS });
  });

  it("never keeps an unknown pusher past 3 timeouts since its last heartbeat", () => {
    const limit = T0 + MAX_SILENT_TIMEOUTS * HB;
    expect(silentLimit(pusher("a"), HB)).toBe(limit);
    // The retry is capped at the limit...
    const near = decideExpiry([pusher("a", { deadline: limit - 1 })], states({}), limit - 1, HB);
    expect(near).toEqual([{ userID: "a", action: "extend", deadline: limit, confirmedAt: null }]);
    // ...and at the limit it goes, whatever the API says next.
    expect(decideExpiry([pusher("a", { deadline: limit })], states({}), limit, HB)).toEqual([
      { userID: "a", action: "evict", reason: "silent-too-long" },
    ]);
  });

  it("counts the silent limit from the last confirmed-live status when that is later", () => {
    const confirmedAt = T0 + 2 * HB;
    const p = pusher("a", { confirmedAt, deadline: confirmedAt + HB });
    expect(silentLimit(p, HB)).toBe(confirmedAt + MAX_SILENT_TIMEOUTS * HB);
    expect(decideExpiry([p], states({}), T0 + MAX_SILENT_TIMEOUTS * HB, HB)[0]).toMatchObject({ action: "extend" });
  });

  it("an API that always fails evicts within 3 timeouts of the last heartbeat", () => {
    // Simulate the alarm loop: each round applies the decision at its deadline.
    let p = pusher("a");
    let now2 = p.deadline;
    for (let round = 0; round < 100; round++) {
      const [d] = decideExpiry([p], states({}), now2, HB);
      if (!d || d.action === "evict") break;
      p = { ...p, deadline: d.deadline, confirmedAt: d.confirmedAt };
      now2 = d.deadline;
    }
    expect(now2).toBe(T0 + MAX_SILENT_TIMEOUTS * HB);
  });

  it("uses a retry no longer than the heartbeat timeout", () => {
    const shortHb = 2000;
    const p = pusher("a", { deadline: T0 + shortHb });
    expect(decideExpiry([p], states({}), T0 + shortHb, shortHb)[0]).toMatchObject({
      action: "extend",
      deadline: T0 + 2 * shortHb,
    });
  });
});

describe("streamCheckEnabled", () => {
  it("is on only when configured and the API key is real", () => {
    expect(streamCheckEnabled({ STREAM_STATUS_CHECK: true, insecureSecrets: [] })).toBe(true);
    expect(streamCheckEnabled({ STREAM_STATUS_CHECK: false, insecureSecrets: [] })).toBe(false);
    expect(streamCheckEnabled({ STREAM_STATUS_CHECK: true, insecureSecrets: ["LIVE_API_KEY"] })).toBe(false);
    expect(streamCheckEnabled({ STREAM_STATUS_CHECK: true, insecureSecrets: ["LIVE_PUSH_KEY"] })).toBe(true);
  });
});

describe("alarm time", () => {
  it("is the earliest pending deadline, or none", () => {
    expect(nextAlarm([30, null, 10, undefined, 20])).toBe(10);
    expect(nextAlarm([null, undefined])).toBeNull();
    expect(nextAlarm([])).toBeNull();
    expect(nextAlarm([Number.NaN, 5])).toBe(5);
  });

  it("includes the idle reclaim only while the room is empty", () => {
    expect(idleReclaimAt(null, 30_000)).toBeNull();
    expect(idleReclaimAt(T0, 30_000)).toBe(T0 + 30_000);
  });
});

describe("directory versions", () => {
  it("go up by one within a millisecond, and jump to the clock otherwise", () => {
    expect(nextVersion(0, 0, T0)).toBe(T0 * 1000);
    expect(nextVersion(T0 * 1000, 0, T0)).toBe(T0 * 1000 + 1);
    expect(nextVersion(T0 * 1000 + 1, 0, T0 + 1)).toBe((T0 + 1) * 1000);
  });

  it("stay monotonic after storage was reclaimed (stored = 0), in memory or by the clock", () => {
    const last = nextVersion(0, 0, T0) + 5;
    // Same instance, same millisecond: the in-memory version carries on.
    expect(nextVersion(0, last, T0)).toBe(last + 1);
    // A later instance: the clock alone is ahead.
    expect(nextVersion(0, 0, T0 + 1)).toBeGreaterThan(last);
    expect(Number.isSafeInteger(nextVersion(0, 0, Date.UTC(2200, 0, 1)))).toBe(true);
  });
});

describe("retry backoff", () => {
  it("doubles from the first retry and is capped", () => {
    expect(retryDelayMs(1)).toBe(SYNC_FIRST_RETRY_MS);
    expect(retryDelayMs(2)).toBe(2 * SYNC_FIRST_RETRY_MS);
    expect(retryDelayMs(3)).toBe(4 * SYNC_FIRST_RETRY_MS);
    expect(retryDelayMs(50)).toBe(SYNC_MAX_RETRY_MS);
    expect(retryDelayMs(10_000)).toBe(SYNC_MAX_RETRY_MS);
  });

  it("jitters by at most 20%", () => {
    expect(retryDelayMs(1, 0)).toBe(0.8 * SYNC_FIRST_RETRY_MS);
    expect(retryDelayMs(1, 0.999999)).toBeLessThanOrEqual(1.2 * SYNC_FIRST_RETRY_MS);
    expect(retryDelayMs(50, 1)).toBe(1.2 * SYNC_MAX_RETRY_MS);
  });
});

describe("OrderedIndex", () => {
  const key = (createdAt: number, roomID: string) => ({ createdAt, roomID });

  it("orders by creation time, then roomID", () => {
    const index = new OrderedIndex([key(2, "a"), key(1, "b"), key(1, "a"), key(3, "0")]);
    expect(index.page(0, 10)).toEqual([key(1, "a"), key(1, "b"), key(2, "a"), key(3, "0")]);
    expect(compareKeys(key(1, "b"), key(2, "a"))).toBeLessThan(0);
    expect(compareKeys(key(1, "b"), key(1, "a"))).toBeGreaterThan(0);
    expect(compareKeys(key(1, "a"), key(1, "a"))).toBe(0);
  });

  it("inserts and removes in place, ignoring duplicates and unknown keys", () => {
    const index = new OrderedIndex();
    for (const k of [key(5, "e"), key(1, "a"), key(3, "c"), key(3, "b"), key(9, "z")]) index.insert(k);
    index.insert(key(3, "c"));
    expect(index.size).toBe(5);
    expect(index.remove(key(3, "c"))).toBe(true);
    expect(index.remove(key(3, "c"))).toBe(false);
    expect(index.remove(key(4, "b"))).toBe(false);
    expect(index.page(0, 10).map((k) => k.roomID)).toEqual(["a", "b", "e", "z"]);
  });

  it("pages with index/cnt edges", () => {
    const index = new OrderedIndex(Array.from({ length: 10 }, (_, i) => key(i, `r${i}`)));
    const ids = (i: number, c: number) => index.page(i, c).map((k) => k.roomID);
    expect(ids(0, 3)).toEqual(["r0", "r1", "r2"]);
    expect(ids(8, 5)).toEqual(["r8", "r9"]);
    expect(ids(9, 1)).toEqual(["r9"]);
    expect(ids(10, 5)).toEqual([]);
    expect(ids(1000, 5)).toEqual([]);
    expect(ids(0, 0)).toEqual([]);
    expect(ids(0, -1)).toEqual([]);
    expect(ids(-3, 2)).toEqual(["r0", "r1"]);
    expect(ids(Number.NaN, 1)).toEqual(["r0"]);
    expect(ids(0, Number.NaN)).toEqual([]);
  });

  it("stays sorted under random inserts and removes", () => {
    const index = new OrderedIndex();
    const live = new Map<string, number>();
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 2000; i++) {
      const id = `r${Math.floor(rand() * 300)}`;
      const at = live.get(id);
      if (at !== undefined) {
        index.remove(key(at, id));
        live.delete(id);
      } else {
        const createdAt = Math.floor(rand() * 50);
        index.insert(key(createdAt, id));
        live.set(id, createdAt);
      }
    }
    const expected = [...live].map(([id, at]) => key(at, id)).sort(compareKeys);
    expect(index.page(0, 10_000)).toEqual(expected);
  });
});
