// Tencent CSS stream URLs with anti-leech signing (contract section 4):
// txTime = upper-case hex expiry, txSecret = md5(key + streamName + txTime).
import type { Config } from "../config";
import { md5Hex, timingSafeEqual } from "../util/crypto";

export interface StreamSigner {
  bizid: string;
  pushHost: string;
  playHost: string;
  pushKey: string;
  validSeconds: number;
}

/** Stream names this service signs and accepts; also keeps them safe to put in a URL path unescaped. */
export const STREAM_NAME: RegExp = /^[A-Za-z0-9_-]{1,200}$/;

/** verifyPushUrl refuses longer input before parsing it. */
export const MAX_PUSH_URL_CHARS = 1024;

const TX_TIME = /^[0-9A-Fa-f]{8}$/;
const TX_SECRET = /^[0-9A-Fa-f]{32}$/;
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

export function signerFromConfig(config: Config): StreamSigner {
  return {
    bizid: config.LIVE_BIZID,
    pushHost: config.LIVE_PUSH_HOST,
    playHost: config.LIVE_PLAY_HOST,
    pushKey: config.LIVE_PUSH_KEY,
    validSeconds: config.URL_VALID_SECONDS,
  };
}

/** The anti-leech pair for a stream valid until `expiresAt` (unix seconds, at most 0xFFFFFFFF). */
export async function antiLeech(
  key: string,
  stream: string,
  expiresAt: number,
): Promise<{ txSecret: string; txTime: string }> {
  if (!Number.isInteger(expiresAt) || expiresAt < 0 || expiresAt > 0xffffffff) {
    throw new RangeError("expiresAt must be a 32-bit unix time");
  }
  // Padded to 8 digits so that every txTime we issue passes verifyPushUrl's shape check (real times already have 8).
  const txTime = expiresAt.toString(16).toUpperCase().padStart(8, "0");
  return { txSecret: await md5Hex(key + stream + txTime), txTime };
}

/** rtmp://{pushHost}/live/{stream}?bizid=..&txSecret=..&txTime=.. expiring at now + validSeconds. */
export async function pushUrl(s: StreamSigner, stream: string, now?: number): Promise<string> {
  return signedRtmpUrl(s, s.pushHost, stream, now);
}

/** Low-latency ("acc") play URL: the rtmp play URL signed like a push URL. */
export async function accPlayUrl(s: StreamSigner, stream: string, now?: number): Promise<string> {
  return signedRtmpUrl(s, s.playHost, stream, now);
}

/** Unsigned play URLs of a stream. */
export function playUrls(s: StreamSigner, stream: string): { flv: string; rtmp: string; hls: string } {
  requireStreamName(stream);
  return {
    flv: `http://${s.playHost}/live/${stream}.flv`,
    rtmp: `rtmp://${s.playHost}/live/${stream}`,
    hls: `http://${s.playHost}/live/${stream}.m3u8`,
  };
}

export type PushUrlCheck = { ok: true; stream: string; expiresAt: number } | { ok: false; detail: string };

/**
 * Accepts only a push URL in the exact shape pushUrl issues, signed with this signer's key and not
 * expired. Input is untrusted: every rule is explicit, and `detail` names the failed rule without
 * echoing secrets or the input.
 */
export async function verifyPushUrl(s: StreamSigner, url: string, now?: number): Promise<PushUrlCheck> {
  const at = now ?? nowSeconds();
  if (url.length > MAX_PUSH_URL_CHARS) return fail(`longer than ${MAX_PUSH_URL_CHARS} characters`);
  // The URL parser silently drops tabs, newlines and surrounding spaces: refuse them up front.
  if (!PRINTABLE_ASCII.test(url)) return fail("contains whitespace, control or non-ASCII characters");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail("not a URL");
  }
  if (parsed.protocol !== "rtmp:") return fail("scheme is not rtmp");
  if (parsed.username !== "" || parsed.password !== "") return fail("carries credentials");
  if (parsed.host !== s.pushHost) return fail("host is not the push host");
  if (url.includes("#")) return fail("has a fragment");
  const match = /^\/live\/([^/]+)$/.exec(parsed.pathname);
  if (!match || match[1] === undefined) return fail("path is not /live/{stream}");
  const stream = match[1];
  if (!STREAM_NAME.test(stream)) return fail("stream name is invalid");
  // Rules out what the parser would normalise away (case, dot segments, empty userinfo, ports).
  if (!url.startsWith(`rtmp://${s.pushHost}/live/${stream}?`)) return fail("not in canonical form");

  const params = readParams(parsed.search.slice(1));
  if (typeof params === "string") return fail(params);
  const { bizid, txSecret, txTime } = params;
  if (bizid !== s.bizid) return fail("bizid does not match");
  if (!TX_TIME.test(txTime)) return fail("txTime is not 8 hex characters");
  if (!TX_SECRET.test(txSecret)) return fail("txSecret is not 32 hex characters");
  const expiresAt = Number.parseInt(txTime, 16);
  if (expiresAt < at) return fail("expired");
  // Signed over txTime exactly as written, as the CDN checks it.
  const expected = await md5Hex(s.pushKey + stream + txTime);
  if (!timingSafeEqual(expected, txSecret.toLowerCase())) return fail("txSecret does not match");
  return { ok: true, stream, expiresAt };
}

// ---------- internals ----------

async function signedRtmpUrl(s: StreamSigner, host: string, stream: string, now?: number): Promise<string> {
  requireStreamName(stream);
  const { txSecret, txTime } = await antiLeech(s.pushKey, stream, (now ?? nowSeconds()) + s.validSeconds);
  return `rtmp://${host}/live/${stream}?bizid=${s.bizid}&txSecret=${txSecret}&txTime=${txTime}`;
}

const PARAM_NAMES = ["bizid", "txSecret", "txTime"] as const;
type ParamName = (typeof PARAM_NAMES)[number];

/** Exactly one each of bizid, txSecret, txTime, nothing else; raw (no percent-decoding), as we issue them. */
function readParams(query: string): Record<ParamName, string> | string {
  const found: Partial<Record<ParamName, string>> = {};
  if (query !== "") {
    for (const pair of query.split("&")) {
      const eq = pair.indexOf("=");
      const name = eq < 0 ? pair : pair.slice(0, eq);
      if (!isParamName(name)) return "unexpected query parameter";
      if (found[name] !== undefined) return `duplicated parameter ${name}`;
      found[name] = eq < 0 ? "" : pair.slice(eq + 1);
    }
  }
  for (const name of PARAM_NAMES) {
    if (found[name] === undefined) return `missing parameter ${name}`;
  }
  return found as Record<ParamName, string>;
}

function isParamName(name: string): name is ParamName {
  return (PARAM_NAMES as readonly string[]).includes(name);
}

function requireStreamName(stream: string): void {
  if (!STREAM_NAME.test(stream)) throw new RangeError("invalid stream name");
}

function fail(detail: string): PushUrlCheck {
  return { ok: false, detail };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
