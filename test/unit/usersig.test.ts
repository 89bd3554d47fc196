import { describe, expect, it } from "vitest";
import {
  decodeTencentBase64,
  encodeTencentBase64,
  generateUserSig,
  MAX_DECOMPRESSED_BYTES,
  MAX_USERSIG_CHARS,
  verifyUserSig,
} from "../../src/auth/usersig";
import { base64Encode, hmacSha256 } from "../../src/util/crypto";

const KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
const OTHER_KEY = "0000000000000000000000000000000000000000000000000000000000000000";
const APP = 1400000000;
const T = 1700000000;

// Made by python3 (zlib + hmac), independent of this code base:
// /work/shared/conformance/rs.py usersig("alice_01", t=1700000000, expire=86400)
const PY_ALICE =
  "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwok5mcmp8QaGULnilOzEgoLMFCUrQxMDKIDIpFYUZBalKllZmJnAhEoyc4EChuaoCosz04HmelkEhhlERgX5V*kbeIVEpIYXeAW7Gjplh3ikVDqXuQdV6ee5V3iUFqZ7Odoq1QIACf4xHQ__";
// python3: identifier "bob", sdkappid/time/expire as JSON strings ("1400000000", "1700000000", "600"),
// TLS.userbuf = base64(b"\x00\x01room-42\xff"), json.dumps default separators, zlib level 9.
const PY_BOB_USERBUF =
  "eNqrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkkvKTYBLFKdmJBQWZKSBhQxMDKIDJplYUZBalguTMEIIlmblgIUNzdOXFmekgidR0r-BQR99yv6iQ0EBtg8hCI6*QiojKoqwoJ48w87LgoiC38JAwkyBLs3xbmNbS4tSipNI0kHZHR7fKJCPLEp*QwEr9cltbpVoAZkY7rA__";

// Test-side helpers, written independently of the module under test.
async function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
async function inflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
const tencent = (b64: string) => b64.replace(/\+/g, "*").replace(/\//g, "-").replace(/=/g, "_");
async function packBytes(raw: Uint8Array): Promise<string> {
  return tencent(base64Encode(await deflate(raw)));
}
async function pack(doc: unknown): Promise<string> {
  return packBytes(new TextEncoder().encode(JSON.stringify(doc)));
}
async function unpack(userSig: string): Promise<Record<string, unknown>> {
  const b64 = userSig.replace(/\*/g, "+").replace(/-/g, "/").replace(/_/g, "=");
  const raw = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(await inflate(raw))) as Record<string, unknown>;
}
/** A correctly signed document for alice at T (1 day), to be altered by a test. */
async function aliceDoc(): Promise<Record<string, unknown>> {
  const content = `TLS.identifier:alice\nTLS.sdkappid:${APP}\nTLS.time:${T}\nTLS.expire:86400\n`;
  return {
    "TLS.ver": "2.0",
    "TLS.identifier": "alice",
    "TLS.sdkappid": APP,
    "TLS.expire": 86400,
    "TLS.time": T,
    "TLS.sig": base64Encode(await hmacSha256(KEY, content)),
  };
}
const check = (userSig: string, identifier = "alice", now = T) =>
  verifyUserSig({ userSig, identifier, sdkAppId: APP, secretKey: KEY, now });

describe("Tencent base64", () => {
  it("substitutes + / = with * - _", () => {
    const bytes = new Uint8Array([0xfb, 0xff, 0xfe, 0x66]);
    expect(encodeTencentBase64(bytes)).toBe("*--*Zg__");
    expect(decodeTencentBase64("*--*Zg__")).toEqual(bytes);
  });
  it.each(["+//+", "Zg==", "Zg", "Zg_", "Zm9v\n", "Zm 9v", "Zh__"])("rejects %j", (text) => {
    expect(decodeTencentBase64(text)).toBeNull();
  });
});

describe("generateUserSig", () => {
  it("reproduces the TLSSigAPIv2 reference vector", async () => {
    const userSig = await generateUserSig({
      identifier: "xiaojun",
      sdkAppId: 1400000000,
      secretKey: KEY,
      expireSeconds: 15552000,
      now: 1600000000,
    });
    expect(await unpack(userSig)).toEqual({
      "TLS.ver": "2.0",
      "TLS.identifier": "xiaojun",
      "TLS.sdkappid": 1400000000,
      "TLS.expire": 15552000,
      "TLS.time": 1600000000,
      "TLS.sig": "1Z5PngDjGaufeSiPoBuxdHY7EK3JTdAjMP93S4KvV3M=",
    });
    expect(userSig).toMatch(/^[A-Za-z0-9*_-]+$/);
    expect(
      await verifyUserSig({ userSig, identifier: "xiaojun", sdkAppId: 1400000000, secretKey: KEY, now: 1600000000 }),
    ).toEqual({ ok: true, expiresAt: 1615552000 });
  });

  it("writes TLS.userbuf as standard base64 and signs it; verify round-trips", async () => {
    const userbuf = new Uint8Array([0, 1, 0xfb, 0xff, 0x7f]);
    const userSig = await generateUserSig({
      identifier: "carol",
      sdkAppId: APP,
      secretKey: KEY,
      expireSeconds: 60,
      now: T,
      userbuf,
    });
    const doc = await unpack(userSig);
    expect(doc["TLS.userbuf"]).toBe("AAH7/38=");
    const content = `TLS.identifier:carol\nTLS.sdkappid:${APP}\nTLS.time:${T}\nTLS.expire:60\nTLS.userbuf:AAH7/38=\n`;
    expect(doc["TLS.sig"]).toBe(base64Encode(await hmacSha256(KEY, content)));
    expect(await check(userSig, "carol")).toEqual({ ok: true, expiresAt: T + 60 });
    // The userbuf is covered by the signature.
    const swapped = await pack({ ...doc, "TLS.userbuf": "AAH7/3A=" });
    expect(await check(swapped, "carol")).toMatchObject({ ok: false, reason: "signature" });
  });

  it("defaults now to the current time", async () => {
    const before = Math.floor(Date.now() / 1000);
    const userSig = await generateUserSig({ identifier: "dave", sdkAppId: APP, secretKey: KEY, expireSeconds: 100 });
    const time = (await unpack(userSig))["TLS.time"] as number;
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    const result = await verifyUserSig({ userSig, identifier: "dave", sdkAppId: APP, secretKey: KEY });
    expect(result).toEqual({ ok: true, expiresAt: time + 100 });
  });

  it("refuses inputs it could not verify later", async () => {
    const base = { identifier: "x", sdkAppId: APP, secretKey: KEY, expireSeconds: 60, now: T };
    await expect(generateUserSig({ ...base, sdkAppId: -1 })).rejects.toThrow(RangeError);
    await expect(generateUserSig({ ...base, expireSeconds: 1.5 })).rejects.toThrow(RangeError);
    await expect(generateUserSig({ ...base, userbuf: new Uint8Array(4000) })).rejects.toThrow(RangeError);
  });
});

describe("verifyUserSig accepts", () => {
  it("a userSig made by python (rs.py)", async () => {
    expect(await check(PY_ALICE, "alice_01")).toEqual({ ok: true, expiresAt: T + 86400 });
    expect(await check(PY_ALICE, "alice_01", T + 86400)).toEqual({ ok: true, expiresAt: T + 86400 });
  });
  it("a python userSig with numeric strings and a userbuf", async () => {
    expect(await check(PY_BOB_USERBUF, "bob")).toEqual({ ok: true, expiresAt: T + 600 });
  });
  it("numbers given as digit strings, signed over their decimal form", async () => {
    const doc = await aliceDoc();
    const userSig = await pack({ ...doc, "TLS.sdkappid": String(APP), "TLS.time": String(T), "TLS.expire": "86400" });
    expect(await check(userSig)).toEqual({ ok: true, expiresAt: T + 86400 });
  });
});

describe("verifyUserSig rejects", () => {
  it("a userSig signed with another key (signature), without leaking secrets", async () => {
    const userSig = await generateUserSig({
      identifier: "alice",
      sdkAppId: APP,
      secretKey: OTHER_KEY,
      expireSeconds: 60,
      now: T,
    });
    const result = await check(userSig);
    expect(result).toEqual({ ok: false, reason: "signature", detail: "signature does not match" });
  });

  it("another identifier (identifier)", async () => {
    expect(await check(PY_ALICE, "alice_02")).toMatchObject({ ok: false, reason: "identifier" });
    expect(await check(PY_ALICE, "ALICE_01")).toMatchObject({ ok: false, reason: "identifier" });
  });

  it("another sdkappid (sdkappid)", async () => {
    const result = await verifyUserSig({
      userSig: PY_ALICE,
      identifier: "alice_01",
      sdkAppId: 1400000001,
      secretKey: KEY,
      now: T,
    });
    expect(result).toMatchObject({ ok: false, reason: "sdkappid" });
  });

  it("one second past time + expire (expired)", async () => {
    expect(await check(PY_ALICE, "alice_01", T + 86401)).toEqual({
      ok: false,
      reason: "expired",
      detail: `expired at ${T + 86400}`,
    });
    expect(await check(PY_BOB_USERBUF, "bob", T + 601)).toMatchObject({ ok: false, reason: "expired" });
  });

  it("in the contract's order: identifier, sdkappid, expiry, signature", async () => {
    const bad = await generateUserSig({
      identifier: "alice",
      sdkAppId: 1,
      secretKey: OTHER_KEY,
      expireSeconds: 1,
      now: T,
    });
    const late = T + 10;
    expect(await check(bad, "bob", late)).toMatchObject({ reason: "identifier" });
    expect(await check(bad, "alice", late)).toMatchObject({ reason: "sdkappid" });
    const expiredWrongKey = await generateUserSig({
      identifier: "alice",
      sdkAppId: APP,
      secretKey: OTHER_KEY,
      expireSeconds: 1,
      now: T,
    });
    expect(await check(expiredWrongKey, "alice", late)).toMatchObject({ reason: "expired" });
    expect(await check(expiredWrongKey, "alice", T)).toMatchObject({ reason: "signature" });
  });

  it.each([
    ["not base64 at all", "not a userSig!"],
    ["standard base64 characters", PY_ALICE.replace(/\*/g, "+")],
    ["a truncated encoding", PY_ALICE.slice(0, -3)],
    ["empty input", ""],
  ])("bad base64: %s (malformed)", async (_label, userSig) => {
    const result = await check(userSig, "alice_01");
    expect(result.ok).toBe(false);
    expect(result).toMatchObject({ reason: "malformed" });
  });

  it("bad base64 is reported as such", async () => {
    expect(await check("abc$")).toEqual({ ok: false, reason: "malformed", detail: "not base64" });
  });

  it("input longer than MAX_USERSIG_CHARS before decoding (malformed)", async () => {
    expect(MAX_USERSIG_CHARS).toBe(2048);
    const result = await check("A".repeat(MAX_USERSIG_CHARS + 1));
    expect(result).toEqual({ ok: false, reason: "malformed", detail: "longer than 2048 characters" });
  });

  it("data that is not zlib: raw JSON, random bytes, a truncated stream (malformed)", async () => {
    const json = new TextEncoder().encode(JSON.stringify(await aliceDoc()));
    const notZlib = encodeTencentBase64(json);
    expect(await check(notZlib)).toEqual({ ok: false, reason: "malformed", detail: "not zlib data" });
    const random = encodeTencentBase64(crypto.getRandomValues(new Uint8Array(64)));
    expect(await check(random)).toMatchObject({ ok: false, reason: "malformed", detail: "not zlib data" });
    const deflated = await deflate(json);
    const truncated = encodeTencentBase64(deflated.subarray(0, deflated.byteLength - 6));
    expect(await check(truncated)).toMatchObject({ ok: false, reason: "malformed", detail: "not zlib data" });
    const rawDeflate = new Uint8Array(
      await new Response(new Blob([json]).stream().pipeThrough(new CompressionStream("deflate-raw"))).arrayBuffer(),
    );
    expect(await check(encodeTencentBase64(rawDeflate))).toMatchObject({
      reason: "malformed",
      detail: "not zlib data",
    });
    const trailing = encodeTencentBase64(new Uint8Array([...deflated, 0x7b, 0x7d]));
    expect(await check(trailing)).toMatchObject({ reason: "malformed", detail: "not zlib data" });
  });

  it("a zip bomb: stops at MAX_DECOMPRESSED_BYTES (malformed)", async () => {
    expect(MAX_DECOMPRESSED_BYTES).toBe(4096);
    const bomb = await packBytes(new Uint8Array(1_000_000)); // 1 MB of zeros
    expect(bomb.length).toBeLessThanOrEqual(MAX_USERSIG_CHARS); // so the inflate bound, not the length bound, trips
    expect(await check(bomb)).toEqual({ ok: false, reason: "malformed", detail: "inflates past 4096 bytes" });
  });

  it("a real document just over the bound (malformed), and one at the bound is read", async () => {
    const doc = await aliceDoc();
    const size = (extra: string) => new TextEncoder().encode(JSON.stringify({ ...doc, pad: extra })).byteLength;
    const fill = "x".repeat(MAX_DECOMPRESSED_BYTES - size(""));
    expect(size(fill)).toBe(MAX_DECOMPRESSED_BYTES);
    expect(await check(await pack({ ...doc, pad: fill }))).toEqual({ ok: true, expiresAt: T + 86400 });
    expect(await check(await pack({ ...doc, pad: `${fill}x` }))).toMatchObject({
      reason: "malformed",
      detail: "inflates past 4096 bytes",
    });
  });

  it.each(["TLS.ver", "TLS.identifier", "TLS.sdkappid", "TLS.time", "TLS.expire", "TLS.sig"])(
    "a document without %s (malformed)",
    async (field) => {
      const doc = await aliceDoc();
      delete doc[field];
      const result = await check(await pack(doc));
      expect(result).toMatchObject({ ok: false, reason: "malformed" });
      expect(result.ok === false && result.detail).toContain(field);
    },
  );

  it.each([
    ["TLS.ver", "1.0"],
    ["TLS.ver", 2],
    ["TLS.identifier", 42],
    ["TLS.identifier", null],
    ["TLS.sdkappid", "14e8"],
    ["TLS.sdkappid", " 1400000000"],
    ["TLS.sdkappid", 1400000000.5],
    ["TLS.time", -1],
    ["TLS.time", "-1"],
    ["TLS.time", "1234567890123456"],
    ["TLS.expire", true],
    ["TLS.expire", 1e300],
    ["TLS.sig", 12345],
    ["TLS.userbuf", 7],
    ["TLS.userbuf", "not base64!"],
  ])("a document with %s = %j (malformed)", async (field, value) => {
    const doc = await aliceDoc();
    const result = await check(await pack({ ...doc, [field]: value }));
    expect(result).toMatchObject({ ok: false, reason: "malformed" });
  });

  it.each([
    ["31 bytes", 31],
    ["33 bytes", 33],
    ["empty", 0],
  ])("a TLS.sig of the wrong length: %s (signature)", async (_label, length) => {
    const doc = await aliceDoc();
    const sig = base64Encode(new Uint8Array(length).fill(7));
    expect(await check(await pack({ ...doc, "TLS.sig": sig }))).toEqual({
      ok: false,
      reason: "signature",
      detail: "TLS.sig is not a base64 HMAC-SHA256",
    });
  });

  it("a TLS.sig that is not base64 (signature)", async () => {
    const doc = await aliceDoc();
    const sig = (doc["TLS.sig"] as string).replace(/=$/, "");
    expect(await check(await pack({ ...doc, "TLS.sig": sig }))).toMatchObject({ reason: "signature" });
  });

  it("a TLS.sig with one bit flipped (signature)", async () => {
    const doc = await aliceDoc();
    const raw = Uint8Array.from(atob(doc["TLS.sig"] as string), (c) => c.charCodeAt(0));
    raw[31] = (raw[31] ?? 0) ^ 1;
    expect(await check(await pack({ ...doc, "TLS.sig": base64Encode(raw) }))).toMatchObject({ reason: "signature" });
    expect(await check(await pack(doc))).toEqual({ ok: true, expiresAt: T + 86400 }); // the unflipped control
  });

  it("a signed field changed after signing (signature)", async () => {
    const doc = await aliceDoc();
    expect(await check(await pack({ ...doc, "TLS.expire": 86400 * 365 }))).toMatchObject({ reason: "signature" });
  });

  it.each([
    ["plain text", new TextEncoder().encode("hello")],
    ["a JSON array", new TextEncoder().encode("[1,2]")],
    ["JSON null", new TextEncoder().encode("null")],
    ["a JSON string", new TextEncoder().encode('"TLS.ver"')],
    ["invalid UTF-8", new Uint8Array([0x7b, 0xff, 0x7d])],
    ["empty", new Uint8Array(0)],
  ])("a document that is not a JSON object: %s (malformed)", async (_label, raw) => {
    expect(await check(await packBytes(raw))).toEqual({ ok: false, reason: "malformed", detail: "not a JSON object" });
  });
});
