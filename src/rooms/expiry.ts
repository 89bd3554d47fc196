// Pure deadline logic of a room: which pushers an alarm evicts or keeps, and when the next alarm is due.
// No I/O and no clock: the Room object passes `now` and the stream states it fetched, so all of this is
// unit-tested without the runtime (test/rooms/expiry.test.ts).
import type { Config } from "../config";
import type { StreamState } from "../live/stream-status";

/**
 * With the stream status check on, no pusher outlives this many heartbeat timeouts after its last
 * heartbeat (or join) or its last confirmed-live status: an API that keeps failing never keeps a
 * pusher forever.
 */
export const MAX_SILENT_TIMEOUTS = 3;

/** How soon a pusher whose stream state was "unknown" is looked at again (capped by the heartbeat timeout). */
export const UNKNOWN_RETRY_MS = 5_000;

/** The clock fields of one pusher, as the alarm reads them. All times are ms since the epoch. */
export interface PusherClock {
  userID: string;
  stream: string;
  /** Last heartbeat or join. */
  lastSeen: number;
  /** Last time the cloud live API said the pusher's stream was live, if ever. */
  confirmedAt: number | null;
  /** When the pusher is evicted unless it heartbeats (or its stream is confirmed live) first. */
  deadline: number;
}

export type ExpiryDecision =
  | { userID: string; action: "evict"; reason: "timeout" | "stopped" | "silent-too-long" }
  | { userID: string; action: "extend"; deadline: number; confirmedAt: number | null };

/** Whether the alarm asks the cloud live API about a stream before evicting its pusher. */
export function streamCheckEnabled(config: Pick<Config, "STREAM_STATUS_CHECK" | "insecureSecrets">): boolean {
  // Without a real API key the call can only fail: do not delay evictions for it.
  return config.STREAM_STATUS_CHECK && !config.insecureSecrets.includes("LIVE_API_KEY");
}

export function isDue(p: Pick<PusherClock, "deadline">, now: number): boolean {
  return p.deadline <= now;
}

/** The latest moment a pusher may still be kept while the stream API answers "unknown". */
export function silentLimit(p: Pick<PusherClock, "lastSeen" | "confirmedAt">, heartbeatMs: number): number {
  return Math.max(p.lastSeen, p.confirmedAt ?? Number.NEGATIVE_INFINITY) + MAX_SILENT_TIMEOUTS * heartbeatMs;
}

/**
 * What to do with each pusher whose deadline has passed. `states` is null when the stream check is
 * off: then every due pusher is evicted. Otherwise:
 * - "live" keeps the pusher one more heartbeat timeout and records the confirmation;
 * - "stopped" evicts;
 * - "unknown" (or a stream the API did not report) looks again soon, but never past `silentLimit`.
 * Pushers that are not due get no decision.
 */
export function decideExpiry(
  pushers: readonly PusherClock[],
  states: ReadonlyMap<string, StreamState> | null,
  now: number,
  heartbeatMs: number,
): ExpiryDecision[] {
  const decisions: ExpiryDecision[] = [];
  for (const p of pushers) {
    if (!isDue(p, now)) continue;
    if (states === null) {
      decisions.push({ userID: p.userID, action: "evict", reason: "timeout" });
      continue;
    }
    const state = states.get(p.stream) ?? "unknown";
    if (state === "live") {
      decisions.push({ userID: p.userID, action: "extend", deadline: now + heartbeatMs, confirmedAt: now });
    } else if (state === "stopped") {
      decisions.push({ userID: p.userID, action: "evict", reason: "stopped" });
    } else {
      const limit = silentLimit(p, heartbeatMs);
      if (limit <= now) {
        decisions.push({ userID: p.userID, action: "evict", reason: "silent-too-long" });
      } else {
        const retryAt = Math.min(now + Math.min(UNKNOWN_RETRY_MS, heartbeatMs), limit);
        decisions.push({ userID: p.userID, action: "extend", deadline: retryAt, confirmedAt: p.confirmedAt });
      }
    }
  }
  return decisions;
}

/** When an empty room is reclaimed, or null while it has pushers (`emptySince` null). */
export function idleReclaimAt(emptySince: number | null, idleMs: number): number | null {
  return emptySince === null ? null : emptySince + idleMs;
}

/** The room's alarm: the earliest of its pending deadlines, or null when nothing is pending. */
export function nextAlarm(deadlines: ReadonlyArray<number | null | undefined>): number | null {
  let earliest: number | null = null;
  for (const d of deadlines) {
    if (typeof d === "number" && Number.isFinite(d) && (earliest === null || d < earliest)) earliest = d;
  }
  return earliest;
}
