// Stream status (src/live/stream-status.ts): Live_Channel_GetStatus, mapped to live/stopped/unknown.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createFakeLiveApi, fetchVia } from "../../dev/fake-live-api";
import { parseConfig } from "../../src/config";
import { STATUS_CONCURRENCY, STATUS_INTERFACE, stateFromAnswer, streamStates } from "../../src/live/stream-status";

const LIVE_API_URL = "http://127.0.0.1:8788/common_access";

function config(vars: Record<string, string> = {}) {
  return parseConfig({ LIVE_API_URL, STREAM_STATUS_CHECK: "true", LIVE_API_TIMEOUT_MS: "100", ...vars });
}

// Failed status calls are logged as one summary line per streamStates call: keep it out of the output.
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

/** A fetch that must not be called. */
function forbiddenFetch() {
  const calls: string[] = [];
  const fetchImpl = (async (input: RequestInfo | URL) => {
    calls.push(String(input));
    throw new Error("no call expected");
  }) as typeof fetch;
  return { calls, fetchImpl };
}

const answer = (status: unknown, ret: unknown = 0) => ({
  ret,
  retcode: ret,
  errmsg: "",
  message: "",
  output: [{ rate_type: 0, recv_type: 1, status }],
});

describe("stateFromAnswer", () => {
  it.each([
    [answer(1), "live"],
    [answer("1"), "live"],
    [answer(0), "stopped"],
    [answer(2), "stopped"],
    [answer(3), "stopped"],
    [{ ret: 20601, retcode: 20601, errmsg: "never pushed", output: [] }, "stopped"],
    [{ retcode: 0, output: [{ status: 1 }] }, "live"],
    [{ ret: 0, output: { status: 0 } }, "stopped"],
    [answer(1, -1), "unknown"],
    [answer(1, "x"), "unknown"],
    [answer(7), "unknown"],
    [answer(null), "unknown"],
    [{ ret: 0, output: [] }, "unknown"],
    [{ ret: 0 }, "unknown"],
    [{ output: [{ status: 1 }] }, "unknown"],
    [[answer(1)], "unknown"],
    [null, "unknown"],
    ["live", "unknown"],
  ] as const)("%j -> %s", (json, state) => {
    expect(stateFromAnswer(json)).toBe(state);
  });
});

describe("streamStates", () => {
  it("asks the fake and maps live and stopped", async () => {
    const fake = createFakeLiveApi();
    fake.stopped.add("8888_bob");
    const states = await streamStates(config(), ["8888_alice", "8888_bob"], fetchVia(fake));
    expect([...states]).toEqual([
      ["8888_alice", "live"],
      ["8888_bob", "stopped"],
    ]);
  });

  it("makes one signed GET per distinct stream, with Param.s.channel_id", async () => {
    const fake = createFakeLiveApi();
    const states = await streamStates(config(), ["8888_a", "8888_b", "8888_a"], fetchVia(fake));
    expect(states.size).toBe(2);
    expect(fake.requests.map((r) => [r.method, r.interface, r.query["Param.s.channel_id"]])).toEqual([
      ["GET", STATUS_INTERFACE, "8888_a"],
      ["GET", STATUS_INTERFACE, "8888_b"],
    ]);
    const now = Math.floor(Date.now() / 1000);
    for (const r of fake.requests) {
      expect(r.query.appid).toBe("1250000001");
      expect(Number(r.query.t)).toBeGreaterThan(now);
      expect(r.query.sign).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  it("is all unknown, without a single call, when STREAM_STATUS_CHECK is off (the default)", async () => {
    const { calls, fetchImpl } = forbiddenFetch();
    const states = await streamStates(parseConfig({ LIVE_API_URL }), ["8888_a", "8888_b"], fetchImpl);
    expect([...states]).toEqual([
      ["8888_a", "unknown"],
      ["8888_b", "unknown"],
    ]);
    expect(calls).toEqual([]);
  });

  it("answers an empty map for no streams", async () => {
    const { calls, fetchImpl } = forbiddenFetch();
    expect((await streamStates(config(), [], fetchImpl)).size).toBe(0);
    expect(calls).toEqual([]);
  });

  it.each([
    ["HTTP 500", "err500"],
    ["a body that is not JSON", "notjson"],
    ["a hang (timeout)", "hang"],
  ] as const)("is unknown on %s, within the time bound", async (_, mode) => {
    const fake = createFakeLiveApi({ hangMs: 60_000 });
    fake.mode = mode;
    const started = Date.now();
    const states = await streamStates(config({ LIVE_API_TIMEOUT_MS: "100" }), ["8888_a", "8888_b"], fetchVia(fake));
    expect([...states.values()]).toEqual(["unknown", "unknown"]);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0] ?? "")).toMatchObject({
      event: "live_api_failed",
      interface: STATUS_INTERFACE,
      failed: 2,
      of: 2,
    });
  });

  it("is unknown when the signature is refused or the connection fails", async () => {
    const wrongKey = createFakeLiveApi({ apiKey: "not-the-configured-key-000000000" });
    expect([...(await streamStates(config(), ["8888_a"], fetchVia(wrongKey))).values()]).toEqual(["unknown"]);
    const { fetchImpl } = forbiddenFetch();
    expect([...(await streamStates(config(), ["8888_a"], fetchImpl)).values()]).toEqual(["unknown"]);
    const throwing = (() => {
      throw new Error("sync boom");
    }) as unknown as typeof fetch;
    expect([...(await streamStates(config(), ["8888_a"], throwing)).values()]).toEqual(["unknown"]);
  });

  it(`keeps at most ${STATUS_CONCURRENCY} calls in flight`, async () => {
    const fake = createFakeLiveApi();
    const inner = fetchVia(fake);
    let inFlight = 0;
    let most = 0;
    const counting = (async (input: RequestInfo | URL, init?: RequestInit) => {
      inFlight++;
      most = Math.max(most, inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return await inner(input, init);
      } finally {
        inFlight--;
      }
    }) as typeof fetch;
    const streams = Array.from({ length: 20 }, (_, i) => `8888_u${i}`);
    fake.stopped.add("8888_u7");
    const states = await streamStates(config({ LIVE_API_TIMEOUT_MS: "2000" }), streams, counting);
    expect(most).toBe(STATUS_CONCURRENCY);
    expect(fake.requests).toHaveLength(20);
    expect(states.get("8888_u7")).toBe("stopped");
    expect([...states.values()].filter((s) => s === "live")).toHaveLength(19);
  });
});
