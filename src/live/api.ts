// Client of Tencent's legacy cloud live API ("common_access"): one signed HTTP call, bounded in time
// and size, that never throws and never retries (mixing is not idempotent). Web APIs only.
//
// Signing (contract section 6): {url}?appid={appId}&interface={iface}&t={now+60}&sign={md5(apiKey + t)}.
// `t` is when the signature expires, in unix seconds; the key itself never leaves this module.
import type { Config } from "../config";
import { md5Hex } from "../util/crypto";
import { readAtMost } from "../util/streams";

export interface LiveApiOptions {
  /** The common_access endpoint, e.g. http://fcgi.video.qcloud.com/common_access (LIVE_API_URL). */
  url: string;
  /** LIVE_APP_ID. */
  appId: string;
  /** LIVE_API_KEY: the API authentication key of the live console. */
  apiKey: string;
  /** Bound on one call, connection to last body byte (LIVE_API_TIMEOUT_MS). */
  timeoutMs: number;
  /** Outbound fetch; tests inject a fake (the global fetch otherwise). */
  fetch?: typeof fetch;
  /** Current time in unix seconds (Date.now() otherwise). */
  now?: () => number;
}

export type LiveApiResult =
  | { ok: true; status: number; json: unknown }
  | { ok: false; reason: "timeout" | "network" | "http" | "not_json"; detail: string };

/** How long a signature stays valid: the documented "current time + 60 s". */
export const SIGN_VALID_SECONDS = 60;
/** Larger answers are refused (reason "not_json"): both interfaces answer a few hundred bytes. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

const SIGNED_PARAMS = new Set(["appid", "interface", "t", "sign"]);

export function liveApiFromConfig(config: Config, fetchImpl?: typeof fetch): LiveApiOptions {
  const options: LiveApiOptions = {
    url: config.LIVE_API_URL,
    appId: config.LIVE_APP_ID,
    apiKey: config.LIVE_API_KEY,
    timeoutMs: config.LIVE_API_TIMEOUT_MS,
  };
  if (fetchImpl) options.fetch = fetchImpl;
  return options;
}

export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * The signed URL of one call. `extra` parameters follow the signed ones, in order; they cannot
 * replace appid, interface, t or sign (such keys are dropped).
 */
export async function signedApiUrl(
  o: LiveApiOptions,
  iface: string,
  extra: Record<string, string> = {},
): Promise<string> {
  const t = String((o.now ?? unixNow)() + SIGN_VALID_SECONDS);
  const url = new URL(o.url);
  url.searchParams.append("appid", o.appId);
  url.searchParams.append("interface", iface);
  url.searchParams.append("t", t);
  url.searchParams.append("sign", await md5Hex(o.apiKey + t));
  for (const [key, value] of Object.entries(extra)) {
    if (!SIGNED_PARAMS.has(key)) url.searchParams.append(key, value);
  }
  return url.toString();
}

/**
 * One call to the API: a single attempt, bounded by `timeoutMs` from the start of the request to
 * the end of the answer's body (even when the fetch in use ignores its abort signal), with the
 * answer's body bounded to MAX_RESPONSE_BYTES. Resolves to a result; never throws, never hangs.
 * A 2xx answer whose body is JSON is `ok`, whatever its business code: reading that is the caller's job.
 */
export async function callLiveApi(
  o: LiveApiOptions,
  iface: string,
  init: { method: "GET" | "POST"; body?: string; query?: Record<string, string> },
): Promise<LiveApiResult> {
  const timeoutMs = Number.isFinite(o.timeoutMs) && o.timeoutMs > 0 ? o.timeoutMs : 5_000;
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<LiveApiResult>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new DOMException(`live API call exceeded ${timeoutMs} ms`, "TimeoutError"));
      resolve({ ok: false, reason: "timeout", detail: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  try {
    return await Promise.race([attempt(o, iface, init, controller.signal), deadline]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

async function attempt(
  o: LiveApiOptions,
  iface: string,
  init: { method: "GET" | "POST"; body?: string; query?: Record<string, string> },
  signal: AbortSignal,
): Promise<LiveApiResult> {
  let response: Response;
  try {
    const url = await signedApiUrl(o, iface, init.query);
    const headers: Record<string, string> = { accept: "application/json" };
    if (init.body !== undefined) headers["content-type"] = "application/json";
    // Called as a plain function: workerd refuses a fetch invoked as a method of another object.
    const fetchImpl = o.fetch ?? fetch;
    response = await fetchImpl(url, {
      method: init.method,
      headers,
      body: init.body,
      signal,
      // A redirect would replay a signed, non-idempotent call somewhere else: report it instead.
      redirect: "manual",
    });
  } catch (err) {
    if (signal.aborted) return { ok: false, reason: "timeout", detail: "aborted at the deadline" };
    return { ok: false, reason: "network", detail: `connection failed: ${describeError(err)}` };
  }
  if (response.status < 200 || response.status > 299) {
    discard(response);
    return { ok: false, reason: "http", detail: `HTTP ${response.status}` };
  }
  let text: string | null;
  try {
    text = await readBounded(response, MAX_RESPONSE_BYTES);
  } catch (err) {
    if (signal.aborted) return { ok: false, reason: "timeout", detail: "answer body not complete at the deadline" };
    return { ok: false, reason: "network", detail: `answer body lost: ${describeError(err)}` };
  }
  if (text === null) return { ok: false, reason: "not_json", detail: `answer larger than ${MAX_RESPONSE_BYTES} bytes` };
  try {
    return { ok: true, status: response.status, json: JSON.parse(text) };
  } catch {
    return { ok: false, reason: "not_json", detail: `answer is not JSON (HTTP ${response.status})` };
  }
}

/** The body as UTF-8 text, or null when it is larger than `limit` bytes (the rest is not read). */
async function readBounded(response: Response, limit: number): Promise<string | null> {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > limit) {
    discard(response);
    return null;
  }
  if (!response.body) return "";
  const bytes = await readAtMost(response.body, limit);
  return bytes === null ? null : new TextDecoder().decode(bytes);
}

function discard(response: Response): void {
  response.body?.cancel().catch(() => {});
}

/** A short, safe description: no URL (it carries the signature), bounded length. */
function describeError(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, "<url>").slice(0, 200) || "unknown error";
}
