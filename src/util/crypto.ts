// Small crypto helpers over WebCrypto and Workers' built-ins. Pure: no I/O, no state.

const encoder = new TextEncoder();

/**
 * Compares two strings without revealing, through timing, where they differ. A length mismatch
 * returns false, but only after a comparison of the same cost, so the content is never raced.
 */
export function timingSafeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  if (left.byteLength !== right.byteLength) {
    crypto.subtle.timingSafeEqual(right, right);
    return false;
  }
  return crypto.subtle.timingSafeEqual(left, right);
}

/** MD5 of the UTF-8 text, lower-case hex (Tencent CSS signing uses it; not for anything new). */
export async function md5Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("MD5", encoder.encode(text));
  return toHex(new Uint8Array(digest));
}

/** HMAC-SHA256 with a UTF-8 text key over UTF-8 text data. */
export async function hmacSha256(key: string, data: string): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    encoder.encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(data)));
}

/** Standard base64 (RFC 4648 section 4) with padding. */
export function base64Encode(bytes: Uint8Array): string {
  let binary = "";
  // Chunked so that String.fromCharCode never gets more arguments than the engine allows.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Strict standard base64: null for any character outside the alphabet (whitespace included), wrong
 * length or padding, or non-zero padding bits. atob alone is lenient on all of these.
 */
export function base64Decode(text: string): Uint8Array | null {
  if (!BASE64.test(text)) return null;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  // Only the canonical spelling decodes, so one byte string has exactly one accepted encoding.
  if (base64Encode(bytes) !== text) return null;
  return bytes;
}

/** Lower-case hex of the bytes. */
export function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
