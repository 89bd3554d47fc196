import { describe, expect, it } from "vitest";
import { base64Decode, base64Encode, hmacSha256, md5Hex, timingSafeEqual } from "../../src/util/crypto";
import { randomHex, randomRoomID, randomStreamSuffix, randomUserID } from "../../src/util/ids";

const bytes = (...values: number[]) => new Uint8Array(values);

describe("timingSafeEqual", () => {
  it("is true only for identical strings", () => {
    expect(timingSafeEqual("abc", "abc")).toBe(true);
    expect(timingSafeEqual("", "")).toBe(true);
    expect(timingSafeEqual("abc", "abd")).toBe(false);
    expect(timingSafeEqual("abc", "ABC")).toBe(false);
  });
  it("is false for different lengths, either way round", () => {
    expect(timingSafeEqual("abc", "abcd")).toBe(false);
    expect(timingSafeEqual("abcd", "abc")).toBe(false);
    expect(timingSafeEqual("", "a")).toBe(false);
  });
  it("compares UTF-8 bytes, not UTF-16 units", () => {
    expect(timingSafeEqual("é", "é")).toBe(true);
    expect(timingSafeEqual("é", "e\u0301")).toBe(false);
  });
});

describe("md5Hex", () => {
  it("matches published digests, lower-case", async () => {
    expect(await md5Hex("")).toBe("d41d8cd98f00b204e9800998ecf8427e");
    expect(await md5Hex("e12c46f2612d5106e2034781ab261ca3test5C271099")).toBe("f85a2ab363fe4deaffef9754d79da6fe");
    expect(await md5Hex("héllo")).toBe("be50e8478cf24ff3595bc7307fb91b50"); // UTF-8, from python hashlib
  });
});

describe("hmacSha256", () => {
  it("matches RFC-style vectors", async () => {
    const mac = await hmacSha256("key", "The quick brown fox jumps over the lazy dog");
    expect(mac.byteLength).toBe(32);
    expect(base64Encode(mac)).toBe("97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg=");
  });
  it("gives the TLSSigAPIv2 reference signature", async () => {
    const content = "TLS.identifier:xiaojun\nTLS.sdkappid:1400000000\nTLS.time:1600000000\nTLS.expire:15552000\n";
    const mac = await hmacSha256("5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e", content);
    expect(base64Encode(mac)).toBe("1Z5PngDjGaufeSiPoBuxdHY7EK3JTdAjMP93S4KvV3M=");
  });
});

describe("base64", () => {
  it("encodes with padding", () => {
    expect(base64Encode(bytes())).toBe("");
    expect(base64Encode(bytes(0x66))).toBe("Zg==");
    expect(base64Encode(bytes(0x66, 0x6f))).toBe("Zm8=");
    expect(base64Encode(bytes(0x66, 0x6f, 0x6f))).toBe("Zm9v");
    expect(base64Encode(bytes(0xfb, 0xff, 0xfe))).toBe("+//+");
  });
  it("encodes large inputs", () => {
    const big = new Uint8Array(100_000).fill(0xff);
    const text = base64Encode(big);
    expect(text.length).toBe(133_336);
    expect(text.slice(0, 8)).toBe("////////");
    const back = base64Decode(text);
    expect(back?.byteLength).toBe(100_000);
    expect(back?.every((b) => b === 0xff)).toBe(true); // toEqual on 100k elements is slow
  });
  it("decodes canonical input", () => {
    expect(base64Decode("")).toEqual(bytes());
    expect(base64Decode("Zg==")).toEqual(bytes(0x66));
    expect(base64Decode("Zm8=")).toEqual(bytes(0x66, 0x6f));
    expect(base64Decode("+//+")).toEqual(bytes(0xfb, 0xff, 0xfe));
  });
  it.each([
    ["missing padding", "Zg"],
    ["short padding", "Zg="],
    ["wrong length", "Zm9vY"],
    ["too much padding", "Zm9v===="],
    ["padding in the middle", "Zg==Zg=="],
    ["url-safe alphabet", "-__-"],
    ["Tencent alphabet", "Zg__"],
    ["whitespace", "Zm9v\n"],
    ["inner space", "Zm 9v"],
    ["non-ASCII", "Zm9é"],
    ["non-zero padding bits", "Zh=="],
    ["non-zero padding bits, one pad", "Zm9="],
  ])("rejects %s", (_label, text) => {
    expect(base64Decode(text)).toBeNull();
  });
});

describe("ids", () => {
  it("randomHex gives exactly n lower-case hex characters", () => {
    for (const n of [0, 1, 7, 8, 32]) expect(randomHex(n)).toMatch(new RegExp(`^[0-9a-f]{${n}}$`));
    expect(() => randomHex(-1)).toThrow(RangeError);
    expect(() => randomHex(1.5)).toThrow(RangeError);
  });
  it("randomHex does not repeat", () => {
    const seen = new Set(Array.from({ length: 200 }, () => randomHex(16)));
    expect(seen.size).toBe(200);
  });
  it("generated ids have the original service's shapes", () => {
    expect(randomUserID()).toMatch(/^user_[0-9a-f]{8}_[0-9a-f]{4}$/);
    expect(randomRoomID()).toMatch(/^room_[0-9a-f]{8}_[0-9a-f]{4}$/);
    expect(randomStreamSuffix()).toMatch(/^[0-9a-f]{8}$/);
    expect(randomUserID()).not.toBe(randomUserID());
  });
});
