// Contract sections 1-4 through the router: routing and error shape, utils, login/logout, tokens.
import { exports } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { issueToken } from "../../src/auth/tokens";
import { verifyUserSig } from "../../src/auth/usersig";
import { DEMO_SECRETS, parseConfig } from "../../src/config";
import { md5Hex } from "../../src/util/crypto";
import { BASE, BIZID, Client, call, randomName, SDK_APP_ID, userSigFor } from "../helpers";

const GROUPS = ["live_room", "double_room", "multi_room"] as const;
const PREFIXES = ["", "/weapp"] as const;

async function signedOk(url: string): Promise<boolean> {
  const u = new URL(url);
  const stream = u.pathname.split("/").pop()!;
  const txTime = u.searchParams.get("txTime")!;
  const expected = await md5Hex(DEMO_SECRETS.LIVE_PUSH_KEY + stream + txTime);
  return u.searchParams.get("txSecret") === expected && Number.parseInt(txTime, 16) > Date.now() / 1000;
}

describe("routing and error shape", () => {
  it("unknown routes are 404 JSON with a request id", async () => {
    for (const path of ["multi_room/no_such_action", "nope/login", "weapp/utils/nothing", "live_room"]) {
      const [group, action = ""] = path.split(/\/(?=[^/]*$)/);
      const r = await call(group!, action, { body: {} });
      expect(r.status).toBe(404);
      expect(r.body).toMatchObject({ code: 404, message: expect.any(String) });
      expect(r.headers.get("x-request-id")).toMatch(/\S/);
    }
  });

  it("live_room-only actions do not exist in the other kinds", async () => {
    for (const kind of ["double_room", "multi_room"]) {
      for (const action of [
        "add_audience",
        "delete_audience",
        "get_audiences",
        "set_custom_field",
        "get_custom_info",
        "merge_stream",
      ]) {
        const r = await call(kind, action, { body: {} });
        expect(r.status, `${kind}/${action}`).toBe(404);
      }
    }
  });

  it("room actions answer POST only: 405 JSON with Allow", async () => {
    for (const prefix of PREFIXES) {
      for (const method of ["GET", "PUT", "DELETE"]) {
        const r = await call("multi_room", "create_room", { method, prefix });
        expect(r.status).toBe(405);
        expect(r.body.code).toBe(405);
        expect(r.headers.get("allow")).toContain("POST");
      }
    }
  });

  it("utils answer GET and POST but not PUT", async () => {
    for (const method of ["GET", "POST"]) {
      expect((await call("utils", "get_test_rtmpaccurl", { method })).body.code).toBe(0);
    }
    expect((await call("utils", "get_test_rtmpaccurl", { method: "PUT" })).status).toBe(405);
  });

  it("malformed bodies are 400 JSON, oversize 413 JSON, and change nothing", async () => {
    const a = await Client.login("multi_room");
    const cases: Array<[BodyInit, number]> = [
      ["{not json", 400],
      ["[1,2,3]", 400],
      ['"just a string"', 400],
      ["null", 400],
      [new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 400],
      ["[".repeat(60_000), 400],
      [`{"roomInfo":"${"x".repeat(2_000_000)}"}`, 413],
      [`{"roomInfo":"${"x".repeat(70_000)}"}`, 413],
    ];
    for (const [raw, status] of cases) {
      const r = await call("multi_room", "create_room", { query: a.query, raw });
      expect(r.status).toBe(status);
      expect(r.body.code).toBe(status);
      expect(typeof r.body.message).toBe("string");
    }
    const list = await a.do("get_room_list", { cnt: 100, index: 0 });
    expect(list.code).toBe(0);
  });

  it("an empty body is accepted as {}", async () => {
    const a = await Client.login("live_room");
    const r = await call("live_room", "get_push_url", { query: a.query, raw: "" });
    expect(r.body.code).toBe(0);
  });

  it("refuses non-loopback hosts in development (demo credentials never serve the internet)", async () => {
    const res = await exports.default.fetch("https://roomservice.example.com/utils/get_test_pushurl");
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 503 });
  });

  it("answers CORS only for configured origins", async () => {
    const res = await exports.default.fetch(`${BASE}/utils/get_test_pushurl`, {
      headers: { origin: "https://evil.test" },
    });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("utils", () => {
  it("get_login_info issues a userSig that verifies, for a given userID", async () => {
    for (const prefix of PREFIXES) {
      for (const method of ["GET", "POST"]) {
        const r = await call("utils", "get_login_info", { query: { userID: "alice" }, method, prefix });
        expect(r.body).toMatchObject({ code: 0, userID: "alice", sdkAppID: String(SDK_APP_ID), accType: "36862" });
        const check = await verifyUserSig({
          userSig: r.body.userSig,
          identifier: "alice",
          sdkAppId: SDK_APP_ID,
          secretKey: DEMO_SECRETS.TLS_SIG_SECRET_KEY,
        });
        expect(check.ok).toBe(true);
        // Valid for 30 days by default.
        if (check.ok) expect(check.expiresAt - Date.now() / 1000).toBeGreaterThan(29 * 86400);
      }
    }
  });

  it("get_login_info picks a random user_xxxxxxxx_xxxx when userID is empty or absent", async () => {
    const seen = new Set<string>();
    for (const query of [{}, { userID: "" }]) {
      const r = await call("utils", "get_login_info", { query, method: "GET" });
      expect(r.body.userID).toMatch(/^user_[0-9a-f]{8}_[0-9a-f]{4}$/);
      seen.add(r.body.userID);
      const check = await verifyUserSig({
        userSig: r.body.userSig,
        identifier: r.body.userID,
        sdkAppId: SDK_APP_ID,
        secretKey: DEMO_SECRETS.TLS_SIG_SECRET_KEY,
      });
      expect(check.ok).toBe(true);
    }
    expect(seen.size).toBe(2);
  });

  it("get_login_info rejects bad and duplicated userIDs with code 2", async () => {
    for (const url of [
      "userID=a%20b",
      "userID=../x",
      `userID=${"a".repeat(33)}`,
      "userID=a&userID=b",
      "userID=%E4%BD%A0",
    ]) {
      const res = await exports.default.fetch(`${BASE}/utils/get_login_info?${url}`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { code: number }).code, url).toBe(2);
    }
  });

  it("get_test_pushurl signs a random test stream for push and low-latency play", async () => {
    const r = await call("utils", "get_test_pushurl", { method: "GET" });
    expect(r.body.code).toBe(0);
    const { url_push, url_play_flv, url_play_rtmp, url_play_hls, url_play_acc } = r.body;
    const stream = new URL(url_push).pathname.split("/").pop()!;
    expect(stream).toMatch(new RegExp(`^${BIZID}_`));
    expect(url_push).toMatch(
      new RegExp(
        `^rtmp://push\\.example\\.test/live/${stream}\\?bizid=${BIZID}&txSecret=[0-9a-f]{32}&txTime=[0-9A-F]{8}$`,
      ),
    );
    expect(await signedOk(url_push)).toBe(true);
    expect(await signedOk(url_play_acc)).toBe(true);
    expect(url_play_flv).toBe(`http://play.example.test/live/${stream}.flv`);
    expect(url_play_rtmp).toBe(`rtmp://play.example.test/live/${stream}`);
    expect(url_play_hls).toBe(`http://play.example.test/live/${stream}.m3u8`);
    // Valid for URL_VALID_SECONDS (7 days by default).
    const txTime = Number.parseInt(new URL(url_push).searchParams.get("txTime")!, 16);
    expect(Math.abs(txTime - (Date.now() / 1000 + 7 * 86400))).toBeLessThan(60);
    const again = await call("utils", "get_test_pushurl");
    expect(again.body.url_push).not.toBe(url_push);
  });

  it("get_test_rtmpaccurl answers a signed rtmp play URL", async () => {
    const r = await call("utils", "get_test_rtmpaccurl", { method: "GET", prefix: "/weapp" });
    expect(r.body.url_rtmpacc).toMatch(/^rtmp:\/\/play\.example\.test\/live\//);
    expect(await signedOk(r.body.url_rtmpacc)).toBe(true);
  });
});

describe("login", () => {
  const login = async (query: Record<string, string | number | undefined>, group = "multi_room") =>
    (await call(group, "login", { query })).body;
  const good = async (user: string) => ({
    sdkAppID: SDK_APP_ID,
    accountType: "36862",
    userID: user,
    userSig: await userSigFor(user),
  });

  it("issues a token in every group under both prefixes", async () => {
    for (const group of GROUPS) {
      for (const prefix of PREFIXES) {
        const user = randomName();
        const r = await call(group, "login", { query: await good(user), prefix });
        expect(r.status).toBe(200);
        expect(r.body).toMatchObject({
          code: 0,
          userID: user,
          token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
        });
      }
    }
  });

  it("accepts sdkAppID as a string", async () => {
    const q = await good("alice");
    expect((await login({ ...q, sdkAppID: String(SDK_APP_ID) })).code).toBe(0);
  });

  it("rejects userSigs that do not verify with code 7", async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: Record<string, Record<string, string | number>> = {
      "wrong key": { ...(await good("al")), userSig: await userSigFor("al", { key: "x".repeat(64) }) },
      expired: { ...(await good("al")), userSig: await userSigFor("al", { expire: 10, now: now - 3600 }) },
      "another user's sig": { ...(await good("al")), userSig: await userSigFor("bo") },
      "sig for another app": { ...(await good("al")), userSig: await userSigFor("al", { appId: 1400000001 }) },
      "wrong sdkAppID": { ...(await good("al")), sdkAppID: 1400000001 },
    };
    for (const [name, query] of Object.entries(cases)) {
      const r = await login(query);
      expect(r.code, name).toBe(7);
      expect(r.token, name).toBeUndefined();
    }
  });

  it("rejects missing, undecodable and malformed login parameters with code 4", async () => {
    const q = await good("al");
    const cases: Record<string, Record<string, string | number | undefined>> = {
      "no userSig": { ...q, userSig: undefined },
      "no userID": { ...q, userID: undefined },
      "no sdkAppID": { ...q, sdkAppID: undefined },
      "no accountType": { ...q, accountType: undefined },
      "garbage sig": { ...q, userSig: "not*a*sig" },
      "bad base64": { ...q, userSig: "%%%%" },
      "non-numeric sdkAppID": { ...q, sdkAppID: "14e8" },
      "bad userID charset": { ...q, userID: "a l/../x" },
      "userID too long": { ...q, userID: "a".repeat(33) },
      "huge userSig": { ...q, userSig: "A".repeat(5000) },
    };
    for (const [name, query] of Object.entries(cases)) {
      expect((await login(query)).code, name).toBe(4);
    }
    const dup = await exports.default.fetch(
      `${BASE}/multi_room/login?sdkAppID=${SDK_APP_ID}&accountType=1&userID=al&userID=bo&userSig=${encodeURIComponent(q.userSig)}`,
      { method: "POST" },
    );
    expect(((await dup.json()) as { code: number }).code).toBe(4);
  });

  it("login is POST only", async () => {
    expect((await call("live_room", "login", { query: await good("al"), method: "GET" })).status).toBe(405);
  });
});

describe("sessions and tokens", () => {
  const pushUrl = (group: string, query: Record<string, string | undefined>, body: unknown = {}) =>
    call(group, "get_push_url", { query, body }).then((r) => r.body);

  it("get_push_url names the stream per kind", async () => {
    const live = await Client.login("live_room");
    const url = await live.pushUrl("ignored_room");
    expect(new URL(url).pathname).toBe(`/live/${BIZID}_${live.user}`);
    expect(await signedOk(url)).toBe(true);
    for (const kind of ["double_room", "multi_room"] as const) {
      const c = await Client.login(kind);
      expect(new URL(await c.pushUrl("r1")).pathname).toBe(`/live/${BIZID}_r1_${c.user}`);
      expect(new URL(await c.pushUrl()).pathname).toBe(`/live/${BIZID}_${c.user}`);
    }
  });

  it("get_push_url works under /weapp too", async () => {
    const c = await Client.login("double_room");
    const r = await call("double_room", "get_push_url", { query: c.query, prefix: "/weapp" });
    expect(r.body.code).toBe(0);
  });

  it("refuses missing, forged, foreign and cross-group tokens with code 7", async () => {
    const a = await Client.login("multi_room");
    const b = await Client.login("multi_room");
    const [head, payload, sig] = a.token.split(".");
    const flipped = sig!.slice(0, -2) + (sig!.endsWith("AA") ? "BB" : "AA");
    const cases: Record<string, Record<string, string | undefined>> = {
      "no token": { userID: a.user },
      "no userID": { token: a.token },
      "empty token": { userID: a.user, token: "" },
      forged: { userID: a.user, token: `${head}.${payload}.${flipped}` },
      garbage: { userID: a.user, token: "abc.def.ghi" },
      "token of another user": { userID: b.user, token: a.token },
      "huge token": { userID: a.user, token: "x".repeat(5000) },
    };
    for (const [name, query] of Object.entries(cases)) {
      expect((await pushUrl("multi_room", query)).code, name).toBe(7);
    }
    // A multi_room token is refused by live_room actions.
    expect((await pushUrl("live_room", a.query)).code).toBe(7);
  });

  it("refuses a body userID other than the token's", async () => {
    const a = await Client.login("multi_room");
    expect((await pushUrl("multi_room", a.query, { userID: "mallory" })).code).toBe(7);
    expect((await pushUrl("multi_room", a.query, { userID: a.user })).code).toBe(0);
  });

  it("refuses a userID query outside the charset with code 2", async () => {
    const a = await Client.login("multi_room");
    expect((await pushUrl("multi_room", { userID: "a/../b", token: a.token })).code).toBe(2);
  });

  it("refuses expired tokens, alg:none and tokens signed with another key", async () => {
    const user = randomName();
    const a = await Client.login("live_room", user);
    const config = parseConfig({ ENVIRONMENT: "development" });
    const past = Math.floor(Date.now() / 1000) - 2 * 86400;
    const expired = await issueToken(config, { user, kind: "live_room", sid: "x" }, past);
    expect((await pushUrl("live_room", { userID: user, token: expired.token })).code).toBe(7);

    const claims = JSON.parse(atob(a.token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
    const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    const none = `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`;
    expect((await pushUrl("live_room", { userID: user, token: none })).code).toBe(7);

    const otherKey = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode("another-key-another-key-another-key-0000"));
    expect((await pushUrl("live_room", { userID: user, token: otherKey })).code).toBe(7);
    // The genuine token still works: the failures above changed nothing.
    expect((await pushUrl("live_room", a.query)).code).toBe(0);
  });

  it("a new login replaces the old session; logout revokes; other groups are untouched", async () => {
    const user = randomName();
    const first = await Client.login("multi_room", user);
    const other = await Client.login("double_room", user);
    const second = await Client.login("multi_room", user);
    expect((await first.do("get_push_url")).code).toBe(7);
    expect((await second.do("get_push_url")).code).toBe(0);
    expect((await other.do("get_push_url")).code).toBe(0);
    // Logging out with the stale token neither succeeds nor revokes the newer session.
    expect((await first.do("logout")).code).toBe(7);
    expect((await second.do("get_push_url")).code).toBe(0);
    expect((await second.do("logout")).code).toBe(0);
    expect((await second.do("get_push_url")).code).toBe(7);
    expect((await second.do("logout")).code).toBe(7);
    expect((await other.do("get_push_url")).code).toBe(0);
    const third = await Client.login("multi_room", user);
    expect((await third.do("get_push_url")).code).toBe(0);
  });

  it("logout works under /weapp", async () => {
    const a = await Client.login("live_room");
    const r = await call("live_room", "logout", { query: a.query, prefix: "/weapp" });
    expect(r.body.code).toBe(0);
    expect((await a.do("get_push_url")).code).toBe(7);
  });
});
