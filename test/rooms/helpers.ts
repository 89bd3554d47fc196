// Helpers for the Room/Directory Durable Object tests: random names, stubs, and storage pokes.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { type Config, configFor } from "../../src/config";
import type { StreamState } from "../../src/live/stream-status";
import type { Room } from "../../src/rooms/room";
import { type PusherInput, type RoomKind, type RoomRef, roomObjectName } from "../../src/rooms/types";

export const BIZID = "8888";
export const PLAY_HOST = "play.example.test";

export function randomID(prefix = "r"): string {
  return `${prefix}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

export function newRef(kind: RoomKind): RoomRef {
  return { kind, roomID: randomID("room_") };
}

export function roomStub(ref: RoomRef) {
  return env.ROOM.getByName(roomObjectName(ref));
}

export function directory(kind: RoomKind | string) {
  return env.DIRECTORY.getByName(kind);
}

/** What the router passes for a user joining `ref` (stream name as the kind's push URL would have it). */
export function pusherFor(ref: RoomRef, userID: string, over: Partial<PusherInput> = {}): PusherInput {
  const stream = ref.kind === "live_room" ? `${BIZID}_${userID}` : `${BIZID}_${ref.roomID}_${userID}`;
  return {
    userID,
    userName: `name-${userID}`,
    userAvatar: `https://example.test/${userID}.png`,
    stream,
    accelerateURL: `rtmp://${PLAY_HOST}/live/${stream}?bizid=${BIZID}&txSecret=x&txTime=FFFFFFFF`,
    ...over,
  };
}

/** The directory's entry for a room, if listed (searches the first 1000 of the kind). */
export async function listedRoom(kind: RoomKind, roomID: string) {
  const rooms = await directory(kind).list(0, 1000);
  return rooms.find((r) => r.roomID === roomID);
}

type Row = Record<string, SqlStorageValue>;

/** Runs SQL inside the room object (test-only: moves deadlines, reads internal state). */
export function roomSql<T extends Row = Row>(ref: RoomRef, query: string, ...bindings: unknown[]): Promise<T[]> {
  return runInDurableObject(roomStub(ref), (_instance: Room, state) =>
    state.storage.sql.exec<T>(query, ...bindings).toArray(),
  );
}

/** The names of the tables left in the object's storage ([] = storage reclaimed). */
export function tablesOf(ref: RoomRef): Promise<string[]> {
  return runInDurableObject(roomStub(ref), (_instance: Room, state) =>
    state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .toArray()
      .map((r) => r.name),
  );
}

export function alarmOf(ref: RoomRef): Promise<number | null> {
  return runInDurableObject(roomStub(ref), (_instance: Room, state) => state.storage.getAlarm());
}

/** Makes the given pushers' (or all) deadlines already passed. */
export async function expirePushers(ref: RoomRef, userIDs?: string[]): Promise<void> {
  const past = Date.now() - 1;
  if (!userIDs) {
    await roomSql(ref, "UPDATE pushers SET deadline = ?", past);
    return;
  }
  for (const id of userIDs) await roomSql(ref, "UPDATE pushers SET deadline = ? WHERE user_id = ?", past, id);
}

/** Replaces the room instance's config (until the instance is evicted). */
export function overrideConfig(ref: RoomRef, over: Partial<Config>): Promise<void> {
  return runInDurableObject(roomStub(ref), (instance: Room) => {
    const config = { ...configFor(env), ...over };
    vi.spyOn(instance as unknown as { loadConfig(): Config }, "loadConfig").mockReturnValue(config);
  });
}

/** Answers the stream-status seam of the room instance with fixed states. */
export function stubStreamStates(ref: RoomRef, answer: (streams: string[]) => Map<string, StreamState>) {
  return runInDurableObject(roomStub(ref), (instance: Room) =>
    vi
      .spyOn(
        instance as unknown as { streamStatus(c: Config, s: string[]): Promise<Map<string, StreamState>> },
        "streamStatus",
      )
      .mockImplementation(async (_config, streams) => answer(streams)),
  );
}

type DirectorySeam = { pushToDirectory(kind: RoomKind, changes: unknown[]): Promise<void> };

/** Makes the room's calls to its Directory fail until `restore()`; counts the attempts. */
export async function breakDirectory(ref: RoomRef) {
  let attempts = 0;
  const spy = await runInDurableObject(roomStub(ref), (instance: Room) =>
    vi.spyOn(instance as unknown as DirectorySeam, "pushToDirectory").mockImplementation(async () => {
      attempts++;
      throw new Error("simulated directory outage");
    }),
  );
  return {
    get attempts() {
      return attempts;
    },
    restore: () => spy.mockRestore(),
  };
}

/** Counts the room's directory sends without changing them. */
export async function watchDirectory(ref: RoomRef) {
  return runInDurableObject(roomStub(ref), (instance: Room) =>
    vi.spyOn(instance as unknown as DirectorySeam, "pushToDirectory"),
  );
}
