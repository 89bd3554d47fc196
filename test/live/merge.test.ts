// merge_stream's upstream half (src/live/merge.ts): parameter checks, passthrough, answer, code 6.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createFakeLiveApi, fetchVia } from "../../dev/fake-live-api";
import type { LiveApiOptions } from "../../src/live/api";
import {
  MAX_MERGE_PARAMS_BYTES,
  MIX_INTERFACE,
  mergeResultOf,
  mergeStream,
  normalizeMergeParams,
} from "../../src/live/merge";
import { DefaultMessage } from "../../src/protocol/codes";

const NOW = 1_700_000_000;
const KEY = "40328529ca4381a80c6ecf2e6aa57438";

const params = {
  timestamp: 1_699_999_999,
  eventId: 1_699_999_999,
  interface: {
    interfaceName: "Mix_StreamV2",
    para: {
      app_id: 1250000001,
      interface: MIX_INTERFACE,
      mix_stream_session_id: "8888_alice",
      output_stream_id: "8888_alice",
      input_stream_list: [
        { input_stream_id: "8888_alice", layout_params: { image_layer: 1 } },
        {
          input_stream_id: "8888_bob",
          layout_params: { image_layer: 2, image_width: 160, image_height: 240, location_x: 380, location_y: 630 },
        },
      ],
    },
  },
};

function options(fetchImpl: typeof fetch, timeoutMs = 100): LiveApiOptions {
  return {
    url: "http://127.0.0.1:8788/common_access",
    appId: "1250000001",
    apiKey: KEY,
    timeoutMs,
    fetch: fetchImpl,
    now: () => NOW,
  };
}

function viaFake(fakeOptions: Parameters<typeof createFakeLiveApi>[0] = {}) {
  const fake = createFakeLiveApi({ now: () => NOW, ...fakeOptions });
  return { fake, fetchImpl: fetchVia(fake) };
}

// Upstream failures are logged as one JSON line each: keep them out of the test output, and check them.
let warnings: string[] = [];
beforeEach(() => {
  warnings = [];
  vi.spyOn(console, "warn").mockImplementation((...args: unknown[]) => {
    warnings.push(args.map(String).join(" "));
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

const answering = (make: () => Response) => (async () => make()) as unknown as typeof fetch;

describe("normalizeMergeParams", () => {
  it("keeps a JSON string byte for byte", () => {
    const text = '{ "timestamp" : 1,\n\t"interface": {"interfaceName":"Mix_StreamV2", "para": {"k": "中文 \\u00e9"}} }';
    expect(normalizeMergeParams(text)).toEqual({ ok: true, body: text });
    expect(normalizeMergeParams("[1,2]")).toEqual({ ok: true, body: "[1,2]" });
    expect(normalizeMergeParams("{}")).toEqual({ ok: true, body: "{}" });
  });

  it("serialises an object or array", () => {
    expect(normalizeMergeParams(params)).toEqual({ ok: true, body: JSON.stringify(params) });
    expect(normalizeMergeParams([{ a: 1 }])).toEqual({ ok: true, body: '[{"a":1}]' });
  });

  it.each([
    ["invalid JSON", "{nope"],
    ["a JSON string", '"text"'],
    ["a JSON number", "42"],
    ["JSON null", "null"],
    ["an empty string", ""],
    ["a number", 42],
    ["a boolean", true],
    ["null", null],
    ["undefined", undefined],
  ])("refuses %s, naming mergeParams", (_, input) => {
    const result = normalizeMergeParams(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.detail).toContain("mergeParams");
  });

  it("refuses an object that cannot be serialised", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(normalizeMergeParams(cyclic).ok).toBe(false);
    expect(normalizeMergeParams({ n: 1n }).ok).toBe(false);
  });

  it("accepts exactly 16 KiB and refuses one byte more, as a string or as an object", () => {
    const pad = (bytes: number) => `{"p":"${"x".repeat(bytes - 8)}"}`;
    expect(pad(MAX_MERGE_PARAMS_BYTES)).toHaveLength(MAX_MERGE_PARAMS_BYTES);
    expect(normalizeMergeParams(pad(MAX_MERGE_PARAMS_BYTES)).ok).toBe(true);
    expect(normalizeMergeParams(pad(MAX_MERGE_PARAMS_BYTES + 1))).toEqual({
      ok: false,
      detail: `mergeParams is larger than ${MAX_MERGE_PARAMS_BYTES} bytes`,
    });
    expect(normalizeMergeParams({ p: "x".repeat(MAX_MERGE_PARAMS_BYTES - 8) }).ok).toBe(true);
    expect(normalizeMergeParams({ p: "x".repeat(MAX_MERGE_PARAMS_BYTES - 7) }).ok).toBe(false);
  });

  it("counts UTF-8 bytes, not characters", () => {
    const chars = 6_000; // 6,000 × 3 bytes = 18,000 bytes in under 16,384 characters
    const text = `{"p":"${"中".repeat(chars)}"}`;
    expect(text.length).toBeLessThan(MAX_MERGE_PARAMS_BYTES);
    expect(normalizeMergeParams(text).ok).toBe(false);
    expect(normalizeMergeParams({ p: "中".repeat(chars) }).ok).toBe(false);
  });

  it("refuses a huge string without trouble", () => {
    expect(normalizeMergeParams(`[${"1,".repeat(5_000_000)}1]`).ok).toBe(false);
  });
});

describe("mergeStream against the fake live API", () => {
  it("POSTs the client's text unchanged to the signed mix URL and answers the upstream's result", async () => {
    const { fake, fetchImpl } = viaFake();
    const text = JSON.stringify(params, null, 2);
    const normalized = normalizeMergeParams(text);
    if (!normalized.ok) throw new Error(normalized.detail);
    const answer = await mergeStream(options(fetchImpl), normalized.body);
    expect(answer).toEqual({
      code: 0,
      message: DefaultMessage[0],
      result: { code: 0, message: "Success!", timestamp: 1_699_999_999 },
    });
    expect(fake.requests).toHaveLength(1);
    const seen = fake.requests[0];
    expect(seen?.method).toBe("POST");
    expect(seen?.body).toBe(text);
    expect(seen?.query).toEqual({
      appid: "1250000001",
      interface: MIX_INTERFACE,
      t: String(NOW + 60),
      sign: seen?.query.sign,
    });
    expect(seen?.query.sign).toMatch(/^[0-9a-f]{32}$/);
  });

  it("passes a refusal by the cloud through as result.code, not as code 6", async () => {
    const { fetchImpl } = viaFake({ apiKey: "another-key-entirely-000000000000" });
    const answer = await mergeStream(options(fetchImpl), JSON.stringify(params));
    expect(answer).toEqual({
      code: 0,
      message: DefaultMessage[0],
      result: { code: -2, message: "sign check failed", timestamp: NOW },
    });
  });

  it.each([
    ["HTTP 500", "err500"],
    ["a body that is not JSON", "notjson"],
  ] as const)("answers code 6 for %s", async (_, mode) => {
    const { fake, fetchImpl } = viaFake();
    fake.mode = mode;
    const answer = await mergeStream(options(fetchImpl), JSON.stringify(params));
    expect(answer.code).toBe(6);
    expect(answer.message).toContain(DefaultMessage[6]);
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0] ?? "")).toMatchObject({ event: "live_api_failed", interface: MIX_INTERFACE });
    expect(warnings[0]).not.toContain("sign");
    expect(warnings[0]).not.toContain(KEY);
  });

  it("answers code 6 quickly when the upstream hangs", async () => {
    const { fake, fetchImpl } = viaFake({ hangMs: 60_000 });
    fake.mode = "hang";
    const started = Date.now();
    const answer = await mergeStream(options(fetchImpl, 50), JSON.stringify(params));
    expect(answer.code).toBe(6);
    expect(answer.message).toContain("50 ms");
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe("mergeStream, upstream faults", () => {
  it("answers code 6 when the connection fails", async () => {
    const refused = (async () => {
      throw new TypeError("Network connection lost.");
    }) as unknown as typeof fetch;
    const answer = await mergeStream(options(refused), "{}");
    expect(answer).toEqual({
      code: 6,
      message: `${DefaultMessage[6]}: ${MIX_INTERFACE}: connection failed: Network connection lost.`,
    });
  });

  it("answers code 6 for 502 and for JSON that is not an object", async () => {
    expect((await mergeStream(options(answering(() => new Response("bad gateway", { status: 502 }))), "{}")).code).toBe(
      6,
    );
    expect((await mergeStream(options(answering(() => Response.json([1, 2]))), "{}")).code).toBe(6);
    expect((await mergeStream(options(answering(() => Response.json(null))), "{}")).code).toBe(6);
    expect((await mergeStream(options(answering(() => Response.json("ok"))), "{}")).code).toBe(6);
  });

  it("coerces missing or odd fields of the upstream answer", async () => {
    expect(await mergeStream(options(answering(() => Response.json({}))), "{}")).toEqual({
      code: 0,
      message: DefaultMessage[0],
      result: { code: -1, message: "", timestamp: NOW },
    });
    expect(
      await mergeStream(options(answering(() => Response.json({ code: "0", message: "ok", timestamp: "12" }))), "{}"),
    ).toMatchObject({
      result: { code: 0, message: "ok", timestamp: 12 },
    });
  });
});

describe("mergeResultOf", () => {
  it("falls back to ret/retcode and errmsg", () => {
    expect(mergeResultOf({ ret: 20001, errmsg: "bad" }, NOW)).toEqual({ code: 20001, message: "bad", timestamp: NOW });
    expect(mergeResultOf({ retcode: -3 }, NOW)).toEqual({ code: -3, message: "", timestamp: NOW });
  });
  it("ignores fields of the wrong type and bounds the message", () => {
    expect(mergeResultOf({ code: 1.5, message: 7, timestamp: "soon" }, NOW)).toEqual({
      code: -1,
      message: "",
      timestamp: NOW,
    });
    expect(mergeResultOf({ code: 0, message: "m".repeat(5000) }, NOW).message).toHaveLength(1024);
  });
});
