// What the service shows to whom: the refusal to serve with demo or missing secrets, CORS for configured
// origins only, configuration errors that name variables but never values, and logs that never carry a
// token, a userSig, a signature or a key.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createFakeLiveApi, fetchVia } from "../../dev/fake-live-api";
import { forgetCachedSessions } from "../../src/auth/sessions";
import { DEMO_SECRETS } from "../../src/config";
import { DEPLOY_SECRETS, DEPLOY_VARS } from "../helpers";
import { captureLogs, randomName, routerWith, SDK_APP_ID, Session, send, unlimited, userSigFor } from "./support";

afterEach(() => {
  vi.restoreAllMocks();
});

const PUBLIC = "https://rooms.example.com";
const EVERY_ROUTE = [
  ["GET", "/utils/get_login_info?userID=alice"],
  ["GET", "/weapp/utils/get_test_pushurl"],
  ["POST", "/live_room/login?sdkAppID=1&accountType=1&userID=a&userSig=x"],
  ["POST", "/multi_room/get_room_list?userID=a&token=t"],
  ["POST", "/double_room/no_such_action"],
  ["GET", "/openapi.json"],
] as const;

describe("refusal to serve with missing or demo secrets", () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      "production, nothing set",
      { ENVIRONMENT: "production" },
      /TLS_SIG_SECRET_KEY, TOKEN_SIGNING_KEY, LIVE_PUSH_KEY, LIVE_API_KEY/,
    ],
    ["staging, nothing set", { ENVIRONMENT: "staging" }, /TOKEN_SIGNING_KEY/],
    ["ENVIRONMENT unset means production", { ENVIRONMENT: undefined }, /TOKEN_SIGNING_KEY/],
    [
      "one demo secret among real ones",
      { ENVIRONMENT: "production", ...DEPLOY_SECRETS, ...DEPLOY_VARS, LIVE_API_KEY: DEMO_SECRETS.LIVE_API_KEY },
      /: LIVE_API_KEY$/,
    ],
    [
      "a demo token key",
      { ENVIRONMENT: "staging", ...DEPLOY_SECRETS, ...DEPLOY_VARS, TOKEN_SIGNING_KEY: DEMO_SECRETS.TOKEN_SIGNING_KEY },
      /: TOKEN_SIGNING_KEY$/,
    ],
    [
      "real secrets on the demo app identity",
      { ENVIRONMENT: "production", ...DEPLOY_SECRETS },
      /vars not set: SDK_APP_ID/,
    ],
  ];

  it.each(cases)(
    "%s: every route answers 503 JSON naming what is missing, on any host",
    async (_name, vars, reason) => {
      const refusing = routerWith(vars);
      const kvRead = vi.spyOn(env.SESSIONS, "get");
      for (const host of [PUBLIC, "http://localhost", "http://127.0.0.1:8787"]) {
        for (const [method, path] of EVERY_ROUTE) {
          const res = await refusing(
            new Request(`${host}${path}`, { method, body: method === "POST" ? "{}" : undefined }),
          );
          const text = await res.text();
          expect(res.status, `${host}${path}`).toBe(503);
          const body = JSON.parse(text);
          expect(body.code).toBe(503);
          expect(body.message).toMatch(reason);
          for (const value of [...Object.values(DEPLOY_SECRETS), ...Object.values(DEMO_SECRETS)])
            expect(text).not.toContain(value);
        }
      }
      expect(kvRead).not.toHaveBeenCalled(); // refused before any work
    },
  );

  it("a deployment with real secrets and its own app serves a public host, and its answers use its own keys", async () => {
    const deployed = routerWith({
      ENVIRONMENT: "production",
      ...DEPLOY_SECRETS,
      ...DEPLOY_VARS,
      AUTH_LIMITER: undefined,
    });
    const info = await send(deployed, {
      group: "utils",
      action: "get_login_info",
      method: "GET",
      host: PUBLIC,
      query: { userID: "alice" },
    });
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ code: 0, sdkAppID: DEPLOY_VARS.SDK_APP_ID });
    // Its userSig is not one the demo key would accept, and a demo userSig is not accepted there.
    const demoSig = await userSigFor("alice", { appId: Number(DEPLOY_VARS.SDK_APP_ID) });
    const login = (userSig: string) =>
      send(deployed, {
        group: "live_room",
        action: "login",
        host: PUBLIC,
        query: { sdkAppID: DEPLOY_VARS.SDK_APP_ID, accountType: "1", userID: "alice", userSig },
      });
    expect((await login(demoSig)).body.code).toBe(7);
    expect((await login(info.body.userSig)).body.code).toBe(0);
  });

  it("development refuses every host that is not loopback", async () => {
    const dev = unlimited();
    for (const host of [
      "https://rooms.example.com",
      "http://localhost.evil.test",
      "http://127.0.0.1.nip.io",
      "http://0.0.0.0",
      "http://[::ffff:7f00:1]",
      "http://10.0.0.1",
    ]) {
      const r = await send(dev, { group: "utils", action: "get_test_pushurl", method: "GET", host });
      expect(r.status, host).toBe(503);
      expect(r.body.message).toMatch(/loopback/);
    }
    for (const host of ["http://localhost", "http://127.0.0.1:8787", "http://[::1]:8787", "http://app.localhost"]) {
      expect((await send(dev, { group: "utils", action: "get_test_pushurl", method: "GET", host })).status, host).toBe(
        200,
      );
    }
  });

  it("a bad configuration answers 500 naming the variable, never its value", async () => {
    const { result: r, lines } = await captureLogs(() =>
      send(routerWith({ TOKEN_SIGNING_KEY: "short-but-secret-value", HEARTBEAT_TIMEOUT_S: "soon" }), {
        group: "utils",
        action: "get_test_pushurl",
        method: "GET",
      }),
    );
    expect(r.status).toBe(500);
    expect(r.body.message).toMatch(/TOKEN_SIGNING_KEY/);
    expect(r.body.message).toMatch(/HEARTBEAT_TIMEOUT_S/);
    expect(r.text).not.toContain("short-but-secret-value");
    expect(lines.join("\n")).not.toContain("short-but-secret-value");
  });
});

describe("CORS", () => {
  const ALLOWED = ["https://app.example.test", "https://admin.example.test:8443"];
  const cors = routerWith({ CORS_ORIGINS: ` ${ALLOWED.join(" , ")} ` });
  const preflight = (fetcher: typeof cors, origin: string) =>
    fetcher(
      new Request("http://localhost/live_room/get_room_list", {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      }),
    );
  const simple = (fetcher: typeof cors, origin: string) =>
    fetcher(new Request("http://localhost/utils/get_test_rtmpaccurl", { headers: { origin } }));

  it("answers configured origins exactly, with Vary: Origin and no credentials", async () => {
    for (const origin of ALLOWED) {
      const pre = await preflight(cors, origin);
      expect(pre.status).toBe(204);
      expect(pre.headers.get("access-control-allow-origin")).toBe(origin);
      expect(pre.headers.get("access-control-allow-methods")).toBe("GET,POST,OPTIONS");
      expect(pre.headers.get("access-control-allow-headers")).toBe("content-type");
      expect(pre.headers.get("access-control-allow-credentials")).toBeNull();
      const res = await simple(cors, origin);
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      expect(res.headers.get("vary")).toMatch(/origin/i);
      expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    }
  });

  it("answers no other origin, however close", async () => {
    const others = [
      "https://evil.test",
      "null",
      "*",
      "https://app.example.test.evil.test",
      "https://evilapp.example.test",
      "https://app.example.test/",
      "https://APP.EXAMPLE.TEST",
      "http://app.example.test",
      "https://app.example.test:443x",
      "https://admin.example.test",
      "https://app.example.test, https://evil.test",
      "",
    ];
    for (const origin of others) {
      for (const res of [await preflight(cors, origin), await simple(cors, origin)]) {
        expect(res.headers.get("access-control-allow-origin"), JSON.stringify(origin)).toBeNull();
        expect(res.headers.get("access-control-allow-credentials")).toBeNull();
      }
    }
    // And with no CORS_ORIGINS configured, not even the origins above are answered.
    for (const origin of ALLOWED) {
      expect((await preflight(unlimited(), origin)).headers.get("access-control-allow-origin")).toBeNull();
      expect((await simple(unlimited(), origin)).headers.get("access-control-allow-origin")).toBeNull();
    }
  });
});

describe("logging policy", () => {
  it("no log line carries a token, a userSig, a URL signature, a query string or a key", async () => {
    const router = unlimited();
    const fake = createFakeLiveApi();
    const secrets: string[] = Object.values(DEMO_SECRETS);
    const { lines } = await captureLogs(async () => {
      const user = randomName();
      const userSig = await userSigFor(user);
      secrets.push(userSig);
      const info = await send(router, {
        group: "utils",
        action: "get_login_info",
        method: "GET",
        query: { userID: user },
      });
      secrets.push(info.body.userSig);
      const login = await send(router, {
        group: "live_room",
        action: "login",
        query: { sdkAppID: SDK_APP_ID, accountType: "1", userID: user, userSig },
      });
      const token: string = login.body.token;
      secrets.push(token, ...token.split("."));
      const a = new Session(router, "live_room", user, token);
      const roomID = randomName("log");
      const pushURL = await a.pushUrl(roomID);
      secrets.push(new URL(pushURL).searchParams.get("txSecret")!);
      await a.join(roomID);
      // Failures of every kind, each with the credentials in the query string.
      await send(router, {
        group: "live_room",
        action: "login",
        query: { sdkAppID: SDK_APP_ID, accountType: "1", userID: user, userSig: `${userSig}x` },
      });
      await send(router, {
        group: "live_room",
        action: "login",
        query: { sdkAppID: SDK_APP_ID + 1, accountType: "1", userID: user, userSig },
      });
      await send(router, { group: "live_room", action: "get_pushers", query: { userID: "other", token } });
      await send(router, { group: "live_room", action: "get_pushers", query: { userID: user, token: `${token}x` } });
      await send(router, { group: "live_room", action: "get_pushers", query: a.query, raw: "{" });
      await send(router, { group: "live_room", action: "get_pushers", query: a.query, raw: "x".repeat(70_000) });
      await send(router, { group: "live_room", action: "nope", query: a.query });
      await send(router, { group: "live_room", action: "get_pushers", query: a.query, method: "GET" });
      // Upstream failures, with the signed API URL in the error.
      const fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
        const url = String(input instanceof Request ? input.url : input);
        secrets.push(new URL(url).searchParams.get("sign")!);
        throw new TypeError(`Network connection lost while fetching ${url}`);
      });
      await send(router, {
        group: "live_room",
        action: "merge_stream",
        query: a.query,
        body: { roomID, mergeParams: {} },
      });
      fetchSpy.mockImplementation(fetchVia(fake));
      await send(router, {
        group: "live_room",
        action: "merge_stream",
        query: a.query,
        body: { roomID, mergeParams: {} },
      });
      // The session store down, and a fault inside a room object.
      forgetCachedSessions();
      const kv = vi.spyOn(env.SESSIONS, "get").mockRejectedValue(new Error("KV GET failed: 503 Service Unavailable"));
      await send(router, { group: "live_room", action: "get_pushers", query: a.query, body: { roomID } });
      kv.mockRestore();
      const broken = routerWith({
        ROOM: { getByName: () => new Proxy({}, { get: () => () => Promise.reject(new Error("room fault")) }) },
      });
      await send(broken, { group: "live_room", action: "get_pushers", query: a.query, body: { roomID } });
      await send(router, { group: "live_room", action: "logout", query: a.query });
    });
    expect(lines.length).toBeGreaterThan(15);
    const leaks = lines.filter((line) => secrets.some((s) => s && s.length >= 16 && line.includes(s)));
    expect(leaks).toEqual([]);
    for (const line of lines) expect(line).not.toMatch(/[?&](token|userSig|txSecret|sign)=/);
  });
});
