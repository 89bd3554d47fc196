// Per-kind room policy: the only place where live_room, double_room and multi_room differ.
// Pure: derived from the config, so the route table and the Room object share one definition.
import type { Config } from "../config";
import type { RoomKind } from "./types";

export interface RoomPolicy {
  kind: RoomKind;
  /** Most pushers a room holds; the next add_pusher gets 5001. */
  maxPushers: number;
  /** Whether the creator leaving (delete_pusher or heartbeat expiry) destroys the room. */
  creatorLeaveDestroys: boolean;
  /** live_room only: audiences, custom fields, merge_stream. */
  hasLiveExtras: boolean;
  /** Whether a pusher's stream name carries the roomID (`{bizid}_{roomID}_{userID}`). */
  roomScopedStreams: boolean;
}

/** What a kind is, independent of configuration (the route table is built from this at load time). */
export const KIND_TRAITS: Record<RoomKind, Pick<RoomPolicy, "hasLiveExtras" | "roomScopedStreams">> = {
  live_room: { hasLiveExtras: true, roomScopedStreams: false },
  double_room: { hasLiveExtras: false, roomScopedStreams: true },
  multi_room: { hasLiveExtras: false, roomScopedStreams: true },
};

export function policyFor(kind: RoomKind, config: Config): RoomPolicy {
  const maxPushers = {
    live_room: config.MAX_PUSHERS_LIVE,
    double_room: config.MAX_PUSHERS_DOUBLE,
    multi_room: config.MAX_PUSHERS_MULTI,
  }[kind];
  // The live room is its creator's show: it always ends when the creator leaves.
  const creatorLeaveDestroys = kind === "live_room" || config.CREATOR_LEAVE_DESTROYS;
  return { kind, maxPushers, creatorLeaveDestroys, ...KIND_TRAITS[kind] };
}

/**
 * Stream names this kind accepts for a user in a room (contract section 4): live rooms use
 * `{bizid}_{userID}`; double/multi rooms `{bizid}_{roomID}_{userID}`, or `{bizid}_{userID}` when the
 * client asked for its push URL without naming a room.
 */
export function acceptedStreams(policy: RoomPolicy, bizid: string, userID: string, roomID: string): string[] {
  const plain = `${bizid}_${userID}`;
  return policy.roomScopedStreams ? [`${bizid}_${roomID}_${userID}`, plain] : [plain];
}

/** The stream a room's creator is expected to push: the source of the room's mixedPlayURL. */
export function defaultCreatorStream(policy: RoomPolicy, bizid: string, creator: string, roomID: string): string {
  return policy.roomScopedStreams ? `${bizid}_${roomID}_${creator}` : `${bizid}_${creator}`;
}
