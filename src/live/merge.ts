// merge_stream (contract section 6): the client's mixing parameters, POSTed unchanged to the cloud
// live API's mix_streamv2.start_mix_stream_advanced, and its answer copied back as `result`.
import { Code, fail, type Outcome, ok } from "../protocol/codes";
import { callLiveApi, type LiveApiOptions, unixNow } from "./api";

export const MAX_MERGE_PARAMS_BYTES = 16 * 1024;
export const MIX_INTERFACE = "mix_streamv2.start_mix_stream_advanced";

/** Longest upstream `message` copied into an answer. */
const MAX_MESSAGE_CHARS = 1024;

const encoder = new TextEncoder();

/**
 * The body to POST for a client's `mergeParams`: a string that parses as a JSON object or array is
 * sent byte for byte as given; an object or array is serialised with JSON.stringify. Either way at
 * most MAX_MERGE_PARAMS_BYTES of UTF-8. Anything else is not ok, with a detail naming the parameter.
 */
export function normalizeMergeParams(input: unknown): { ok: true; body: string } | { ok: false; detail: string } {
  let body: string;
  if (typeof input === "string") {
    // Every UTF-16 unit is at least one UTF-8 byte: a long string is refused before any parsing.
    if (input.length > MAX_MERGE_PARAMS_BYTES || encoder.encode(input).byteLength > MAX_MERGE_PARAMS_BYTES) {
      return tooLarge();
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(input);
    } catch {
      return { ok: false, detail: "mergeParams is not valid JSON" };
    }
    if (typeof parsed !== "object" || parsed === null) {
      return { ok: false, detail: "mergeParams must be a JSON object" };
    }
    body = input;
  } else if (typeof input === "object" && input !== null) {
    try {
      body = JSON.stringify(input);
    } catch {
      return { ok: false, detail: "mergeParams cannot be serialised as JSON" };
    }
    if (encoder.encode(body).byteLength > MAX_MERGE_PARAMS_BYTES) return tooLarge();
  } else {
    return { ok: false, detail: "mergeParams must be a JSON string or object" };
  }
  return { ok: true, body };
}

function tooLarge(): { ok: false; detail: string } {
  return { ok: false, detail: `mergeParams is larger than ${MAX_MERGE_PARAMS_BYTES} bytes` };
}

export type MergeResult = { code: number; message: string; timestamp: number };

/**
 * Starts (or updates) a stream mix. `body` is what normalizeMergeParams returned. A JSON answer is
 * success at our level (code 0) carrying the upstream's own verdict in `result`, as the original did:
 * `result.code` != 0 means the cloud refused the mix. A timeout, a connection failure, a non-2xx
 * status, a body that is not a JSON object: code 6 (UPSTREAM), within the client's time bound.
 */
export async function mergeStream(o: LiveApiOptions, body: string): Promise<Outcome<{ result: MergeResult }>> {
  const answer = await callLiveApi(o, MIX_INTERFACE, { method: "POST", body });
  if (!answer.ok) {
    console.warn(
      JSON.stringify({
        event: "live_api_failed",
        interface: MIX_INTERFACE,
        reason: answer.reason,
        detail: answer.detail,
      }),
    );
    return fail(Code.UPSTREAM, `${MIX_INTERFACE}: ${answer.detail}`);
  }
  const json = answer.json;
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    console.warn(JSON.stringify({ event: "live_api_failed", interface: MIX_INTERFACE, reason: "not_object" }));
    return fail(Code.UPSTREAM, `${MIX_INTERFACE}: answer is not a JSON object`);
  }
  return ok({ result: mergeResultOf(json as Record<string, unknown>, (o.now ?? unixNow)()) });
}

/**
 * The documented answer is {"code":0,"message":"Success!","timestamp":1490079362}. Missing or odd
 * fields are coerced: code from `code`, else the `ret`/`retcode` of the older interfaces, else -1 (a
 * verdict we cannot read is not a success); message from `message`, else `errmsg`, else "";
 * timestamp from `timestamp`, else the current time.
 */
export function mergeResultOf(json: Record<string, unknown>, now: number): MergeResult {
  const code = integerOf(json.code) ?? integerOf(json.ret) ?? integerOf(json.retcode) ?? -1;
  const rawMessage =
    typeof json.message === "string" ? json.message : typeof json.errmsg === "string" ? json.errmsg : "";
  const timestamp = integerOf(json.timestamp) ?? now;
  return { code, message: rawMessage.slice(0, MAX_MESSAGE_CHARS), timestamp };
}

function integerOf(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  if (typeof value === "string" && /^\s*-?\d{1,15}\s*$/.test(value)) return Number(value);
  return undefined;
}
