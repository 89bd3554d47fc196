// Stream status through the cloud live API's Live_Channel_GetStatus (legacy common_access form).
//
// What the answer means, from Tencent's documentation of the interface ("Query Live Status",
// intl.cloud.tencent.com/document/product/267/5958): GET with Param.s.channel_id = the stream name,
// one stream per call; answer {"ret":0,"message":"","output":[{"rate_type":0,"recv_type":1,"status":N}]}
// where ret 0 is success and status 0 = interrupted, 1 = enabled (being pushed), 3 = disabled
// (banned); a stream that has never been pushed answers error 20601. The channel APIs of the same
// family also use 2 = exception. So: 1 is "live"; 0, 2, 3 and error 20601 are "stopped"; anything
// else, and every failure to get an answer, is "unknown".
//
// Gated by STREAM_STATUS_CHECK (default off): when it is off no call is made and every stream is
// "unknown", so neither local development nor tests ever reach the real API by accident.
import type { Config } from "../config";
import { callLiveApi, type LiveApiOptions, liveApiFromConfig } from "./api";

export type StreamState = "live" | "stopped" | "unknown";

export const STATUS_INTERFACE = "Live_Channel_GetStatus";
/** Calls in flight at once: Workers allow six simultaneous outbound connections per invocation. */
export const STATUS_CONCURRENCY = 6;
/** Live_Channel_GetStatus: "the stream has never been pushed". */
const NEVER_PUSHED = 20601;

/** The live status of each stream; "unknown" where the API could not tell (never throws). */
export async function streamStates(
  config: Config,
  streams: string[],
  fetchImpl?: typeof fetch,
): Promise<Map<string, StreamState>> {
  const states = new Map<string, StreamState>();
  for (const stream of streams) states.set(stream, "unknown");
  if (states.size === 0) return states;
  try {
    if (!config.STREAM_STATUS_CHECK) return states;
    const o = liveApiFromConfig(config, fetchImpl);
    const failures: string[] = [];
    await forEachLimited([...states.keys()], STATUS_CONCURRENCY, async (stream) => {
      const { state, failure } = await streamState(o, stream);
      states.set(stream, state);
      if (failure) failures.push(failure);
    });
    if (failures.length > 0) {
      console.warn(
        JSON.stringify({
          event: "live_api_failed",
          interface: STATUS_INTERFACE,
          failed: failures.length,
          of: states.size,
          first: failures[0],
        }),
      );
    }
  } catch (err) {
    // Not expected (callLiveApi never throws); the answer stays "unknown" for whatever is left.
    console.error(JSON.stringify({ event: "stream_status_error", error: String(err).slice(0, 200) }));
  }
  return states;
}

/** One stream's state; `failure` says why when the API gave no usable answer. */
export async function streamState(
  o: LiveApiOptions,
  stream: string,
): Promise<{ state: StreamState; failure?: string }> {
  const answer = await callLiveApi(o, STATUS_INTERFACE, { method: "GET", query: { "Param.s.channel_id": stream } });
  if (!answer.ok) return { state: "unknown", failure: `${answer.reason}: ${answer.detail}` };
  const state = stateFromAnswer(answer.json);
  return state === "unknown"
    ? { state, failure: `unreadable answer: ${JSON.stringify(answer.json).slice(0, 120)}` }
    : { state };
}

/** Reads a Live_Channel_GetStatus answer (see the top of this file). */
export function stateFromAnswer(json: unknown): StreamState {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return "unknown";
  const answer = json as Record<string, unknown>;
  const ret = integerOf(answer.ret) ?? integerOf(answer.retcode);
  if (ret === NEVER_PUSHED) return "stopped";
  if (ret !== 0) return "unknown";
  const output = Array.isArray(answer.output) ? answer.output[0] : answer.output;
  if (typeof output !== "object" || output === null) return "unknown";
  const status = integerOf((output as Record<string, unknown>).status);
  if (status === 1) return "live";
  if (status === 0 || status === 2 || status === 3) return "stopped";
  return "unknown";
}

function integerOf(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  if (typeof value === "string" && /^\s*-?\d{1,15}\s*$/.test(value)) return Number(value);
  return undefined;
}

/** Runs `task` over `items` with at most `limit` running at once. */
async function forEachLimited<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
