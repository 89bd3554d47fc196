// Pure rules of the room -> directory sync: versions and retry delays (see room.ts for the protocol).

/** First retry of a pending directory change, counted from when the change was written. */
export const SYNC_FIRST_RETRY_MS = 5_000;
/** Retries back off exponentially up to this delay, then keep trying at this pace until they land. */
export const SYNC_MAX_RETRY_MS = 5 * 60_000;

/**
 * The version of a room's next directory change. Monotonic across the room's lifetimes: at least one
 * more than the last version stored (`stored`, 0 when storage was reclaimed) and than the last this
 * instance issued (`issued`, survives a storage reclaim while the object stays in memory), and at least
 * the current time in microseconds, so a room destroyed (storage deleted) and created again later
 * still goes forward.
 */
export function nextVersion(stored: number, issued: number, nowMs: number): number {
  return Math.max(stored + 1, issued + 1, Math.floor(nowMs) * 1000);
}

/**
 * Delay before retry number `attempt` (1 = the first retry after a failed send). Exponential from
 * SYNC_FIRST_RETRY_MS, capped at SYNC_MAX_RETRY_MS, with +-20% jitter (`random` in [0, 1)) so that
 * rooms failing together during a directory outage do not retry in lockstep.
 */
export function retryDelayMs(attempt: number, random = 0.5): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const base = Math.min(SYNC_FIRST_RETRY_MS * 2 ** exponent, SYNC_MAX_RETRY_MS);
  const jitter = 0.8 + 0.4 * Math.min(Math.max(random, 0), 1);
  return Math.round(base * jitter);
}
