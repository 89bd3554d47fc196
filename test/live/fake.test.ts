// The local fake of the cloud live API (dev/fake-live-api.ts), called directly through handle().
import { describe, expect, it } from "vitest";
import {
  createFakeLiveApi,
  defaultFakeLiveApi,
  FAKE_DEFAULT_API_KEY,
  handle,
  MIX_INTERFACE,
  md5Hex,
  STATUS_INTERFACE,
} from "../../dev/fake-live-api";
import { DEMO_SECRETS } from "../../src/config";
import { md5Hex as webCryptoMd5Hex } from "../../src/util/crypto";

const NOW = 1_700_000_000;
const KEY = FAKE_DEFAULT_API_KEY;

function apiUrl(
  iface: string,
  extra: Record<string, string> = {},
  opts: { t?: number; key?: string; appid?: string } = {},
): string {
  const t = String(opts.t ?? NOW + 60);
  const q = new URLSearchParams({
    appid: opts.appid ?? "1250000001",
    interface: iface,
    t,
    sign: md5Hex((opts.key ?? KEY) + t),
    ...extra,
  });
  return `http://127.0.0.1:8788/common_access?${q}`;
}

const fixedClock = () => createFakeLiveApi({ now: () => NOW });

async function call(fake: { handle(r: Request): Promise<Response> }, url: string, init?: RequestInit) {
  const response = await fake.handle(new Request(url, init));
  return { status: response.status, type: response.headers.get("content-type"), text: await response.text() };
}

async function callJson(fake: { handle(r: Request): Promise<Response> }, url: string, init?: RequestInit) {
  const r = await call(fake, url, init);
  return { status: r.status, json: JSON.parse(r.text) as Record<string, unknown> };
}

const mixParams = {
  timestamp: 1_699_999_990,
  eventId: 1,
  interface: { interfaceName: "Mix_StreamV2", para: { app_id: 1250000001 } },
};
const post = (body: string): RequestInit => ({ method: "POST", body, headers: { "content-type": "application/json" } });

describe("md5Hex (plain TypeScript, also runs under Node)", () => {
  it("matches the contract's published check and the RFC 1321 vectors", () => {
    expect(md5Hex("40328529ca4381a80c6ecf2e6aa57438" + "1490858347")).toBe("7f29ed83c61b77de1b0d66936fd4fd44");
    expect(md5Hex("")).toBe("d41d8cd98f00b204e9800998ecf8427e");
    expect(md5Hex("abc")).toBe("900150983cd24fb0d6963f7d28e17f72");
    expect(md5Hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890")).toBe(
      "57edf4a22be3c955ac49da2e2107b67a",
    );
  });
  it("agrees with WebCrypto's MD5 across block boundaries and multi-byte text", async () => {
    for (const len of [1, 54, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000]) {
      const text = "aé中😀".repeat(len).slice(0, len);
      expect(md5Hex(text), `length ${len}`).toBe(await webCryptoMd5Hex(text));
    }
  });
});

describe("fake live API: signature", () => {
  it("signs with the demo LIVE_API_KEY by default", () => {
    expect(FAKE_DEFAULT_API_KEY).toBe(DEMO_SECRETS.LIVE_API_KEY);
  });

  it("accepts a correctly signed mix call and echoes the body's timestamp", async () => {
    const r = await callJson(fixedClock(), apiUrl(MIX_INTERFACE), post(JSON.stringify(mixParams)));
    expect(r).toEqual({ status: 200, json: { code: 0, message: "Success!", timestamp: 1_699_999_990 } });
  });

  it("answers the current time when the body has no timestamp", async () => {
    const r = await callJson(fixedClock(), apiUrl(MIX_INTERFACE), post("{}"));
    expect(r.json).toEqual({ code: 0, message: "Success!", timestamp: NOW });
  });

  it.each([
    ["a wrong key", apiUrl(MIX_INTERFACE, {}, { key: "0".repeat(32) }), "sign check failed"],
    ["an expired t", apiUrl(MIX_INTERFACE, {}, { t: NOW - 1 }), "sign expired"],
    ["t equal to now", apiUrl(MIX_INTERFACE, {}, { t: NOW }), "sign expired"],
    ["t in milliseconds", apiUrl(MIX_INTERFACE, {}, { t: (NOW + 60) * 1000 }), "ahead"],
    ["a non-numeric appid", apiUrl(MIX_INTERFACE, {}, { appid: "abc" }), "invalid appid"],
  ])("refuses %s with a non-zero code, in the mix answer's shape", async (_, url, message) => {
    const r = await callJson(fixedClock(), url, post("{}"));
    expect(r.status).toBe(200);
    expect(r.json.code).not.toBe(0);
    expect(String(r.json.message)).toContain(message);
    expect(r.json.timestamp).toBe(NOW);
  });

  it("refuses a tampered sign or a missing one", async () => {
    const fake = fixedClock();
    const tampered = apiUrl(MIX_INTERFACE).replace(/sign=[0-9a-f]/, "sign=x");
    expect((await callJson(fake, tampered, post("{}"))).json.code).toBe(-2);
    const unsigned = apiUrl(MIX_INTERFACE).replace(/&sign=[0-9a-f]+/, "");
    expect((await callJson(fake, unsigned, post("{}"))).json.code).toBe(-2);
  });

  it("answers signature failures of the channel interfaces in their own shape", async () => {
    const r = await callJson(
      fixedClock(),
      apiUrl(STATUS_INTERFACE, { "Param.s.channel_id": "8888_a" }, { key: "f".repeat(32) }),
    );
    expect(r.json).toEqual({ ret: -2, retcode: -2, errmsg: "sign check failed", message: "sign check failed" });
  });

  it("accepts any numeric appid by default, only the configured one when set", async () => {
    expect((await callJson(fixedClock(), apiUrl(MIX_INTERFACE, {}, { appid: "42" }), post("{}"))).json.code).toBe(0);
    const strict = createFakeLiveApi({ now: () => NOW, appId: "1250000001" });
    expect((await callJson(strict, apiUrl(MIX_INTERFACE), post("{}"))).json.code).toBe(0);
    const other = await callJson(strict, apiUrl(MIX_INTERFACE, {}, { appid: "42" }), post("{}"));
    expect(other.json).toMatchObject({ code: -1, message: "appid not found" });
  });

  it("checks against a configured key", async () => {
    const fake = createFakeLiveApi({ now: () => NOW, apiKey: "k".repeat(32) });
    expect((await callJson(fake, apiUrl(MIX_INTERFACE), post("{}"))).json.code).toBe(-2);
    expect((await callJson(fake, apiUrl(MIX_INTERFACE, {}, { key: "k".repeat(32) }), post("{}"))).json.code).toBe(0);
  });

  it("works on the real clock too (the shared instance behind handle)", async () => {
    const t = Math.floor(Date.now() / 1000) + 60;
    const r = await callJson({ handle }, apiUrl(MIX_INTERFACE, {}, { t }), post("{}"));
    expect(r.json.code).toBe(0);
  });
});

describe("fake live API: mixing", () => {
  it("requires POST and a JSON object body", async () => {
    const fake = fixedClock();
    expect((await callJson(fake, apiUrl(MIX_INTERFACE))).json).toMatchObject({ code: -4 });
    expect((await callJson(fake, apiUrl(MIX_INTERFACE), post("{nope"))).json).toMatchObject({
      code: -4,
      message: "body is not JSON",
    });
    expect((await callJson(fake, apiUrl(MIX_INTERFACE), post("[1]"))).json).toMatchObject({ code: -4 });
  });

  it("records what it was sent, byte for byte", async () => {
    const fake = fixedClock();
    const body = '{ "timestamp": 5,\n  "x": "中" }';
    await call(fake, apiUrl(MIX_INTERFACE), post(body));
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({ method: "POST", interface: MIX_INTERFACE, body, at: NOW });
    expect(fake.requests[0]?.query.appid).toBe("1250000001");
  });

  it("keeps only the last maxRecorded calls", async () => {
    const fake = createFakeLiveApi({ now: () => NOW, maxRecorded: 3 });
    for (let i = 0; i < 5; i++) await call(fake, apiUrl(MIX_INTERFACE), post(`{"i":${i}}`));
    expect(fake.requests.map((r) => r.body)).toEqual(['{"i":2}', '{"i":3}', '{"i":4}']);
  });

  it("names an interface it does not know", async () => {
    const r = await callJson(fixedClock(), apiUrl("Live_Tape_GetFilelist"));
    expect(r.json).toMatchObject({ ret: -5 });
  });
});

describe("fake live API: stream status and its controls", () => {
  const status = async (fake: { handle(r: Request): Promise<Response> }, stream: string) =>
    (await callJson(fake, apiUrl(STATUS_INTERFACE, { "Param.s.channel_id": stream }))).json;

  it("reports every stream live (status 1) by default, in the documented shape", async () => {
    expect(await status(fixedClock(), "8888_alice")).toEqual({
      ret: 0,
      retcode: 0,
      errmsg: "",
      message: "",
      output: [{ rate_type: 0, recv_type: 1, status: 1 }],
    });
  });

  it("stop and start flip a stream between status 0 and 1", async () => {
    const fake = fixedClock();
    const stop = await callJson(fake, "http://127.0.0.1:8788/fake/streams/8888_alice/stop", { method: "POST" });
    expect(stop.json).toEqual({ stream: "8888_alice", status: "stopped" });
    expect((await status(fake, "8888_alice")).output).toEqual([{ rate_type: 0, recv_type: 1, status: 0 }]);
    expect((await status(fake, "8888_bob")).output).toEqual([{ rate_type: 0, recv_type: 1, status: 1 }]);
    expect((await callJson(fake, "http://127.0.0.1:8788/fake/streams")).json).toEqual({ stopped: ["8888_alice"] });
    const start = await callJson(fake, "http://127.0.0.1:8788/fake/streams/8888_alice/start", { method: "POST" });
    expect(start.json).toEqual({ stream: "8888_alice", status: "live" });
    expect((await status(fake, "8888_alice")).output).toEqual([{ rate_type: 0, recv_type: 1, status: 1 }]);
  });

  it("requires Param.s.channel_id", async () => {
    expect((await callJson(fixedClock(), apiUrl(STATUS_INTERFACE))).json).toMatchObject({ ret: -4, retcode: -4 });
  });

  it("lists recorded calls and resets", async () => {
    const fake = fixedClock();
    await status(fake, "8888_carol");
    await call(fake, "http://127.0.0.1:8788/fake/streams/8888_carol/stop", { method: "POST" });
    await call(fake, "http://127.0.0.1:8788/fake/mode/err500", { method: "POST" });
    const seen = (await callJson(fake, "http://127.0.0.1:8788/fake/requests")).json.requests as Array<
      Record<string, unknown>
    >;
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: "GET", interface: STATUS_INTERFACE, body: "" });
    expect((await callJson(fake, "http://127.0.0.1:8788/fake/reset", { method: "POST" })).json).toEqual({ ok: true });
    expect(fake.requests).toEqual([]);
    expect([...fake.stopped]).toEqual([]);
    expect(fake.mode).toBe("ok");
  });

  it("answers health, and 404/400 JSON for unknown controls", async () => {
    const fake = fixedClock();
    expect((await callJson(fake, "http://127.0.0.1:8788/fake/health")).json).toMatchObject({ ok: true, mode: "ok" });
    expect((await callJson(fake, "http://127.0.0.1:8788/fake/nope")).status).toBe(404);
    expect((await callJson(fake, "http://127.0.0.1:8788/fake/streams/x/stop")).status).toBe(404); // GET is not a control
    expect((await callJson(fake, "http://127.0.0.1:8788/fake/mode/explode", { method: "POST" })).status).toBe(400);
  });

  it("the shared instance is the one behind handle()", async () => {
    const shared = defaultFakeLiveApi();
    await handle(new Request("http://127.0.0.1:8788/fake/streams/8888_dave/stop", { method: "POST" }));
    expect(shared.stopped.has("8888_dave")).toBe(true);
    shared.reset();
  });
});

describe("fake live API: faults and other paths", () => {
  it("mode err500 answers HTTP 500 HTML", async () => {
    const fake = fixedClock();
    fake.mode = "err500";
    const r = await call(fake, apiUrl(MIX_INTERFACE), post("{}"));
    expect(r.status).toBe(500);
    expect(r.type).toContain("text/html");
  });

  it("mode notjson answers HTTP 200 that is not JSON", async () => {
    const fake = fixedClock();
    fake.mode = "notjson";
    const r = await call(fake, apiUrl(MIX_INTERFACE), post("{}"));
    expect(r.status).toBe(200);
    expect(() => JSON.parse(r.text)).toThrow();
  });

  it("mode hang holds the call until hangMs, or until the caller aborts", async () => {
    const fake = createFakeLiveApi({ now: () => NOW, hangMs: 30 });
    fake.mode = "hang";
    expect((await callJson(fake, apiUrl(MIX_INTERFACE), post("{}"))).json.code).toBe(0);

    const patient = createFakeLiveApi({ now: () => NOW, hangMs: 60_000 });
    patient.mode = "hang";
    const controller = new AbortController();
    const started = Date.now();
    const pending = patient.handle(new Request(apiUrl(MIX_INTERFACE), { ...post("{}"), signal: controller.signal }));
    setTimeout(() => controller.abort(), 20);
    await pending;
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("answers 404 HTML off /common_access and 405 for other methods", async () => {
    const fake = fixedClock();
    expect((await call(fake, "http://127.0.0.1:8788/other")).status).toBe(404);
    expect((await call(fake, apiUrl(MIX_INTERFACE), { method: "PUT", body: "{}" })).status).toBe(405);
  });
});
