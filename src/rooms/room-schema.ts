// SQLite layout of one Room object (one object per (kind, roomID)). Times are ms since the epoch.
// Append a migration to change it; never edit a released one (see migrate.ts).
import type { Migration } from "./migrate";

export const ROOM_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    statements: [
      // The room itself: at most one row. Absent = no room (never created, or destroyed).
      `CREATE TABLE room (
        singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
        kind        TEXT    NOT NULL,
        room_id     TEXT    NOT NULL,
        room_info   TEXT    NOT NULL,
        creator     TEXT    NOT NULL,
        created_at  INTEGER NOT NULL,
        empty_since INTEGER             -- set while the room has no pusher: idle reclaim at + ROOM_IDLE_TIMEOUT_S
      ) STRICT`,
      // One row per pusher; a heartbeat is one UPDATE of (last_seen, deadline) by primary key.
      `CREATE TABLE pushers (
        user_id        TEXT    PRIMARY KEY,
        user_name      TEXT    NOT NULL,
        user_avatar    TEXT    NOT NULL,
        stream         TEXT    NOT NULL,
        accelerate_url TEXT    NOT NULL,
        joined_at      INTEGER NOT NULL,  -- list order (then rowid)
        last_seen      INTEGER NOT NULL,  -- last heartbeat or join
        confirmed_at   INTEGER,           -- last time the live API said the stream was live
        deadline       INTEGER NOT NULL   -- evicted by the alarm once passed
      ) STRICT`,
      // The alarm reads MIN(deadline) and the due pushers through this index.
      "CREATE INDEX pushers_by_deadline ON pushers (deadline)",
      // live_room only.
      `CREATE TABLE audiences (
        user_id    TEXT    PRIMARY KEY,
        user_info  TEXT    NOT NULL,
        joined_at  INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT`,
      // live_room only; customInfo lists fields in creation (rowid) order.
      `CREATE TABLE custom_fields (
        name  TEXT    PRIMARY KEY,
        value INTEGER NOT NULL
      ) STRICT`,
      // The room's last directory change (at most one row, it survives the room's destruction until
      // the removal has landed). view/created_at NULL = "not listed". pending = 1 until the directory
      // acknowledged `version`; retry_at is then one of the alarm's deadlines.
      `CREATE TABLE directory_sync (
        singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
        kind       TEXT    NOT NULL,
        room_id    TEXT    NOT NULL,
        version    INTEGER NOT NULL,
        created_at INTEGER,
        view       TEXT,
        pending    INTEGER NOT NULL,
        attempts   INTEGER NOT NULL,
        retry_at   INTEGER
      ) STRICT`,
    ],
  },
];
