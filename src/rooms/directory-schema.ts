// SQLite layout of one Directory object (one object per room kind). Append migrations; never edit one.
import type { Migration } from "./migrate";

export const DIRECTORY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    statements: [
      // One row per roomID the directory has heard of. A listed room has its RoomView (JSON, written on
      // membership changes only) and created_at; a removed room is a tombstone (view NULL, removed_at
      // set) that keeps its version so a late, older upsert cannot bring it back. Tombstones are
      // garbage-collected after TOMBSTONE_TTL_MS.
      `CREATE TABLE rooms (
        room_id    TEXT    PRIMARY KEY,
        version    INTEGER NOT NULL,
        created_at INTEGER,
        view       TEXT,
        removed_at INTEGER
      ) STRICT`,
      // The list order; read once at start-up into the in-memory OrderedIndex.
      "CREATE INDEX rooms_by_order ON rooms (created_at, room_id) WHERE view IS NOT NULL",
      "CREATE INDEX tombstones_by_age ON rooms (removed_at) WHERE view IS NULL",
    ],
  },
];
