// Configuration parsing and the refusal to serve insecurely (contract section 7).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ConfigError, configFor, DEMO_SECRETS, parseConfig, refusalReason } from "../../src/config";
import { DEPLOY_SECRETS, DEPLOY_VARS } from "../helpers";

describe("parseConfig", () => {
  it("applies the contract's defaults", () => {
    const c = parseConfig({});
    expect(c).toMatchObject({
      ENVIRONMENT: "production",
      LIVE_API_URL: "http://fcgi.video.qcloud.com/common_access",
      URL_VALID_SECONDS: 604800,
      USERSIG_TTL_SECONDS: 2592000,
      HEARTBEAT_TIMEOUT_S: 20,
      ROOM_IDLE_TIMEOUT_S: 30,
      MAX_PUSHERS_LIVE: 4,
      MAX_PUSHERS_DOUBLE: 2,
      MAX_PUSHERS_MULTI: 4,
      MAX_AUDIENCES: 30,
      ROOM_LIST_MAX_CNT: 100,
      CREATOR_LEAVE_DESTROYS: false,
      CORS_ORIGINS: [],
    });
    expect(c.insecureSecrets.sort()).toEqual(Object.keys(DEMO_SECRETS).sort());
  });

  it("parses strings as wrangler passes them, and JSON values", () => {
    const c = parseConfig({
      HEARTBEAT_TIMEOUT_S: "3",
      MAX_AUDIENCES: 7,
      CREATOR_LEAVE_DESTROYS: "true",
      CORS_ORIGINS: "https://a.test, https://b.test",
    });
    expect(c.HEARTBEAT_TIMEOUT_S).toBe(3);
    expect(c.MAX_AUDIENCES).toBe(7);
    expect(c.CREATOR_LEAVE_DESTROYS).toBe(true);
    expect(c.CORS_ORIGINS).toEqual(["https://a.test", "https://b.test"]);
  });

  it("treats an empty string as unset", () => {
    expect(parseConfig({ HEARTBEAT_TIMEOUT_S: "" }).HEARTBEAT_TIMEOUT_S).toBe(20);
  });

  it.each([
    ["HEARTBEAT_TIMEOUT_S", "soon"],
    ["HEARTBEAT_TIMEOUT_S", "0"],
    ["MAX_PUSHERS_DOUBLE", "1.5"],
    ["SDK_APP_ID", "abc"],
    ["LIVE_API_URL", "not a url"],
    ["LIVE_PUSH_HOST", "rtmp://x/y"],
    ["CREATOR_LEAVE_DESTROYS", "maybe"],
    ["ENVIRONMENT", "prod"],
    ["TOKEN_SIGNING_KEY", "short"],
    ["LIVE_PUSH_KEY", "short"],
  ])("rejects %s=%s naming the variable", (name, value) => {
    expect(() => parseConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => parseConfig({ [name]: value })).toThrow(name);
  });

  it("never puts a secret's value in the error", () => {
    try {
      parseConfig({ TOKEN_SIGNING_KEY: "tooshort-secret" });
      expect.unreachable();
    } catch (err) {
      expect(String(err)).not.toContain("tooshort-secret");
    }
  });
});

describe("refusalReason", () => {
  it("development serves loopback hosts only", () => {
    const dev = parseConfig({ ENVIRONMENT: "development" });
    for (const h of ["localhost", "127.0.0.1", "127.8.9.10", "[::1]", "api.localhost"])
      expect(refusalReason(dev, h)).toBeNull();
    for (const h of ["example.com", "10.0.0.1", "localhost.evil.test"])
      expect(refusalReason(dev, h)).toMatch(/loopback/);
  });

  it("a deployment with missing or demo secrets refuses to serve, naming them", () => {
    expect(refusalReason(parseConfig({ ENVIRONMENT: "production" }), "api.example.com")).toMatch(/TOKEN_SIGNING_KEY/);
    const demoPush = parseConfig({
      ENVIRONMENT: "staging",
      ...DEPLOY_SECRETS,
      LIVE_PUSH_KEY: DEMO_SECRETS.LIVE_PUSH_KEY,
    });
    expect(refusalReason(demoPush, "api.example.com")).toBe("secrets missing or set to demo values: LIVE_PUSH_KEY");
    expect(refusalReason(parseConfig({ ENVIRONMENT: "production", ...DEPLOY_SECRETS }), "api.example.com")).toBe(
      "vars not set: SDK_APP_ID, ACCOUNT_TYPE, LIVE_APP_ID, LIVE_BIZID, LIVE_PUSH_HOST, LIVE_PLAY_HOST",
    );
    expect(
      refusalReason(parseConfig({ ENVIRONMENT: "production", ...DEPLOY_SECRETS, ...DEPLOY_VARS }), "api.example.com"),
    ).toBeNull();
  });
});

describe("configFor", () => {
  it("parses once per env object and repeats a failure", () => {
    expect(configFor(env)).toBe(configFor(env));
    const bad = { HEARTBEAT_TIMEOUT_S: "x" };
    expect(() => configFor(bad)).toThrow(/HEARTBEAT_TIMEOUT_S/);
    expect(() => configFor(bad)).toThrow(/HEARTBEAT_TIMEOUT_S/);
  });
});

describe("UTILS_ENABLED", () => {
  it("turns the utils group (the demo kit) into 404s when false", async () => {
    const { createApp } = await import("../../src/app");
    const app = createApp();
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const off = { ...env, UTILS_ENABLED: "false" };
    const res = await app.fetch(new Request("http://localhost/utils/get_login_info?userID=a"), off, ctx);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 404 });
    for (const path of ["/utils/get_test_rtmpaccurl", "/weapp/utils/get_test_pushurl"]) {
      expect((await app.fetch(new Request(`http://localhost${path}`), off, ctx)).status).toBe(404);
    }
    const on = await app.fetch(new Request("http://localhost/utils/get_login_info?userID=a"), env, ctx);
    expect(((await on.json()) as { code: number }).code).toBe(0);
  });
});
