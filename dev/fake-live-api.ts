// A local fake of Tencent's legacy cloud live API (common_access), for development and tests.
// Pure: `handle(request) -> Response`, Web APIs only, so it runs inside workerd (tests call it
// directly) and under Node (dev/serve-fake-live-api.ts serves it on loopback for `npm run dev`).
// Only erasable TypeScript here (Node runs this file by stripping types): no enums, no namespaces,
// no parameter properties.
//
// The API, at /common_access:
//   ?appid=&interface=&t=&sign=   signed like the real one: t (unix s) in the future, at most
//                                 `windowSeconds` ahead; sign = md5(apiKey + t), lower-case hex.
//   interface=mix_streamv2.start_mix_stream_advanced   POST a JSON object; answers
//                                 {"code":0,"message":"Success!","timestamp":<the body's timestamp, else now>}
//   interface=Live_Channel_GetStatus&Param.s.channel_id=S   answers
//                                 {"ret":0,"retcode":0,"errmsg":"","message":"","output":[{"rate_type":0,"recv_type":1,"status":1|0}]}
//                                 status 1 (pushing) unless S was marked stopped.
//   Failures answer HTTP 200 with a non-zero code in the interface's own shape: {code,message,timestamp}
//   for mixing, {ret,retcode,errmsg,message} for the channel interfaces. The shapes follow Tencent's
//   documentation; the negative numbers are this fake's own (the real ones are not published).
//
// Control endpoints (loopback development only, no auth):
//   GET  /fake/health                 {ok:true,...}
//   GET  /fake/streams                {stopped:[...]}
//   POST /fake/streams/{name}/stop    the stream now reports status 0 (stopped): lets you demo eviction
//   POST /fake/streams/{name}/start   back to status 1 (live)
//   POST /fake/mode/{ok|err500|notjson|hang}   answer every API call with a fault (code 6 demos)
//   GET  /fake/requests               the last recorded API calls (method, interface, query, body)
//   POST /fake/reset                  clears streams, mode and recorded calls

/** The demo LIVE_API_KEY of src/config.ts (DEMO_SECRETS): what `npm run dev` signs with. */
export const FAKE_DEFAULT_API_KEY = "40328529ca4381a80c6ecf2e6aa57438";
export const MIX_INTERFACE = "mix_streamv2.start_mix_stream_advanced";
export const STATUS_INTERFACE = "Live_Channel_GetStatus";

export type FakeMode = "ok" | "err500" | "notjson" | "hang";
const MODES: readonly FakeMode[] = ["ok", "err500", "notjson", "hang"];

export interface FakeLiveApiOptions {
  /** The key signatures must use (default FAKE_DEFAULT_API_KEY). */
  apiKey?: string;
  /** When set, only this appid is accepted; otherwise any numeric appid is. */
  appId?: string;
  /** How far in the future `t` may be, in seconds (default 600; the client sends now + 60). */
  windowSeconds?: number;
  /** Current time in unix seconds. */
  now?: () => number;
  /** How long mode "hang" holds a call before answering, in ms (default 60 000), unless the caller aborts. */
  hangMs?: number;
  /** How many API calls /fake/requests keeps (default 100). */
  maxRecorded?: number;
}

export interface RecordedRequest {
  at: number;
  method: string;
  interface: string;
  query: Record<string, string>;
  body: string;
}

export interface FakeLiveApi {
  handle(request: Request): Promise<Response>;
  /** Streams answering status 0. */
  readonly stopped: Set<string>;
  /** Recorded API calls, oldest first. */
  readonly requests: RecordedRequest[];
  mode: FakeMode;
  reset(): void;
}

const MAX_RECORDED_BODY = 16 * 1024;

export function createFakeLiveApi(options: FakeLiveApiOptions = {}): FakeLiveApi {
  const apiKey = options.apiKey ?? FAKE_DEFAULT_API_KEY;
  const windowSeconds = options.windowSeconds ?? 600;
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const hangMs = options.hangMs ?? 60_000;
  const maxRecorded = options.maxRecorded ?? 100;

  const fake: FakeLiveApi = {
    stopped: new Set<string>(),
    requests: [],
    mode: "ok",
    reset() {
      fake.stopped.clear();
      fake.requests.length = 0;
      fake.mode = "ok";
    },
    async handle(request: Request): Promise<Response> {
      const url = new URL(request.url);
      if (url.pathname === "/fake" || url.pathname.startsWith("/fake/")) return control(request, url);
      if (url.pathname !== "/common_access") {
        return new Response("<html><body>404 Not Found</body></html>", {
          status: 404,
          headers: { "content-type": "text/html" },
        });
      }
      if (request.method !== "GET" && request.method !== "POST") {
        return new Response("<html><body>405 Method Not Allowed</body></html>", {
          status: 405,
          headers: { "content-type": "text/html" },
        });
      }
      const query = Object.fromEntries(url.searchParams);
      const body = request.method === "POST" ? await request.text() : "";
      fake.requests.push({
        at: now(),
        method: request.method,
        interface: query.interface ?? "",
        query,
        body: body.length > MAX_RECORDED_BODY ? body.slice(0, MAX_RECORDED_BODY) : body,
      });
      if (fake.requests.length > maxRecorded) fake.requests.splice(0, fake.requests.length - maxRecorded);

      switch (fake.mode) {
        case "err500":
          return new Response("<html><body>500 Internal Server Error</body></html>", {
            status: 500,
            headers: { "content-type": "text/html" },
          });
        case "notjson":
          return new Response("<html><body>upstream busy</body></html>", {
            status: 200,
            headers: { "content-type": "text/html" },
          });
        case "hang":
          await sleep(hangMs, request.signal);
          break;
        case "ok":
          break;
      }
      return api(request.method, query, body);
    },
  };

  function api(method: string, query: Record<string, string>, body: string): Response {
    const iface = query.interface ?? "";
    const isMix = iface.toLowerCase().startsWith("mix_streamv2");
    const error = (code: number, message: string) =>
      json(isMix ? { code, message, timestamp: now() } : { ret: code, retcode: code, errmsg: message, message });

    const appid = query.appid ?? "";
    if (!/^\d{1,12}$/.test(appid)) return error(-1, "invalid appid");
    if (options.appId !== undefined && appid !== options.appId) return error(-1, "appid not found");
    if (!iface) return error(-1, "interface required");
    const tText = query.t ?? "";
    if (!/^\d{1,15}$/.test(tText)) return error(-3, "invalid t");
    const t = Number(tText);
    if (t <= now()) return error(-3, "sign expired");
    if (t > now() + windowSeconds) return error(-3, `t is more than ${windowSeconds} s ahead (unix seconds expected)`);
    if ((query.sign ?? "") !== md5Hex(apiKey + tText)) return error(-2, "sign check failed");

    if (iface === MIX_INTERFACE) {
      if (method !== "POST") return error(-4, "mix parameters must be POSTed");
      let params: unknown;
      try {
        params = JSON.parse(body);
      } catch {
        return error(-4, "body is not JSON");
      }
      if (typeof params !== "object" || params === null || Array.isArray(params))
        return error(-4, "body must be a JSON object");
      const stamp = (params as Record<string, unknown>).timestamp;
      return json({ code: 0, message: "Success!", timestamp: Number.isSafeInteger(stamp) ? stamp : now() });
    }
    if (iface === STATUS_INTERFACE) {
      const stream = query["Param.s.channel_id"] ?? "";
      if (!stream) return error(-4, "Param.s.channel_id required");
      const status = fake.stopped.has(stream) ? 0 : 1;
      return json({ ret: 0, retcode: 0, errmsg: "", message: "", output: [{ rate_type: 0, recv_type: 1, status }] });
    }
    return error(-5, `interface not supported by the fake: ${iface}`);
  }

  function control(request: Request, url: URL): Response {
    const path = url.pathname.replace(/\/+$/, "");
    const post = request.method === "POST";
    if ((path === "/fake" || path === "/fake/health") && !post) {
      return json({ ok: true, api: "/common_access", interfaces: [MIX_INTERFACE, STATUS_INTERFACE], mode: fake.mode });
    }
    if (path === "/fake/streams" && !post) return json({ stopped: [...fake.stopped] });
    if (path === "/fake/requests" && !post) return json({ requests: fake.requests });
    if (path === "/fake/reset" && post) {
      fake.reset();
      return json({ ok: true });
    }
    const stream = /^\/fake\/streams\/([^/]+)\/(stop|start)$/.exec(path);
    if (stream && post) {
      const name = decodeURIComponent(stream[1] ?? "");
      if (stream[2] === "stop") fake.stopped.add(name);
      else fake.stopped.delete(name);
      return json({ stream: name, status: fake.stopped.has(name) ? "stopped" : "live" });
    }
    const mode = /^\/fake\/mode\/([a-z0-9]+)$/.exec(path);
    if (mode && post) {
      const wanted = mode[1] as FakeMode;
      if (!MODES.includes(wanted)) return json({ error: `mode must be one of ${MODES.join(", ")}` }, 400);
      fake.mode = wanted;
      return json({ mode: fake.mode });
    }
    return json({ error: "unknown control endpoint", see: "dev/fake-live-api.ts" }, 404);
  }

  return fake;
}

const defaultFake = createFakeLiveApi();

/** The shared default instance (demo key, any appid). */
export function handle(request: Request): Promise<Response> {
  return defaultFake.handle(request);
}

/** The shared default instance itself, to inspect or reset it. */
export function defaultFakeLiveApi(): FakeLiveApi {
  return defaultFake;
}

/** A fetch that answers from a fake instead of the network: inject it wherever a fetch is taken. */
export function fetchVia(fake: { handle(request: Request): Promise<Response> }): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) =>
    fake.handle(new Request(input, init))) as typeof fetch;
}

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

function sleep(ms: number, signal: AbortSignal | null): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// MD5 (RFC 1321) in plain TypeScript: WebCrypto has no MD5 under Node, and this file runs there too.
const MD5_K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);
const MD5_S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

/** MD5 of the UTF-8 text, lower-case hex. */
export function md5Hex(text: string): string {
  const bytes = new TextEncoder().encode(text);
  const n = bytes.length;
  const words = new Uint32Array((((n + 8) >>> 6) + 1) * 16);
  for (let i = 0; i < n; i++) words[i >>> 2] = (words[i >>> 2] ?? 0) | ((bytes[i] ?? 0) << ((i % 4) * 8));
  words[n >>> 2] = (words[n >>> 2] ?? 0) | (0x80 << ((n % 4) * 8));
  words[words.length - 2] = (n * 8) >>> 0;
  words[words.length - 1] = Math.floor(n / 0x20000000);
  let a = 0x67452301;
  let b = 0xefcdab89;
  let c = 0x98badcfe;
  let d = 0x10325476;
  for (let block = 0; block < words.length; block += 16) {
    let [aa, bb, cc, dd] = [a, b, c, d];
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) [f, g] = [(bb & cc) | (~bb & dd), i];
      else if (i < 32) [f, g] = [(dd & bb) | (~dd & cc), (5 * i + 1) % 16];
      else if (i < 48) [f, g] = [bb ^ cc ^ dd, (3 * i + 5) % 16];
      else [f, g] = [cc ^ (bb | ~dd), (7 * i) % 16];
      const sum = (aa + f + (MD5_K[i] ?? 0) + (words[block + g] ?? 0)) | 0;
      const s = MD5_S[(i >>> 4) * 4 + (i % 4)] ?? 0;
      [aa, dd, cc] = [dd, cc, bb];
      bb = (bb + ((sum << s) | (sum >>> (32 - s)))) | 0;
    }
    a = (a + aa) | 0;
    b = (b + bb) | 0;
    c = (c + cc) | 0;
    d = (d + dd) | 0;
  }
  let hex = "";
  for (const word of [a, b, c, d]) {
    for (let i = 0; i < 4; i++) hex += ((word >>> (i * 8)) & 0xff).toString(16).padStart(2, "0");
  }
  return hex;
}
