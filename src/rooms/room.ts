// The Room Durable Object: one per (kind, roomID), named `${kind}:${roomID}` (roomObjectName). It is the
// only writer of its room: pushers and their heartbeat deadlines, audiences and custom fields (live_room),
// and the room's entry in its kind's Directory.
//
// Storage (room-schema.ts): SQLite tables room / pushers / audiences / custom_fields / directory_sync,
// created lazily on the first write (a read of a room that never existed leaves no storage behind).
//
// Alarm rules: the alarm is always the earliest pending deadline: a pusher's deadline (last heartbeat or
// join + HEARTBEAT_TIMEOUT_S), the idle reclaim of an empty room (empty_since + ROOM_IDLE_TIMEOUT_S), or
// the retry of a directory change not yet acknowledged. It moves only when that earliest deadline
// changes. The handler is idempotent (alarms are at-least-once), evicts like delete_pusher, destroys
// idle rooms, and deletes all storage once a room is gone and its directory removal has landed.
//
// Directory sync: every membership change (pusher added/removed/refreshed with new info, audience count,
// room destroyed) writes the room's new listing with a new version into directory_sync in the same
// transaction, then sends it. A failed send stays pending and the alarm retries it with backoff until it
// lands. Heartbeats never touch the directory.
//
// Concurrency: every read-check-write runs inside one ctx.storage.transactionSync (no await inside), so
// input gates make each RPC's decision atomic: concurrent add_pusher calls admit exactly the capacity.
import { DurableObject } from "cloudflare:workers";
import { type Config, configFor } from "../config";
import { type StreamState, streamStates } from "../live/stream-status";
import { playUrls, signerFromConfig } from "../live/urls";
import { Code, type Failure, fail, type Outcome, ok } from "../protocol/codes";
import type { DirectoryChange } from "./directory";
import { nextVersion, retryDelayMs, SYNC_FIRST_RETRY_MS } from "./directory-sync";
import { decideExpiry, idleReclaimAt, nextAlarm, type PusherClock, streamCheckEnabled } from "./expiry";
import { hasSchema, migrate } from "./migrate";
import { defaultCreatorStream, policyFor, type RoomPolicy } from "./policy";
import { ROOM_MIGRATIONS } from "./room-schema";
import {
  type AudienceView,
  type CustomOperation,
  type PusherInput,
  type PusherView,
  ROOM_KINDS,
  type RoomKind,
  type RoomRef,
  type RoomView,
  roomObjectName,
} from "./types";

/** Custom fields of a live room: at most this many names... */
export const MAX_CUSTOM_FIELDS = 32;
/** ...each at most this many UTF-8 bytes. */
export const MAX_FIELD_NAME_BYTES = 64;
/** How long an RPC method waits for its directory change to land before answering anyway (the alarm retries). */
export const SYNC_WAIT_MS = 2_000;
/** A directory call unanswered by then counts as failed (if it lands later, versions make that harmless). */
export const DIRECTORY_CALL_TIMEOUT_MS = 10_000;
/** Detail of the failure answered to a call that reached the wrong object (a router bug; logged). */
const MISROUTED = "请求路由错误";

// Constant SQL text: workerd caches the prepared statement of each distinct query string (per object),
// so every statement below is compiled once and reused.
const Q = {
  room: "SELECT kind, room_id, room_info, creator, created_at, empty_since FROM room WHERE singleton = 1",
  insertRoom:
    "INSERT INTO room (singleton, kind, room_id, room_info, creator, created_at, empty_since) VALUES (1, ?, ?, ?, ?, ?, ?)",
  clearEmptySince: "UPDATE room SET empty_since = NULL WHERE singleton = 1",
  deleteRoom: "DELETE FROM room",

  isPusher: "SELECT 1 AS hit FROM pushers WHERE user_id = ?",
  pusherCount: "SELECT COUNT(*) AS n FROM pushers",
  pushers: "SELECT user_id, user_name, user_avatar, stream, accelerate_url FROM pushers ORDER BY joined_at, rowid",
  insertPusher: `INSERT INTO pushers (user_id, user_name, user_avatar, stream, accelerate_url, joined_at, last_seen, confirmed_at, deadline)
                 VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
  refreshPusher: `UPDATE pushers SET user_name = ?, user_avatar = ?, stream = ?, accelerate_url = ?, last_seen = ?, deadline = ?
                  WHERE user_id = ?`,
  heartbeat: "UPDATE pushers SET last_seen = ?, deadline = ? WHERE user_id = ? RETURNING user_id",
  duePushers:
    "SELECT user_id, stream, last_seen, confirmed_at, deadline FROM pushers WHERE deadline <= ? ORDER BY deadline, rowid",
  extendPusher: "UPDATE pushers SET deadline = ?, confirmed_at = ? WHERE user_id = ?",
  deletePusher: "DELETE FROM pushers WHERE user_id = ?",
  deletePushers: "DELETE FROM pushers",

  isAudience: "SELECT 1 AS hit FROM audiences WHERE user_id = ?",
  audienceCount: "SELECT COUNT(*) AS n FROM audiences",
  audiences: "SELECT user_id, user_info FROM audiences ORDER BY joined_at, rowid",
  insertAudience: "INSERT INTO audiences (user_id, user_info, joined_at, updated_at) VALUES (?, ?, ?, ?)",
  refreshAudience: "UPDATE audiences SET user_info = ?, updated_at = ? WHERE user_id = ?",
  deleteAudience: "DELETE FROM audiences WHERE user_id = ? RETURNING user_id",
  deleteAudiences: "DELETE FROM audiences",

  customField: "SELECT value FROM custom_fields WHERE name = ?",
  customFieldCount: "SELECT COUNT(*) AS n FROM custom_fields",
  customFields: "SELECT name, value FROM custom_fields ORDER BY rowid",
  upsertCustomField:
    "INSERT INTO custom_fields (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
  deleteCustomFields: "DELETE FROM custom_fields",

  sync: "SELECT kind, room_id, version, created_at, view, pending, attempts, retry_at FROM directory_sync WHERE singleton = 1",
  writeSync: `INSERT INTO directory_sync (singleton, kind, room_id, version, created_at, view, pending, attempts, retry_at)
              VALUES (1, ?, ?, ?, ?, ?, 1, 0, ?)
              ON CONFLICT (singleton) DO UPDATE SET kind = excluded.kind, room_id = excluded.room_id,
                version = excluded.version, created_at = excluded.created_at, view = excluded.view,
                pending = 1, attempts = 0, retry_at = excluded.retry_at`,
  syncAttempt:
    "UPDATE directory_sync SET attempts = ?, retry_at = ? WHERE singleton = 1 AND version = ? AND pending = 1",
  syncAcked:
    "UPDATE directory_sync SET pending = 0, attempts = 0, retry_at = NULL WHERE singleton = 1 AND version = ? AND pending = 1",

  // Everything the alarm time depends on, in one statement (MIN(deadline) reads the deadline index).
  deadlines: `SELECT (SELECT MIN(deadline) FROM pushers) AS pusher_deadline,
                     (SELECT empty_since FROM room WHERE singleton = 1) AS empty_since,
                     (SELECT retry_at FROM directory_sync WHERE singleton = 1 AND pending = 1) AS retry_at`,
} as const;

type RoomRow = {
  kind: string;
  room_id: string;
  room_info: string;
  creator: string;
  created_at: number;
  empty_since: number | null;
};
type PusherRow = { user_id: string; user_name: string; user_avatar: string; stream: string; accelerate_url: string };
type DueRow = { user_id: string; stream: string; last_seen: number; confirmed_at: number | null; deadline: number };
type SyncRow = {
  kind: string;
  room_id: string;
  version: number;
  created_at: number | null;
  view: string | null;
  pending: number;
  attempts: number;
  retry_at: number | null;
};
type DeadlineRow = { pusher_deadline: number | null; empty_since: number | null; retry_at: number | null };
type CountRow = { n: number };

interface Settings {
  config: Config;
  policy: RoomPolicy;
}

export class Room extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Schema checked (and migrated) by this instance; false again once storage is reclaimed. */
  private schemaReady = false;
  /** The alarm as this instance last set it; undefined until read from storage. */
  private armedAt: number | null | undefined = undefined;
  /** Last directory version this instance issued: keeps versions monotonic across a storage reclaim. */
  private issuedVersion = 0;
  /** Directory sends run one at a time; each sends the newest pending change, if any is left. */
  private syncQueue: Promise<void> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
  }

  // ---------------------------------------------------------------- RPC: every kind

  async createRoom(ref: RoomRef, creator: string, roomInfo: string): Promise<Outcome<{ roomID: string }>> {
    if (!this.check(ref)) return fail(Code.NO_ROOM, MISROUTED);
    const now = Date.now();
    const result = this.write((): Outcome<{ roomID: string }> => {
      if (this.storedRoom()) return failWith(Code.ROOM_INFO, "房间已存在");
      this.insertRoom(ref, creator, roomInfo, now);
      return ok({ roomID: ref.roomID });
    });
    await this.afterWrite();
    return result;
  }

  async addPusher(ref: RoomRef, pusher: PusherInput, roomInfo?: string): Promise<Outcome> {
    const s = this.check(ref);
    if (!s) return fail(Code.NO_ROOM, MISROUTED);
    const now = Date.now();
    const deadline = now + s.config.HEARTBEAT_TIMEOUT_S * 1000;
    const result = this.write((): Outcome => {
      const room = this.storedRoom() ?? this.insertRoom(ref, pusher.userID, roomInfo ?? "", now);
      if (this.has(Q.isPusher, pusher.userID)) {
        // Re-adding refreshes the pusher's info and counts as a heartbeat; its place in the list stays.
        this.sql.exec(
          Q.refreshPusher,
          pusher.userName,
          pusher.userAvatar,
          pusher.stream,
          pusher.accelerateURL,
          now,
          deadline,
          pusher.userID,
        );
      } else {
        if (this.count(Q.pusherCount) >= s.policy.maxPushers) return fail(Code.FULL);
        this.sql.exec(
          Q.insertPusher,
          pusher.userID,
          pusher.userName,
          pusher.userAvatar,
          pusher.stream,
          pusher.accelerateURL,
          now,
          now,
          deadline,
        );
      }
      if (room.empty_since !== null) this.sql.exec(Q.clearEmptySince);
      this.recordListing(ref, room, s, now);
      return ok({});
    });
    await this.afterWrite();
    return result;
  }

  deletePusher(ref: RoomRef, userID: string): Promise<Outcome> {
    return this.changeRoom(ref, false, (room, s, now) => {
      if (!this.has(Q.isPusher, userID)) return fail(Code.NOT_PUSHER);
      this.removePusher(ref, room, userID, s, now);
      return ok({});
    });
  }

  async heartbeat(ref: RoomRef, userID: string): Promise<Outcome> {
    const s = this.check(ref);
    if (!s) return fail(Code.NO_ROOM, MISROUTED);
    if (!this.open(false)) return fail(Code.NO_ROOM);
    const now = Date.now();
    // One indexed UPDATE by primary key; the room row is read only to tell "no room" from "not a pusher".
    const hit = this.sql.exec(Q.heartbeat, now, now + s.config.HEARTBEAT_TIMEOUT_S * 1000, userID).toArray();
    if (hit.length === 0) return fail(this.storedRoom() ? Code.NOT_PUSHER : Code.NO_ROOM);
    // The alarm moves only if this pusher held the earliest deadline (rearm compares before writing).
    await this.rearm();
    return ok({});
  }

  destroyRoom(ref: RoomRef, userID: string): Promise<Outcome> {
    return this.changeRoom(ref, false, (room, s, now) => {
      if (room.creator !== userID) return fail(Code.NO_ROOM, "不是房间创建者");
      this.destroy(ref, s, now);
      return ok({});
    });
  }

  async getPushers(ref: RoomRef): Promise<Outcome<RoomView>> {
    const s = this.check(ref);
    if (!s) return fail(Code.PUSHERS_NO_ROOM, MISROUTED);
    const room = this.open(false) ? this.storedRoom() : null;
    if (!room) return fail(Code.PUSHERS_NO_ROOM);
    return ok(this.buildView(room, s));
  }

  async requireCreator(ref: RoomRef, userID: string): Promise<Outcome> {
    if (!this.check(ref)) return fail(Code.NO_ROOM, MISROUTED);
    const room = this.open(false) ? this.storedRoom() : null;
    if (!room) return fail(Code.NO_ROOM);
    if (room.creator !== userID) return fail(Code.NO_ROOM, "不是房间创建者");
    return ok({});
  }

  // ---------------------------------------------------------------- RPC: live_room only

  addAudience(ref: RoomRef, userID: string, userInfo: string): Promise<Outcome> {
    return this.changeRoom(ref, true, (room, s, now) => {
      if (this.has(Q.isAudience, userID)) {
        // A refresh is always allowed, even when the list is full.
        this.sql.exec(Q.refreshAudience, userInfo, now, userID);
        return ok({});
      }
      if (this.count(Q.audienceCount) >= s.config.MAX_AUDIENCES) return fail(Code.FULL, "观众列表已满");
      this.sql.exec(Q.insertAudience, userID, userInfo, now, now);
      this.recordListing(ref, room, s, now);
      return ok({});
    });
  }

  deleteAudience(ref: RoomRef, userID: string): Promise<Outcome> {
    return this.changeRoom(ref, true, (room, s, now) => {
      // Idempotent: removing someone who is not an audience is a success.
      if (this.sql.exec(Q.deleteAudience, userID).toArray().length > 0) this.recordListing(ref, room, s, now);
      return ok({});
    });
  }

  async getAudiences(ref: RoomRef): Promise<Outcome<{ audiences: AudienceView[] }>> {
    if (!this.check(ref, true)) return fail(Code.NO_ROOM, MISROUTED);
    const room = this.open(false) ? this.storedRoom() : null;
    if (!room) return fail(Code.NO_ROOM);
    const audiences = this.sql
      .exec<{ user_id: string; user_info: string }>(Q.audiences)
      .toArray()
      .map((a) => ({ userID: a.user_id, userInfo: a.user_info }));
    return ok({ audiences });
  }

  async setCustomField(
    ref: RoomRef,
    fieldName: string,
    operation: CustomOperation,
    value: number | undefined,
  ): Promise<Outcome<{ customInfo: string }>> {
    if (!this.check(ref, true)) return fail(Code.NO_ROOM, MISROUTED);
    // The router validates these; checked again because the bounds are this object's to keep.
    if (typeof fieldName !== "string" || fieldName === "" || utf8Length(fieldName) > MAX_FIELD_NAME_BYTES) {
      return fail(Code.BAD_PARAM, "fieldName");
    }
    if (operation !== "inc" && operation !== "dec" && operation !== "set") return fail(Code.BAD_PARAM, "operation");
    if (value === undefined ? operation === "set" : !Number.isSafeInteger(value)) return fail(Code.BAD_PARAM, "value");
    if (!this.open(false)) return fail(Code.NO_ROOM);
    return this.write((): Outcome<{ customInfo: string }> => {
      if (!this.storedRoom()) return fail(Code.NO_ROOM);
      const current = this.sql.exec<{ value: number }>(Q.customField, fieldName).toArray()[0]?.value;
      if (current === undefined && this.count(Q.customFieldCount) >= MAX_CUSTOM_FIELDS) {
        return fail(Code.BAD_PARAM, `fieldName: 最多 ${MAX_CUSTOM_FIELDS} 个自定义字段`);
      }
      const by = value ?? 1;
      const base = current ?? 0;
      let next = operation === "set" ? by : operation === "inc" ? base + by : Math.max(0, base - by);
      next = Math.min(Math.max(next, Number.MIN_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
      this.sql.exec(Q.upsertCustomField, fieldName, next);
      return ok({ customInfo: this.customInfo() });
    });
  }

  async getCustomInfo(ref: RoomRef): Promise<Outcome<{ customInfo: string }>> {
    if (!this.check(ref, true)) return fail(Code.NO_ROOM, MISROUTED);
    const room = this.open(false) ? this.storedRoom() : null;
    if (!room) return fail(Code.NO_ROOM);
    return ok({ customInfo: this.customInfo() });
  }

  // ---------------------------------------------------------------- alarm

  override async alarm(): Promise<void> {
    // The alarm that woke us is consumed; whatever is left is re-armed at the end.
    this.armedAt = null;
    if (!this.open(false)) return;
    const now = Date.now();
    await this.expirePushers(now);
    this.reclaimIfIdle(now);
    const sync = this.readSync();
    if (sync?.pending === 1 && (sync.attempts === 0 || (sync.retry_at ?? 0) <= now)) {
      await this.syncDirectory(Number.POSITIVE_INFINITY);
    }
    await this.finalize();
  }

  // ---------------------------------------------------------------- test seams (overridable, spied on in tests)

  /** The configuration; tests replace it with vi.spyOn(instance, "loadConfig"). */
  protected loadConfig(): Config {
    return configFor(this.env);
  }

  /** Stream states from the cloud live API (never throws). */
  protected streamStatus(config: Config, streams: string[]): Promise<Map<string, StreamState>> {
    return streamStates(config, streams);
  }

  /** Sends changes to this kind's Directory; tests make it fail with vi.spyOn(instance, "pushToDirectory"). */
  protected async pushToDirectory(kind: RoomKind, changes: DirectoryChange[]): Promise<void> {
    const call = Promise.resolve(this.env.DIRECTORY.getByName(kind).apply(changes));
    await withTimeout(call, DIRECTORY_CALL_TIMEOUT_MS, "directory call timed out");
  }

  // ---------------------------------------------------------------- storage helpers

  /**
   * One change to an existing room: the routing check, then `change` inside a transaction with the
   * room row (code 3 when there is none), then the alarm and directory follow-up.
   */
  private async changeRoom(
    ref: RoomRef,
    liveOnly: boolean,
    change: (room: RoomRow, s: Settings, now: number) => Outcome,
  ): Promise<Outcome> {
    const s = this.check(ref, liveOnly);
    if (!s) return fail(Code.NO_ROOM, MISROUTED);
    if (!this.open(false)) return fail(Code.NO_ROOM);
    const now = Date.now();
    const result = this.write((): Outcome => {
      const room = this.storedRoom();
      return room ? change(room, s, now) : fail(Code.NO_ROOM);
    });
    await this.afterWrite();
    return result;
  }

  /**
   * The kind's settings, or null (logged) when the call was routed to the wrong object: this object is
   * `${kind}:${roomID}` and serves that room only. The caller answers "no room" and touches nothing.
   */
  private check(ref: RoomRef, liveOnly = false): Settings | null {
    const valid =
      typeof ref === "object" &&
      ref !== null &&
      (ROOM_KINDS as readonly string[]).includes(ref.kind) &&
      typeof ref.roomID === "string" &&
      ref.roomID !== "";
    const target = valid ? roomObjectName(ref) : "(invalid reference)";
    // The object's own name when the runtime provides it; else the stored room (if any).
    let self = this.ctx.id.name;
    if (self === undefined && valid && this.open(false)) {
      const room = this.storedRoom();
      if (room) self = `${room.kind}:${room.room_id}`;
    }
    if (!valid || (self !== undefined && self !== target)) {
      log("error", "misrouted call", { target, object: self ?? this.ctx.id.toString() });
      return null;
    }
    const config = this.loadConfig();
    const policy = policyFor(ref.kind, config);
    if (liveOnly && !policy.hasLiveExtras) {
      log("error", "live_room call on another kind", { target });
      return null;
    }
    return { config, policy };
  }

  /** Whether the schema exists (creating/migrating it when `create`). Reads never create storage. */
  private open(create: boolean): boolean {
    if (this.schemaReady) return true;
    if (!create && !hasSchema(this.sql)) return false;
    migrate(this.ctx.storage, ROOM_MIGRATIONS);
    this.schemaReady = true;
    return true;
  }

  /** Runs `fn` as one synchronous transaction over a ready schema: it commits, or rolls back on a throw. */
  private write<T>(fn: () => T): T {
    return this.ctx.storage.transactionSync(() => {
      this.open(true);
      return fn();
    });
  }

  private storedRoom(): RoomRow | null {
    return this.sql.exec<RoomRow>(Q.room).toArray()[0] ?? null;
  }

  private insertRoom(ref: RoomRef, creator: string, roomInfo: string, now: number): RoomRow {
    this.sql.exec(Q.insertRoom, ref.kind, ref.roomID, roomInfo, creator, now, now);
    return { kind: ref.kind, room_id: ref.roomID, room_info: roomInfo, creator, created_at: now, empty_since: now };
  }

  private readSync(): SyncRow | null {
    return this.sql.exec<SyncRow>(Q.sync).toArray()[0] ?? null;
  }

  private has(query: string, key: string): boolean {
    return this.sql.exec(query, key).toArray().length > 0;
  }

  private count(query: string): number {
    return this.sql.exec<CountRow>(query).one().n;
  }

  private customInfo(): string {
    // Null prototype: a field named "__proto__" is a plain key, not a prototype change.
    const fields: Record<string, number> = Object.create(null);
    for (const row of this.sql.exec<{ name: string; value: number }>(Q.customFields)) fields[row.name] = row.value;
    return JSON.stringify(fields);
  }

  private buildView(room: RoomRow, s: Settings): RoomView {
    const pushers = this.sql.exec<PusherRow>(Q.pushers).toArray();
    const creatorStream =
      pushers.find((p) => p.user_id === room.creator)?.stream ??
      defaultCreatorStream(s.policy, s.config.LIVE_BIZID, room.creator, room.room_id);
    const view: RoomView = {
      roomID: room.room_id,
      roomInfo: room.room_info,
      roomCreator: room.creator,
      mixedPlayURL: mixedPlayUrl(s.config, creatorStream),
      pushers: pushers.map(
        (p): PusherView => ({
          userID: p.user_id,
          userName: p.user_name,
          userAvatar: p.user_avatar,
          accelerateURL: p.accelerate_url,
        }),
      ),
    };
    if (s.policy.hasLiveExtras) view.audienceCount = this.count(Q.audienceCount);
    return view;
  }

  // ---------------------------------------------------------------- membership consequences (inside a transaction)

  /** Removes a pusher with delete_pusher's consequences. Returns whether the room was destroyed. */
  private removePusher(ref: RoomRef, room: RoomRow, userID: string, s: Settings, now: number): boolean {
    this.sql.exec(Q.deletePusher, userID);
    if (this.count(Q.pusherCount) === 0 || (userID === room.creator && s.policy.creatorLeaveDestroys)) {
      this.destroy(ref, s, now);
      return true;
    }
    this.recordListing(ref, room, s, now);
    return false;
  }

  /** Deletes the room and everything in it; its directory removal stays pending until it lands. */
  private destroy(ref: RoomRef, s: Settings, now: number): void {
    this.sql.exec(Q.deletePushers);
    this.sql.exec(Q.deleteAudiences);
    this.sql.exec(Q.deleteCustomFields);
    this.sql.exec(Q.deleteRoom);
    this.recordListing(ref, null, s, now);
  }

  /**
   * Records the room's listing as a pending directory change when it differs from the last one issued:
   * the RoomView while the room has pushers, else "not listed". A new version each time.
   */
  private recordListing(ref: RoomRef, room: RoomRow | null, s: Settings, now: number): void {
    const view = room ? this.buildView(room, s) : null;
    const listed = room !== null && view !== null && view.pushers.length > 0;
    const wantView = listed ? JSON.stringify(view) : null;
    const wantCreatedAt = listed ? room.created_at : null;
    const last = this.readSync();
    const unchanged = last ? last.view === wantView && last.created_at === wantCreatedAt : wantView === null;
    if (unchanged) return;
    const version = nextVersion(last?.version ?? 0, this.issuedVersion, now);
    this.issuedVersion = version;
    this.sql.exec(Q.writeSync, ref.kind, ref.roomID, version, wantCreatedAt, wantView, now + SYNC_FIRST_RETRY_MS);
  }

  // ---------------------------------------------------------------- after a write: alarm, directory, reclaim

  private async afterWrite(): Promise<void> {
    if (!this.schemaReady) return;
    if (this.readSync()?.pending === 1) {
      // Arm first (the retry is a deadline), so a crash before the send completes still retries.
      await this.rearm();
      await this.syncDirectory(SYNC_WAIT_MS);
    } else {
      await this.finalize();
    }
  }

  /**
   * Sends the pending directory change (queued behind any send in flight) and waits at most `waitMs`.
   * A send that outlives the wait completes in the background; a failed one stays pending for the alarm.
   */
  private syncDirectory(waitMs: number): Promise<void> {
    const run = this.syncQueue.then(() => this.sendPending());
    this.syncQueue = run.catch((err: unknown) => log("error", "directory sync crashed", { error: String(err) }));
    this.ctx.waitUntil(this.syncQueue);
    return Number.isFinite(waitMs) ? waitUpTo(this.syncQueue, waitMs) : this.syncQueue;
  }

  private async sendPending(): Promise<void> {
    if (!this.open(false)) return;
    const sync = this.readSync();
    if (sync?.pending !== 1) return;
    // Reserve the next retry before sending: if this send hangs or fails, the alarm tries again then.
    const attempts = sync.attempts + 1;
    this.sql.exec(Q.syncAttempt, attempts, Date.now() + retryDelayMs(attempts, Math.random()), sync.version);
    const change: DirectoryChange = {
      roomID: sync.room_id,
      version: sync.version,
      entry:
        sync.view === null || sync.created_at === null
          ? null
          : { room: JSON.parse(sync.view) as RoomView, createdAt: sync.created_at, version: sync.version },
    };
    try {
      await this.pushToDirectory(sync.kind as RoomKind, [change]);
      // Acknowledged unless a newer change was written meanwhile (that one is sent next).
      if (this.open(false)) this.sql.exec(Q.syncAcked, sync.version);
    } catch (err) {
      log("warn", "directory sync failed, will retry", {
        room: `${sync.kind}:${sync.room_id}`,
        version: sync.version,
        attempts,
        error: err instanceof Error ? err.message : String(err),
      });
    }
    await this.finalize();
  }

  /** Deletes all storage once the room is gone and nothing is pending; else re-arms the alarm. */
  private async finalize(): Promise<void> {
    if (!this.open(false)) return;
    if (this.storedRoom() === null && this.readSync()?.pending !== 1) {
      this.schemaReady = false;
      this.armedAt = null;
      // Issued together, with no await between the check and the deletes (input gates hold other events).
      await Promise.all([this.ctx.storage.deleteAlarm(), this.ctx.storage.deleteAll()]);
      return;
    }
    await this.rearm();
  }

  /** Sets the alarm to the earliest pending deadline, touching storage only when that changed. */
  private async rearm(): Promise<void> {
    if (this.armedAt === undefined) this.armedAt = await this.ctx.storage.getAlarm();
    const next = this.open(false) ? this.earliestDeadline() : null;
    if (next === this.armedAt) return;
    this.armedAt = next;
    if (next === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(next);
  }

  private earliestDeadline(): number | null {
    const d = this.sql.exec<DeadlineRow>(Q.deadlines).one();
    const idleMs = this.loadConfig().ROOM_IDLE_TIMEOUT_S * 1000;
    return nextAlarm([d.pusher_deadline, idleReclaimAt(d.empty_since, idleMs), d.retry_at]);
  }

  // ---------------------------------------------------------------- alarm work

  /** Evicts (or, with the stream check, keeps) every pusher whose deadline is `now` or earlier. */
  private async expirePushers(now: number): Promise<void> {
    const due = this.sql.exec<DueRow>(Q.duePushers, now).toArray();
    if (due.length === 0) return;
    const config = this.loadConfig();
    let states: Map<string, StreamState> | null = null;
    if (streamCheckEnabled(config)) {
      try {
        states = await this.streamStatus(config, [...new Set(due.map((p) => p.stream))]);
      } catch {
        states = new Map(); // "unknown" for all: bounded by the silent limit
      }
    }
    const at = Date.now();
    const evicted: string[] = [];
    let roomName = "";
    this.write(() => {
      const room = this.storedRoom();
      if (!room) {
        this.sql.exec(Q.deletePushers); // cannot happen (destroy deletes both); never loop on it
        return;
      }
      const ref: RoomRef = { kind: room.kind as RoomKind, roomID: room.room_id };
      roomName = roomObjectName(ref);
      const s: Settings = { config, policy: policyFor(ref.kind, config) };
      // Re-read: a heartbeat while the stream API was asked moved its pusher's deadline past `now`.
      const fresh = this.sql.exec<DueRow>(Q.duePushers, now).toArray().map(toClock);
      for (const d of decideExpiry(fresh, states, Math.max(at, now), config.HEARTBEAT_TIMEOUT_S * 1000)) {
        if (d.action === "extend") {
          this.sql.exec(Q.extendPusher, d.deadline, d.confirmedAt, d.userID);
          continue;
        }
        evicted.push(d.userID);
        if (this.removePusher(ref, room, d.userID, s, at)) break; // the room went with it
      }
    });
    if (evicted.length > 0) log("info", "pushers evicted", { room: roomName, count: evicted.length });
  }

  /** Destroys a room that has had no pusher for ROOM_IDLE_TIMEOUT_S. */
  private reclaimIfIdle(now: number): void {
    const room = this.storedRoom();
    if (!room || room.empty_since === null) return;
    const config = this.loadConfig();
    const due = idleReclaimAt(room.empty_since, config.ROOM_IDLE_TIMEOUT_S * 1000);
    if (this.count(Q.pusherCount) > 0) {
      this.sql.exec(Q.clearEmptySince); // cannot happen (joining clears it); never loop on it
      return;
    }
    if (due === null || due > now) return;
    const ref: RoomRef = { kind: room.kind as RoomKind, roomID: room.room_id };
    this.write(() => this.destroy(ref, { config, policy: policyFor(ref.kind, config) }, now));
  }
}

// ---------------------------------------------------------------- small helpers

function toClock(row: DueRow): PusherClock {
  return {
    userID: row.user_id,
    stream: row.stream,
    lastSeen: row.last_seen,
    confirmedAt: row.confirmed_at,
    deadline: row.deadline,
  };
}

function failWith(code: Failure["code"], message: string): Failure {
  return { code, message };
}

function mixedPlayUrl(config: Config, stream: string): string {
  try {
    return playUrls(signerFromConfig(config), stream).flv;
  } catch {
    return ""; // a stream name the URL builder refuses: no mixed URL rather than a broken room
  }
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function waitUpTo(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([promise, elapsed]).finally(() => clearTimeout(timer));
}

function log(level: "info" | "warn" | "error", event: string, fields: Record<string, unknown>): void {
  const line = JSON.stringify({ level, component: "room", event, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
