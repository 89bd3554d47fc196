// Tencent TLSSigAPIv2 userSig (contract section 3): issue and verify, interoperable with Tencent's SDKs.
// A userSig is base64 (Tencent alphabet) of zlib-deflated JSON carrying an HMAC-SHA256 over the claims.
import { base64Decode, base64Encode, hmacSha256 } from "../util/crypto";
import { readAtMost } from "../util/streams";

/** Longer input is rejected before any decoding work. Real userSigs are a few hundred characters. */
export const MAX_USERSIG_CHARS = 2048;
/** Zip-bomb bound: inflation stops as soon as the output exceeds this many bytes. */
export const MAX_DECOMPRESSED_BYTES = 4096;

const HMAC_BYTES = 32;
// JSON numbers or digit strings (SDKs differ); 15 digits keep every value and sum a safe integer.
const DIGITS = /^\d{1,15}$/;
const MAX_COUNT = 999_999_999_999_999;

export interface UserSigInput {
  identifier: string;
  sdkAppId: number;
  secretKey: string;
  expireSeconds: number;
  /** Unix seconds; defaults to the current time, floored. */
  now?: number;
  userbuf?: Uint8Array;
}

export type UserSigRejection = "malformed" | "identifier" | "sdkappid" | "expired" | "signature";

export interface UserSigCheck {
  userSig: string;
  identifier: string;
  sdkAppId: number;
  secretKey: string;
  /** Unix seconds; defaults to the current time, floored. */
  now?: number;
}

export type UserSigResult = { ok: true; expiresAt: number } | { ok: false; reason: UserSigRejection; detail: string };

/** Base64 with Tencent's URL-safe substitutions: `+` -> `*`, `/` -> `-`, `=` -> `_`. */
export function encodeTencentBase64(bytes: Uint8Array): string {
  return base64Encode(bytes).replace(/\+/g, "*").replace(/\//g, "-").replace(/=/g, "_");
}

/** Strict inverse of encodeTencentBase64: null for any character outside Tencent's alphabet or bad padding. */
export function decodeTencentBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9*_-]*$/.test(text)) return null;
  return base64Decode(text.replace(/\*/g, "+").replace(/-/g, "/").replace(/_/g, "="));
}

/** Issues a userSig exactly as Tencent's TLSSigAPIv2 genUserSig / genPrivateMapKey do. */
export async function generateUserSig(input: UserSigInput): Promise<string> {
  const time = input.now ?? nowSeconds();
  requireCount("sdkAppId", input.sdkAppId);
  requireCount("expireSeconds", input.expireSeconds);
  requireCount("now", time);
  const userbuf = input.userbuf === undefined ? undefined : base64Encode(input.userbuf);
  const content = sigContent(
    input.identifier,
    String(input.sdkAppId),
    String(time),
    String(input.expireSeconds),
    userbuf,
  );
  const doc: Record<string, string | number> = {
    "TLS.ver": "2.0",
    "TLS.identifier": input.identifier,
    "TLS.sdkappid": input.sdkAppId,
    "TLS.expire": input.expireSeconds,
    "TLS.time": time,
    "TLS.sig": base64Encode(await hmacSha256(input.secretKey, content)),
  };
  if (userbuf !== undefined) doc["TLS.userbuf"] = userbuf;
  const json = new TextEncoder().encode(JSON.stringify(doc));
  // Never issue what verifyUserSig would refuse.
  if (json.byteLength > MAX_DECOMPRESSED_BYTES) throw new RangeError("userSig document too large");
  const userSig = encodeTencentBase64(await deflate(json));
  if (userSig.length > MAX_USERSIG_CHARS) throw new RangeError("userSig too long");
  return userSig;
}

/**
 * Verifies a userSig for the given identifier and sdkAppId. Checks run in this order: decoding,
 * fields, identifier, sdkappid, expiry, signature (callers map "malformed" to code 4, the rest to 7).
 * The detail never contains the key, the signature or the userSig.
 */
export async function verifyUserSig(check: UserSigCheck): Promise<UserSigResult> {
  const now = check.now ?? nowSeconds();
  if (check.userSig.length > MAX_USERSIG_CHARS) return malformed(`longer than ${MAX_USERSIG_CHARS} characters`);
  const compressed = decodeTencentBase64(check.userSig);
  if (compressed === null) return malformed("not base64");
  const inflated = await inflateBounded(compressed, MAX_DECOMPRESSED_BYTES);
  if (inflated === "invalid") return malformed("not zlib data");
  if (inflated === "too-large") return malformed(`inflates past ${MAX_DECOMPRESSED_BYTES} bytes`);
  const parsed = parseJsonObject(inflated);
  if (parsed === null) return malformed("not a JSON object");
  const doc = readDoc(parsed);
  if (typeof doc === "string") return malformed(doc);

  if (doc.identifier !== check.identifier) {
    return { ok: false, reason: "identifier", detail: "identifier does not match the userID" };
  }
  if (doc.sdkAppId.value !== check.sdkAppId) {
    return { ok: false, reason: "sdkappid", detail: "sdkappid does not match" };
  }
  const expiresAt = doc.time.value + doc.expire.value;
  if (now > expiresAt) return { ok: false, reason: "expired", detail: `expired at ${expiresAt}` };

  const given = base64Decode(doc.sig);
  if (given === null || given.byteLength !== HMAC_BYTES) {
    return { ok: false, reason: "signature", detail: "TLS.sig is not a base64 HMAC-SHA256" };
  }
  const content = sigContent(doc.identifier, doc.sdkAppId.text, doc.time.text, doc.expire.text, doc.userbuf);
  const expected = await hmacSha256(check.secretKey, content);
  if (!crypto.subtle.timingSafeEqual(expected, given)) {
    return { ok: false, reason: "signature", detail: "signature does not match" };
  }
  return { ok: true, expiresAt };
}

// ---------- internals ----------

interface Count {
  value: number;
  /** Canonical decimal, as Tencent's verifiers re-format the parsed number into the signed content. */
  text: string;
}

interface SigDoc {
  identifier: string;
  sdkAppId: Count;
  time: Count;
  expire: Count;
  sig: string;
  userbuf?: string;
}

function sigContent(identifier: string, sdkAppId: string, time: string, expire: string, userbuf?: string): string {
  let content = `TLS.identifier:${identifier}\nTLS.sdkappid:${sdkAppId}\nTLS.time:${time}\nTLS.expire:${expire}\n`;
  if (userbuf !== undefined) content += `TLS.userbuf:${userbuf}\n`;
  return content;
}

/** The typed fields of a decoded document, or a description of the first bad field. */
function readDoc(doc: Record<string, unknown>): SigDoc | string {
  if (doc["TLS.ver"] !== "2.0") return "TLS.ver missing or not 2.0";
  const identifier = doc["TLS.identifier"];
  if (typeof identifier !== "string") return "TLS.identifier missing or not a string";
  const sdkAppId = readCount(doc["TLS.sdkappid"]);
  if (sdkAppId === null) return "TLS.sdkappid missing or not an integer";
  const time = readCount(doc["TLS.time"]);
  if (time === null) return "TLS.time missing or not an integer";
  const expire = readCount(doc["TLS.expire"]);
  if (expire === null) return "TLS.expire missing or not an integer";
  const sig = doc["TLS.sig"];
  if (typeof sig !== "string") return "TLS.sig missing or not a string";
  const userbuf = doc["TLS.userbuf"];
  if (userbuf === undefined) return { identifier, sdkAppId, time, expire, sig };
  if (typeof userbuf !== "string" || base64Decode(userbuf) === null) return "TLS.userbuf not base64";
  return { identifier, sdkAppId, time, expire, sig, userbuf };
}

function readCount(value: unknown): Count | null {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0 || value > MAX_COUNT) return null;
    return { value, text: String(value) };
  }
  if (typeof value === "string" && DIGITS.test(value)) {
    const n = Number(value);
    return { value: n, text: String(n) };
  }
  return null;
}

function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes));
    if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
    return value as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** zlib (RFC 1950) compression, the format of Tencent's userSigs. */
async function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** zlib decompression that reads no further once the output passes `limit` bytes. */
async function inflateBounded(bytes: Uint8Array, limit: number): Promise<Uint8Array | "invalid" | "too-large"> {
  const stream = new DecompressionStream("deflate");
  const writer = stream.writable.getWriter();
  // Failures also surface on the reader; swallow them here so that no rejection goes unhandled.
  writer.write(bytes).catch(() => {});
  writer.close().catch(() => {});
  try {
    return (await readAtMost(stream.readable, limit)) ?? "too-large";
  } catch {
    return "invalid";
  }
}

function malformed(detail: string): UserSigResult {
  return { ok: false, reason: "malformed", detail };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function requireCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_COUNT) {
    throw new RangeError(`${name} must be an integer in 0..${MAX_COUNT}`);
  }
}
