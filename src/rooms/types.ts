// Shapes shared by the router and the room/directory Durable Objects (typed RPC, plain data only).
export const ROOM_KINDS = ["live_room", "double_room", "multi_room"] as const;
export type RoomKind = (typeof ROOM_KINDS)[number];

/** Which room, addressed by kind and id: a Room object's name is `${kind}:${roomID}`. */
export interface RoomRef {
  kind: RoomKind;
  roomID: string;
}

/** What the router has already validated and signed for a pusher joining a room. */
export interface PusherInput {
  userID: string;
  userName: string;
  userAvatar: string;
  /** The stream name of the pusher's (verified) pushURL. */
  stream: string;
  /** Signed low-latency play URL of that stream. */
  accelerateURL: string;
}

export interface PusherView {
  userID: string;
  userName: string;
  userAvatar: string;
  accelerateURL: string;
}

export interface RoomView {
  roomID: string;
  roomInfo: string;
  roomCreator: string;
  mixedPlayURL: string;
  pushers: PusherView[];
  /** live_room only. */
  audienceCount?: number;
}

/** One row of a kind's directory: the listable summary of a room with at least one pusher. */
export interface DirectoryEntry {
  room: RoomView;
  /** Room creation time (ms since epoch): the list is ordered by (createdAt, roomID). */
  createdAt: number;
  /** Monotonic per room across its lifetimes: the directory ignores anything older than it holds. */
  version: number;
}

export interface AudienceView {
  userID: string;
  userInfo: string;
}

export type CustomOperation = "inc" | "dec" | "set";

export function roomObjectName(ref: RoomRef): string {
  return `${ref.kind}:${ref.roomID}`;
}
