import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config";
import {
  accPlayUrl,
  antiLeech,
  playUrls,
  pushUrl,
  STREAM_NAME,
  type StreamSigner,
  signerFromConfig,
  verifyPushUrl,
} from "../../src/live/urls";
import { md5Hex } from "../../src/util/crypto";

const KEY = "e12c46f2612d5106e2034781ab261ca3";
const NOW = 1700000000;
const WEEK = 7 * 86400;
const signer: StreamSigner = {
  bizid: "8888",
  pushHost: "push.example.test",
  playHost: "play.example.test",
  pushKey: KEY,
  validSeconds: WEEK,
};
// python3: "%X" % (1700000000 + 604800), hashlib.md5(KEY + "8888_alice" + txTime).hexdigest()
const ALICE_TXTIME = "655D2B80";
const ALICE_SECRET = "d3fc3c52da9552368c06c50a71aab0f0";
const ALICE_PUSH = `rtmp://push.example.test/live/8888_alice?bizid=8888&txSecret=${ALICE_SECRET}&txTime=${ALICE_TXTIME}`;

describe("antiLeech", () => {
  it("matches Tencent's published check", async () => {
    expect(await antiLeech(KEY, "test", 0x5c271099)).toEqual({
      txTime: "5C271099",
      txSecret: "f85a2ab363fe4deaffef9754d79da6fe",
    });
    expect(await md5Hex(`${KEY}test5C271099`)).toBe("f85a2ab363fe4deaffef9754d79da6fe");
  });
  it("writes txTime as upper-case hex, 8 digits", async () => {
    expect((await antiLeech(KEY, "s", 0xabcdef01)).txTime).toBe("ABCDEF01");
    expect((await antiLeech(KEY, "s", 0xff)).txTime).toBe("000000FF");
  });
  it("refuses a time that is not a 32-bit unix time", async () => {
    await expect(antiLeech(KEY, "s", 0x100000000)).rejects.toThrow(RangeError);
    await expect(antiLeech(KEY, "s", -1)).rejects.toThrow(RangeError);
    await expect(antiLeech(KEY, "s", 1.5)).rejects.toThrow(RangeError);
  });
});

describe("URL shapes", () => {
  it("push URL: rtmp push host, bizid, txSecret, txTime = now + validSeconds", async () => {
    expect(await pushUrl(signer, "8888_alice", NOW)).toBe(ALICE_PUSH);
  });
  it("acc play URL: the rtmp play URL signed the same way", async () => {
    expect(await accPlayUrl(signer, "8888_alice", NOW)).toBe(
      `rtmp://play.example.test/live/8888_alice?bizid=8888&txSecret=${ALICE_SECRET}&txTime=${ALICE_TXTIME}`,
    );
  });
  it("the signature verifies independently", async () => {
    const url = new URL(await pushUrl(signer, "8888_room_1_bob", NOW));
    const txTime = url.searchParams.get("txTime");
    expect(txTime).toBe((NOW + WEEK).toString(16).toUpperCase());
    expect(url.searchParams.get("txSecret")).toBe(await md5Hex(`${KEY}8888_room_1_bob${txTime}`));
  });
  it("play URLs: flv, rtmp, hls on the play host", () => {
    expect(playUrls(signer, "8888_alice")).toEqual({
      flv: "http://play.example.test/live/8888_alice.flv",
      rtmp: "rtmp://play.example.test/live/8888_alice",
      hls: "http://play.example.test/live/8888_alice.m3u8",
    });
  });
  it("defaults now to the current time", async () => {
    const before = Math.floor(Date.now() / 1000);
    const txTime = new URL(await pushUrl(signer, "s")).searchParams.get("txTime") ?? "";
    const expiresAt = Number.parseInt(txTime, 16);
    expect(expiresAt).toBeGreaterThanOrEqual(before + WEEK);
    expect(expiresAt).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + WEEK);
  });
  it("refuses to build a URL for an invalid stream name", async () => {
    await expect(pushUrl(signer, "a/b", NOW)).rejects.toThrow(RangeError);
    await expect(accPlayUrl(signer, "a?b", NOW)).rejects.toThrow(RangeError);
    expect(() => playUrls(signer, "")).toThrow(RangeError);
  });
  it("STREAM_NAME allows 1..200 of [A-Za-z0-9_-]", () => {
    expect(STREAM_NAME.test("8888_room-1_User_9")).toBe(true);
    expect(STREAM_NAME.test("a".repeat(200))).toBe(true);
    expect(STREAM_NAME.test("a".repeat(201))).toBe(false);
    expect(STREAM_NAME.test("")).toBe(false);
    expect(STREAM_NAME.test("a.b")).toBe(false);
    expect(STREAM_NAME.test("a b")).toBe(false);
  });
  it("signerFromConfig reads the configured values", () => {
    const config = parseConfig({
      LIVE_BIZID: "1234",
      LIVE_PUSH_HOST: "push.example.com",
      LIVE_PLAY_HOST: "play.example.com",
      LIVE_PUSH_KEY: "0123456789abcdef0123",
      URL_VALID_SECONDS: "3600",
    });
    expect(signerFromConfig(config)).toEqual({
      bizid: "1234",
      pushHost: "push.example.com",
      playHost: "play.example.com",
      pushKey: "0123456789abcdef0123",
      validSeconds: 3600,
    });
  });
});

describe("verifyPushUrl", () => {
  const expiresAt = NOW + WEEK;
  const rejects = async (url: string, detail: string, now = NOW) =>
    expect(await verifyPushUrl(signer, url, now)).toEqual({ ok: false, detail });

  it("accepts its own push URL, up to and including the expiry second", async () => {
    const url = await pushUrl(signer, "8888_alice", NOW);
    expect(await verifyPushUrl(signer, url, NOW)).toEqual({ ok: true, stream: "8888_alice", expiresAt });
    expect(await verifyPushUrl(signer, url, expiresAt)).toEqual({ ok: true, stream: "8888_alice", expiresAt });
  });
  it("accepts a lower-case txSecret and a txTime signed in lower case", async () => {
    const upper = ALICE_PUSH.replace(ALICE_SECRET, ALICE_SECRET.toUpperCase());
    expect(await verifyPushUrl(signer, upper, NOW)).toMatchObject({ ok: true });
    const lowerTime = ALICE_TXTIME.toLowerCase();
    const secret = await md5Hex(`${KEY}8888_alice${lowerTime}`);
    const url = `rtmp://push.example.test/live/8888_alice?bizid=8888&txSecret=${secret}&txTime=${lowerTime}`;
    expect(await verifyPushUrl(signer, url, NOW)).toEqual({ ok: true, stream: "8888_alice", expiresAt });
  });
  it("accepts the parameters in any order", async () => {
    const url = `rtmp://push.example.test/live/8888_alice?txTime=${ALICE_TXTIME}&bizid=8888&txSecret=${ALICE_SECRET}`;
    expect(await verifyPushUrl(signer, url, NOW)).toMatchObject({ ok: true });
  });

  it("rejects a tampered txSecret", async () => {
    const tampered = ALICE_PUSH.replace(ALICE_SECRET, `${ALICE_SECRET.slice(0, -1)}1`);
    await rejects(tampered, "txSecret does not match");
  });
  it("rejects the signature of another stream", async () => {
    await rejects(ALICE_PUSH.replace("8888_alice", "8888_bob"), "txSecret does not match");
  });
  it("rejects a moved txTime (the signature covers it)", async () => {
    await rejects(ALICE_PUSH.replace(ALICE_TXTIME, "755D2B80"), "txSecret does not match");
  });
  it("rejects another host", async () => {
    await rejects(ALICE_PUSH.replace("push.example.test", "evil.example.test"), "host is not the push host");
    await rejects(ALICE_PUSH.replace("push.example.test", "play.example.test"), "host is not the push host");
    await rejects(ALICE_PUSH.replace("push.example.test", "push.example.test:1935"), "host is not the push host");
    await rejects(ALICE_PUSH.replace("push.example.test", "push.example.test.evil"), "host is not the push host");
  });
  it("rejects another scheme", async () => {
    await rejects(ALICE_PUSH.replace("rtmp:", "http:"), "scheme is not rtmp");
    await rejects(ALICE_PUSH.replace("rtmp:", "rtmps:"), "scheme is not rtmp");
  });
  it("rejects an expired URL", async () => {
    await rejects(ALICE_PUSH, "expired", expiresAt + 1);
  });
  it("rejects a URL signed with another key", async () => {
    const other = await pushUrl({ ...signer, pushKey: "ffffffffffffffffffffffffffffffff" }, "8888_alice", NOW);
    await rejects(other, "txSecret does not match");
  });
  it("rejects another bizid", async () => {
    await rejects(ALICE_PUSH.replace("bizid=8888", "bizid=9999"), "bizid does not match");
  });
  it("rejects duplicated parameters", async () => {
    await rejects(`${ALICE_PUSH}&bizid=8888`, "duplicated parameter bizid");
    await rejects(`${ALICE_PUSH}&txSecret=${ALICE_SECRET}`, "duplicated parameter txSecret");
    await rejects(`${ALICE_PUSH}&txTime=FFFFFFFF`, "duplicated parameter txTime");
  });
  it("rejects missing parameters", async () => {
    await rejects(ALICE_PUSH.replace("bizid=8888&", ""), "missing parameter bizid");
    await rejects(ALICE_PUSH.replace(`txSecret=${ALICE_SECRET}&`, ""), "missing parameter txSecret");
    await rejects(ALICE_PUSH.replace(`&txTime=${ALICE_TXTIME}`, ""), "missing parameter txTime");
    await rejects("rtmp://push.example.test/live/8888_alice", "not in canonical form");
  });
  it("rejects unknown or percent-encoded parameters", async () => {
    await rejects(`${ALICE_PUSH}&record=mp4`, "unexpected query parameter");
    await rejects(ALICE_PUSH.replace("txSecret", "tx%53ecret"), "unexpected query parameter");
    await rejects(`${ALICE_PUSH}&`, "unexpected query parameter");
  });
  it("rejects malformed parameter values", async () => {
    await rejects(ALICE_PUSH.replace(ALICE_TXTIME, "655D2B8"), "txTime is not 8 hex characters");
    await rejects(ALICE_PUSH.replace(ALICE_TXTIME, "0655D2B80"), "txTime is not 8 hex characters");
    await rejects(ALICE_PUSH.replace(ALICE_TXTIME, "655D2B8G"), "txTime is not 8 hex characters");
    await rejects(ALICE_PUSH.replace(ALICE_SECRET, ALICE_SECRET.slice(1)), "txSecret is not 32 hex characters");
    await rejects(ALICE_PUSH.replace(ALICE_SECRET, `${ALICE_SECRET.slice(1)}z`), "txSecret is not 32 hex characters");
  });
  it("rejects an overlong URL before parsing", async () => {
    await rejects(`${ALICE_PUSH}&${"x".repeat(1024)}`, "longer than 1024 characters");
  });
  it("rejects other paths and stream names", async () => {
    await rejects(ALICE_PUSH.replace("/live/", "/app/"), "path is not /live/{stream}");
    await rejects(ALICE_PUSH.replace("/live/", "/live/x/"), "path is not /live/{stream}");
    await rejects(ALICE_PUSH.replace("8888_alice", "8888.alice"), "stream name is invalid");
    await rejects(ALICE_PUSH.replace("8888_alice", "8888%5Falice"), "stream name is invalid");
    await rejects(ALICE_PUSH.replace("/live/8888_alice", "/live/x/../8888_alice"), "not in canonical form");
    await rejects(ALICE_PUSH.replace("rtmp://", "RTMP://"), "not in canonical form");
  });
  it("rejects credentials, fragments, whitespace and garbage", async () => {
    await rejects(ALICE_PUSH.replace("rtmp://", "rtmp://user:pw@"), "carries credentials");
    await rejects(`${ALICE_PUSH}#x`, "has a fragment");
    await rejects(`${ALICE_PUSH}#`, "has a fragment");
    await rejects(` ${ALICE_PUSH}`, "contains whitespace, control or non-ASCII characters");
    await rejects(
      ALICE_PUSH.replace("8888_alice", "8888_al\tice"),
      "contains whitespace, control or non-ASCII characters",
    );
    await rejects(
      ALICE_PUSH.replace("8888_alice", "8888_alicé"),
      "contains whitespace, control or non-ASCII characters",
    );
    await rejects("", "contains whitespace, control or non-ASCII characters");
    await rejects("not-a-url", "not a URL");
    await rejects("rtmp://", "host is not the push host");
    await rejects("%%%", "not a URL");
  });
  it("never echoes the key or the expected secret in a detail", async () => {
    const result = await verifyPushUrl(signer, ALICE_PUSH.replace("8888_alice", "8888_bob"), NOW);
    expect(result.ok).toBe(false);
    const detail = result.ok ? "" : result.detail;
    expect(detail).not.toContain(KEY);
    expect(detail).not.toContain("448d39100fe6f73d1da3a18d1e7a2750"); // python: md5(KEY + "8888_bob" + txTime)
  });
});
