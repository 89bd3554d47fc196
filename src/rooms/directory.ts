// The Directory Durable Object: one per room kind, the listable summary of that kind's rooms with at
// least one pusher (get_room_list). Rooms push their changes here (apply); nobody else writes.
//
// - Storage: table `rooms` keyed by roomID (directory-schema.ts), RoomView stored as JSON.
// - Order: an in-memory OrderedIndex of (createdAt, roomID), loaded once from the index at start-up and
//   maintained on apply, so list(index, cnt) is a slice plus cnt primary-key reads: O(cnt + log n),
//   whatever `index` is.
// - Versions: a change older than (or equal to) what is held for its roomID is ignored, so retries and
//   reordered calls are harmless; removals leave tombstones for TOMBSTONE_TTL_MS.
import { DurableObject } from "cloudflare:workers";
import { DIRECTORY_MIGRATIONS } from "./directory-schema";
import { migrate } from "./migrate";
import { OrderedIndex, type OrderKey } from "./ordered-index";
import type { DirectoryEntry, RoomView } from "./types";

export interface DirectoryChange {
  roomID: string;
  version: number;
  /** The room's listing, or null to remove it from the list. */
  entry: DirectoryEntry | null;
}

/** How long a removal is remembered (a stale upsert older than this is long settled). */
export const TOMBSTONE_TTL_MS = 24 * 60 * 60 * 1000;
/** Tombstones collected per apply: bounded work per call, amortised over the writes that create them. */
const TOMBSTONE_GC_BATCH = 64;
/** Hard ceiling of one page, whatever the caller asks (the router caps at ROOM_LIST_MAX_CNT). */
const MAX_PAGE = 1000;

const Q = {
  listedKeys: "SELECT created_at, room_id FROM rooms WHERE view IS NOT NULL",
  held: "SELECT version, created_at, view IS NOT NULL AS listed FROM rooms WHERE room_id = ?",
  upsert: `INSERT INTO rooms (room_id, version, created_at, view, removed_at) VALUES (?, ?, ?, ?, NULL)
           ON CONFLICT (room_id) DO UPDATE SET version = excluded.version, created_at = excluded.created_at,
             view = excluded.view, removed_at = NULL`,
  tombstone: `INSERT INTO rooms (room_id, version, created_at, view, removed_at) VALUES (?, ?, NULL, NULL, ?)
              ON CONFLICT (room_id) DO UPDATE SET version = excluded.version, created_at = NULL, view = NULL,
                removed_at = excluded.removed_at`,
  gcTombstones: `DELETE FROM rooms WHERE room_id IN (
                   SELECT room_id FROM rooms WHERE view IS NULL AND removed_at < ? ORDER BY removed_at LIMIT ?)`,
  view: "SELECT view FROM rooms WHERE room_id = ? AND view IS NOT NULL",
} as const;

type HeldRow = { version: number; created_at: number | null; listed: number };

export class Directory extends DurableObject<Env> {
  private order = new OrderedIndex();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage, DIRECTORY_MIGRATIONS);
      const keys: OrderKey[] = [];
      for (const row of ctx.storage.sql.exec<{ created_at: number; room_id: string }>(Q.listedKeys)) {
        keys.push({ createdAt: row.created_at, roomID: row.room_id });
      }
      this.order = new OrderedIndex(keys);
    });
  }

  /** Upserts or removes rooms; idempotent, and ignores any change not newer than what is held. */
  async apply(changes: DirectoryChange[]): Promise<void> {
    if (!Array.isArray(changes)) return;
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    // The in-memory order follows only a committed transaction.
    const orderOps: Array<{ op: "insert" | "remove"; key: OrderKey }> = [];
    this.ctx.storage.transactionSync(() => {
      for (const change of changes) {
        if (!isChange(change)) continue;
        const held = sql.exec<HeldRow>(Q.held, change.roomID).toArray()[0];
        if (held && held.version >= change.version) continue;
        const wasListed = held !== undefined && held.listed === 1 && held.created_at !== null;
        const oldKey = wasListed ? { createdAt: held.created_at as number, roomID: change.roomID } : null;
        if (change.entry) {
          const key = { createdAt: change.entry.createdAt, roomID: change.roomID };
          sql.exec(Q.upsert, change.roomID, change.version, key.createdAt, JSON.stringify(change.entry.room));
          if (oldKey && oldKey.createdAt !== key.createdAt) orderOps.push({ op: "remove", key: oldKey });
          orderOps.push({ op: "insert", key });
        } else {
          sql.exec(Q.tombstone, change.roomID, change.version, now);
          if (oldKey) orderOps.push({ op: "remove", key: oldKey });
        }
      }
      sql.exec(Q.gcTombstones, now - TOMBSTONE_TTL_MS, TOMBSTONE_GC_BATCH);
    });
    for (const { op, key } of orderOps) {
      if (op === "insert") this.order.insert(key);
      else this.order.remove(key);
    }
  }

  /** Rooms in (createdAt, roomID) order: skip `index`, at most `cnt`; cnt <= 0 gives []. O(cnt). */
  async list(index: number, cnt: number): Promise<RoomView[]> {
    const keys = this.order.page(Number(index), Math.min(Number(cnt), MAX_PAGE));
    const rooms: RoomView[] = [];
    for (const key of keys) {
      const row = this.ctx.storage.sql.exec<{ view: string }>(Q.view, key.roomID).toArray()[0];
      if (row) rooms.push(JSON.parse(row.view) as RoomView);
    }
    return rooms;
  }

  /** Number of listed rooms. */
  async size(): Promise<number> {
    return this.order.size;
  }
}

function isChange(c: unknown): c is DirectoryChange {
  if (typeof c !== "object" || c === null) return false;
  const { roomID, version, entry } = c as Partial<DirectoryChange>;
  if (typeof roomID !== "string" || roomID === "" || typeof version !== "number" || !Number.isFinite(version)) {
    return false;
  }
  if (entry === null) return true;
  return (
    typeof entry === "object" &&
    entry !== undefined &&
    typeof entry.createdAt === "number" &&
    Number.isFinite(entry.createdAt) &&
    typeof entry.room === "object" &&
    entry.room !== null
  );
}
