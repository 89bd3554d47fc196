// PLACEHOLDER (to be replaced by the live API work): stream status via the cloud live API.
import type { Config } from "../config";

export type StreamState = "live" | "stopped" | "unknown";

/** The live status of each stream; "unknown" where the API could not tell (never throws). */
export async function streamStates(_config: Config, streams: string[]): Promise<Map<string, StreamState>> {
  return new Map(streams.map((s) => [s, "unknown" as const]));
}
