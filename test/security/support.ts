// Shared tools of the security suite: requests through a router built with a chosen env (createApp),
// room and session snapshots, and the "nothing changed" comparison every rejection is held to.
import { createExecutionContext, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { createApp } from "../../src/app";
import { Code } from "../../src/protocol/codes";
import { ROOM_KINDS, type RoomKind, roomObjectName } from "../../src/rooms/types";
import type { Fetch, Reply, Session } from "../helpers";

export {
  type Answer,
  BASE,
  type Fetch,
  type Reply,
  randomName,
  SDK_APP_ID,
  type Send,
  Session,
  send,
  userSigFor,
} from "../helpers";
export const KINDS = ROOM_KINDS;
export const CAPACITY: Record<RoomKind, number> = { live_room: 4, double_room: 2, multi_room: 4 };

/** Every business code of contract section 2: the only codes an HTTP 200 may carry. */
export const BUSINESS_CODES = new Set<number>(Object.values(Code));
/** The only statuses a request may get besides 200 (contract section 1; 503 = store down or refusing). */
export const HTTP_FAILURES = new Set([400, 404, 405, 413, 429, 503]);

/** The worker's own router, but over `overrides` merged into the test env (config-dependent behaviour). */
export function routerWith(overrides: Record<string, unknown>): Fetch {
  const app = createApp();
  const custom = { ...env, ...overrides } as Env;
  return async (request) => app.fetch(request, custom, createExecutionContext());
}

/** The router without rate limiters: for tests that send many room-creating requests on purpose. */
export const unlimited = () => routerWith({ AUTH_LIMITER: undefined, ROOM_LIMITER: undefined });

/** The contract's shape of every answer: JSON {code: int, message: string}; 200 iff a business code. */
export function expectWellFormed(r: Reply, what = ""): void {
  expect(r.status, `${what}: ${r.text.slice(0, 300)}`).not.toBe(500);
  expect(Number.isInteger(r.body.code), `${what}: integer code`).toBe(true);
  expect(typeof r.body.message, `${what}: string message`).toBe("string");
  expect(r.headers.get("content-type") ?? "", what).toMatch(/^application\/json/);
  if (r.status === 200) expect(BUSINESS_CODES.has(r.body.code), `${what}: business code ${r.body.code}`).toBe(true);
  else {
    expect(HTTP_FAILURES.has(r.status), `${what}: status ${r.status}`).toBe(true);
    expect(r.body.code, what).toBe(r.status);
  }
}

// ------------------------------------------------------------------ room state

export const roomStub = (kind: RoomKind, roomID: string) => env.ROOM.getByName(roomObjectName({ kind, roomID }));
export const directoryStub = (kind: RoomKind) => env.DIRECTORY.getByName(kind);

type Row = Record<string, SqlStorageValue>;
export interface StorageDump {
  tables: Record<string, Row[]>;
  alarm: number | null;
}

/** Every row of every table of a room object, and its alarm: the strictest "nothing changed". */
export function dumpRoom(kind: RoomKind, roomID: string): Promise<StorageDump> {
  return runInDurableObject(roomStub(kind, roomID), async (_instance, state) => {
    const names = state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name",
      )
      .toArray()
      .map((r) => r.name);
    const tables: Record<string, Row[]> = {};
    for (const name of names)
      tables[name] = state.storage.sql.exec<Row>(`SELECT * FROM "${name}" ORDER BY rowid`).toArray();
    return { tables, alarm: await state.storage.getAlarm() };
  });
}

/** Whether a room object holds any storage at all (a rejected request must never create one). */
export async function hasStorage(kind: RoomKind, roomID: string): Promise<boolean> {
  return Object.keys((await dumpRoom(kind, roomID)).tables).length > 0;
}

/** The listed rooms of a kind, straight from its directory (all of them, not one page). */
export function listed(kind: RoomKind) {
  return directoryStub(kind).list(0, 1000);
}

/** A room's observable state: the four read actions (as `viewer` sees them), its listing and its storage. */
export async function snapshot(viewer: Session, roomID: string) {
  const kind = viewer.kind;
  const live = kind === "live_room";
  const [pushers, audiences, custom, list, storage] = await Promise.all([
    viewer.do("get_pushers", { roomID }),
    live ? viewer.do("get_audiences", { roomID }) : null,
    live ? viewer.do("get_custom_info", { roomID }) : null,
    viewer.do("get_room_list", { index: 0, cnt: 100 }),
    dumpRoom(kind, roomID),
  ]);
  return { pushers, audiences, custom, list, storage };
}

/** The stored session of a user in a group (KV), as raw text. */
export const storedSession = (kind: RoomKind, user: string) => env.SESSIONS.get(`session:v1:${kind}:${user}`);

/** Makes every pusher of the room due (and an empty room idle), then runs its alarm until none is left. */
export async function drainRoom(kind: RoomKind, roomID: string, maxRuns = 5): Promise<void> {
  const stub = roomStub(kind, roomID);
  await runInDurableObject(stub, (_instance, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .toArray();
    if (!tables.some((t) => t.name === "room")) return;
    const past = Date.now() - 1;
    state.storage.sql.exec("UPDATE pushers SET deadline = ?", past);
    state.storage.sql.exec("UPDATE room SET empty_since = ? WHERE empty_since IS NOT NULL", past - 3_600_000);
    state.storage.sql.exec("UPDATE directory_sync SET retry_at = ? WHERE pending = 1", past);
  });
  for (let i = 0; i < maxRuns; i++) if (!(await runDurableObjectAlarm(stub))) break;
}

/** Moves a room's pending directory retry to now and runs the alarm once. */
export async function retryNow(kind: RoomKind, roomID: string): Promise<boolean> {
  const stub = roomStub(kind, roomID);
  await runInDurableObject(stub, (_instance, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .toArray();
    if (tables.some((t) => t.name === "directory_sync")) {
      state.storage.sql.exec("UPDATE directory_sync SET retry_at = ? WHERE pending = 1", Date.now() - 1);
    }
  });
  return runDurableObjectAlarm(stub);
}

/** The room view of get_pushers without the envelope: what the directory must list for it. */
export function viewOf(answer: Record<string, unknown>) {
  const { code: _code, message: _message, ...view } = answer;
  return view;
}

/** Asserts the directory and the room agree: listed iff it has pushers, with the same view. */
export async function expectDirectoryInStep(viewer: Session, roomID: string, what = ""): Promise<void> {
  const room = await viewer.do("get_pushers", { roomID });
  const entry = (await listed(viewer.kind)).find((r) => r.roomID === roomID);
  if (room.code === 0 && room.pushers.length > 0) {
    expect(entry, `${what}: ${roomID} must be listed`).toEqual(viewOf(room));
  } else {
    expect(entry, `${what}: ${roomID} must not be listed (${JSON.stringify(room).slice(0, 200)})`).toBeUndefined();
  }
}

/** Captures console output while `fn` runs. */
export async function captureLogs<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const record = (...args: unknown[]) => {
    lines.push(args.map((a) => (typeof a === "string" ? a : (JSON.stringify(a) ?? String(a)))).join(" "));
  };
  const originals = {
    log: console.log,
    info: console.info,
    warn: console.warn,
    error: console.error,
    debug: console.debug,
  };
  console.log = record;
  console.info = record;
  console.warn = record;
  console.error = record;
  console.debug = record;
  try {
    return { result: await fn(), lines };
  } finally {
    Object.assign(console, originals);
  }
}
