// The cloud live API client (src/live/api.ts): signing, one bounded attempt, every failure a result.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config";
import {
  callLiveApi,
  type LiveApiOptions,
  liveApiFromConfig,
  MAX_RESPONSE_BYTES,
  signedApiUrl,
} from "../../src/live/api";

// The contract's published check: md5("40328529ca4381a80c6ecf2e6aa57438" + "1490858347").
const PUBLISHED_KEY = "40328529ca4381a80c6ecf2e6aa57438";
const PUBLISHED_T = 1490858347;
const PUBLISHED_SIGN = "7f29ed83c61b77de1b0d66936fd4fd44";

const MIX = "mix_streamv2.start_mix_stream_advanced";

function options(fetchImpl?: typeof fetch, extra: Partial<LiveApiOptions> = {}): LiveApiOptions {
  return {
    url: "http://fcgi.video.qcloud.com/common_access",
    appId: "1250000001",
    apiKey: PUBLISHED_KEY,
    timeoutMs: 50,
    now: () => PUBLISHED_T - 60,
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
    ...extra,
  };
}

type Seen = {
  url: string;
  method: string;
  contentType: string | null;
  body: string;
  redirect: string;
  hasSignal: boolean;
};

/** A fetch that records each request and answers with `answer`; never touches the network. */
function recordingFetch(answer: (request: Request) => Response | Promise<Response>) {
  const seen: Seen[] = [];
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    seen.push({
      url: request.url,
      method: request.method,
      contentType: request.headers.get("content-type"),
      body: request.method === "POST" ? await request.clone().text() : "",
      redirect: init?.redirect ?? "follow",
      hasSignal: init?.signal instanceof AbortSignal,
    });
    return answer(request);
  }) as typeof fetch;
  return { fetchImpl, seen };
}

const jsonResponse = (value: unknown, status = 200) =>
  new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });

/** Never answers, but rejects when its signal aborts, as a real fetch does. */
const hangingFetch = ((_input: RequestInfo | URL, init?: RequestInit) =>
  new Promise<Response>((_resolve, reject) => {
    init?.signal?.addEventListener("abort", () =>
      reject(init.signal?.reason ?? new DOMException("aborted", "AbortError")),
    );
  })) as typeof fetch;

/** Never answers and ignores its signal altogether. */
const deafFetch = (() => new Promise<Response>(() => {})) as typeof fetch;

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await work;
  return { value, ms: Date.now() - started };
}

describe("signedApiUrl", () => {
  it("signs with md5(key + t), t = now + 60: the contract's published check", async () => {
    const url = await signedApiUrl(options(), MIX);
    expect(url).toBe(
      `http://fcgi.video.qcloud.com/common_access?appid=1250000001&interface=${MIX}&t=${PUBLISHED_T}&sign=${PUBLISHED_SIGN}`,
    );
  });

  it("appends extra parameters after the signed ones, encoded", async () => {
    const url = await signedApiUrl(options(), "Live_Channel_GetStatus", { "Param.s.channel_id": "8888_a b&c" });
    expect(url).toBe(
      `http://fcgi.video.qcloud.com/common_access?appid=1250000001&interface=Live_Channel_GetStatus&t=${PUBLISHED_T}&sign=${PUBLISHED_SIGN}&Param.s.channel_id=8888_a+b%26c`,
    );
    expect(new URL(url).searchParams.get("Param.s.channel_id")).toBe("8888_a b&c");
  });

  it("never lets extra parameters replace the signed ones", async () => {
    const url = new URL(
      await signedApiUrl(options(), MIX, { sign: "forged", t: "1", appid: "9", interface: "x", ok: "1" }),
    );
    expect(url.searchParams.getAll("sign")).toEqual([PUBLISHED_SIGN]);
    expect(url.searchParams.getAll("t")).toEqual([String(PUBLISHED_T)]);
    expect(url.searchParams.getAll("appid")).toEqual(["1250000001"]);
    expect(url.searchParams.getAll("interface")).toEqual([MIX]);
    expect(url.searchParams.get("ok")).toBe("1");
  });

  it("uses the wall clock by default", async () => {
    const before = Math.floor(Date.now() / 1000);
    const { now: _now, ...rest } = options();
    const t = Number(new URL(await signedApiUrl(rest, MIX)).searchParams.get("t"));
    expect(t).toBeGreaterThanOrEqual(before + 60);
    expect(t).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 60);
  });
});

describe("liveApiFromConfig", () => {
  it("takes URL, app id, key and timeout from the config", () => {
    const config = parseConfig({
      LIVE_API_URL: "http://127.0.0.1:8788/common_access",
      LIVE_APP_ID: "1234",
      LIVE_API_KEY: "k".repeat(32),
      LIVE_API_TIMEOUT_MS: "1500",
    });
    expect(liveApiFromConfig(config)).toEqual({
      url: "http://127.0.0.1:8788/common_access",
      appId: "1234",
      apiKey: "k".repeat(32),
      timeoutMs: 1500,
    });
    const f = (async () => new Response("{}")) as unknown as typeof fetch;
    expect(liveApiFromConfig(config, f).fetch).toBe(f);
  });

  it("defaults to the documented endpoint and a 5 s bound", () => {
    const o = liveApiFromConfig(parseConfig({}));
    expect(o.url).toBe("http://fcgi.video.qcloud.com/common_access");
    expect(o.timeoutMs).toBe(5000);
  });
});

describe("callLiveApi", () => {
  it("POSTs the body unchanged as JSON to the signed URL, one attempt, redirects not followed", async () => {
    const { fetchImpl, seen } = recordingFetch(() => jsonResponse({ code: 0, message: "Success!", timestamp: 7 }));
    const body = '{ "timestamp": 7 ,"k":"中"}';
    const result = await callLiveApi(options(fetchImpl), MIX, { method: "POST", body });
    expect(result).toEqual({ ok: true, status: 200, json: { code: 0, message: "Success!", timestamp: 7 } });
    expect(seen).toEqual([
      {
        url: `http://fcgi.video.qcloud.com/common_access?appid=1250000001&interface=${MIX}&t=${PUBLISHED_T}&sign=${PUBLISHED_SIGN}`,
        method: "POST",
        contentType: "application/json",
        body,
        redirect: "manual",
        hasSignal: true,
      },
    ]);
  });

  it("GETs with the query after the signature and no body", async () => {
    const { fetchImpl, seen } = recordingFetch(() => jsonResponse({ ret: 0 }));
    const result = await callLiveApi(options(fetchImpl), "Live_Channel_GetStatus", {
      method: "GET",
      query: { "Param.s.channel_id": "8888_x" },
    });
    expect(result).toEqual({ ok: true, status: 200, json: { ret: 0 } });
    expect(seen[0]?.method).toBe("GET");
    expect(seen[0]?.contentType).toBeNull();
    expect(seen[0]?.url.endsWith(`&sign=${PUBLISHED_SIGN}&Param.s.channel_id=8888_x`)).toBe(true);
  });

  it("times out a fetch that never answers, within the bound", async () => {
    const { value, ms } = await timed(callLiveApi(options(hangingFetch), MIX, { method: "POST", body: "{}" }));
    expect(value).toMatchObject({ ok: false, reason: "timeout" });
    expect(ms).toBeLessThan(2_000);
  });

  it("times out even a fetch that ignores its abort signal", async () => {
    const { value, ms } = await timed(callLiveApi(options(deafFetch), MIX, { method: "POST", body: "{}" }));
    expect(value).toMatchObject({ ok: false, reason: "timeout" });
    expect(ms).toBeLessThan(2_000);
  });

  it("times out an answer whose body never ends", async () => {
    const stalled = (async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"code":'));
          },
        }),
        { status: 200 },
      )) as unknown as typeof fetch;
    const { value, ms } = await timed(callLiveApi(options(stalled), MIX, { method: "POST", body: "{}" }));
    expect(value).toMatchObject({ ok: false, reason: "timeout" });
    expect(ms).toBeLessThan(2_000);
  });

  it.each([500, 502, 404, 302])("reports HTTP %i as an http failure", async (status) => {
    const { fetchImpl } = recordingFetch(
      () => new Response("oops", { status, headers: { location: "http://elsewhere.test/" } }),
    );
    const result = await callLiveApi(options(fetchImpl), MIX, { method: "POST", body: "{}" });
    expect(result).toEqual({ ok: false, reason: "http", detail: `HTTP ${status}` });
  });

  it("reports a 204 (no body) as not_json", async () => {
    const { fetchImpl } = recordingFetch(() => new Response(null, { status: 204 }));
    expect(await callLiveApi(options(fetchImpl), MIX, { method: "POST", body: "{}" })).toMatchObject({
      ok: false,
      reason: "not_json",
    });
  });

  it.each([["<html>"], [""], ["{truncated"]])("reports a 2xx body %j as not_json", async (text) => {
    const { fetchImpl } = recordingFetch(() => new Response(text, { status: 200 }));
    expect(await callLiveApi(options(fetchImpl), MIX, { method: "POST", body: "{}" })).toMatchObject({
      ok: false,
      reason: "not_json",
    });
  });

  it("refuses an answer over the size bound, declared or streamed", async () => {
    const big = JSON.stringify({ code: 0, message: "x".repeat(MAX_RESPONSE_BYTES) });
    const declared = recordingFetch(() => new Response(big, { headers: { "content-length": String(big.length) } }));
    expect(await callLiveApi(options(declared.fetchImpl), MIX, { method: "POST", body: "{}" })).toMatchObject({
      ok: false,
      reason: "not_json",
      detail: `answer larger than ${MAX_RESPONSE_BYTES} bytes`,
    });
    const chunk = new Uint8Array(16 * 1024).fill(0x20);
    const streamed = recordingFetch(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              controller.enqueue(chunk); // endless: only the bound stops it
            },
          }),
        ),
    );
    const { value, ms } = await timed(
      callLiveApi(options(streamed.fetchImpl, { timeoutMs: 5_000 }), MIX, { method: "POST", body: "{}" }),
    );
    expect(value).toMatchObject({ ok: false, reason: "not_json" });
    expect(ms).toBeLessThan(2_000);
  });

  it("accepts an answer just under the bound", async () => {
    const text = JSON.stringify({ code: 0, message: "y".repeat(MAX_RESPONSE_BYTES - 40) });
    const { fetchImpl } = recordingFetch(() => new Response(text));
    expect(await callLiveApi(options(fetchImpl), MIX, { method: "POST", body: "{}" })).toMatchObject({ ok: true });
  });

  it("reports a connection failure without leaking the signed URL", async () => {
    const refused = (async (input: RequestInfo | URL) => {
      throw new TypeError(`connect ECONNREFUSED while fetching ${String(input)}`);
    }) as typeof fetch;
    const result = await callLiveApi(options(refused), MIX, { method: "POST", body: "{}" });
    expect(result).toMatchObject({ ok: false, reason: "network" });
    if (!result.ok) {
      expect(result.detail).toContain("ECONNREFUSED");
      expect(result.detail).not.toContain("sign=");
      expect(result.detail).not.toContain(PUBLISHED_SIGN);
    }
  });

  it("survives a fetch that throws synchronously and a URL that does not parse", async () => {
    const throwing = (() => {
      throw new Error("boom");
    }) as unknown as typeof fetch;
    expect(await callLiveApi(options(throwing), MIX, { method: "POST", body: "{}" })).toMatchObject({
      ok: false,
      reason: "network",
    });
    const { fetchImpl, seen } = recordingFetch(() => jsonResponse({}));
    expect(
      await callLiveApi(options(fetchImpl, { url: "not a url" }), MIX, { method: "POST", body: "{}" }),
    ).toMatchObject({
      ok: false,
      reason: "network",
    });
    expect(seen).toHaveLength(0);
  });

  it("makes exactly one attempt on failure (no retry of a non-idempotent call)", async () => {
    const { fetchImpl, seen } = recordingFetch(() => new Response("oops", { status: 503 }));
    await callLiveApi(options(fetchImpl), MIX, { method: "POST", body: "{}" });
    expect(seen).toHaveLength(1);
  });
});
