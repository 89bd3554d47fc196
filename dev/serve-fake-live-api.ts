// Serves dev/fake-live-api.ts over HTTP on loopback, under Node 22.18+ (which runs this .ts file by
// stripping its types: erasable syntax only). `npm run dev` starts it through scripts/dev.ts; alone:
//
//   node dev/serve-fake-live-api.ts          # http://127.0.0.1:8788/common_access
//
// Environment: FAKE_LIVE_API_PORT (8788), FAKE_LIVE_API_HOST (127.0.0.1), FAKE_LIVE_API_KEY (the demo
// LIVE_API_KEY), FAKE_LIVE_API_APP_ID (unset: any appid is accepted).
//
// Node built-ins come from process.getBuiltinModule (Node >= 22.3) and are typed by the small
// interfaces below, so this file type-checks with the project's Workers types (no @types/node).

type FakeModule = typeof import("./fake-live-api");
type FakeLiveApi = import("./fake-live-api").FakeLiveApi;

interface IncomingMessage extends AsyncIterable<Uint8Array> {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
}
interface ServerResponse {
  statusCode: number;
  readonly writableEnded: boolean;
  setHeader(name: string, value: string): void;
  end(data?: Uint8Array | string): void;
  on(event: "close", listener: () => void): void;
}
interface HttpServer {
  listen(port: number, host: string, callback: () => void): void;
  close(callback?: () => void): void;
  closeAllConnections(): void;
  address(): { port: number } | string | null;
  on(event: "error", listener: (err: { code?: string; message: string }) => void): void;
}
interface NodeHttp {
  createServer(listener: (req: IncomingMessage, res: ServerResponse) => void): HttpServer;
}

export interface FakeServer {
  /** The API endpoint to give the worker as LIVE_API_URL. */
  url: string;
  port: number;
  fake: FakeLiveApi;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
// Workers' ImportMeta type has neither `url` nor `filename`; Node's has both.
const meta = import.meta as unknown as { url: string; filename?: string };

/** Starts the fake on host:port (port 0 picks a free one). Rejects when it cannot listen. */
export async function startFakeLiveApiServer(
  opts: { port?: number; host?: string; fake?: FakeLiveApi; log?: (line: string) => void } = {},
): Promise<FakeServer> {
  const { createFakeLiveApi } = (await import(new URL("./fake-live-api.ts", meta.url).href)) as FakeModule;
  const http = process.getBuiltinModule("node:http") as NodeHttp;
  const host = opts.host ?? "127.0.0.1";
  const fake = opts.fake ?? createFakeLiveApi();
  const log = opts.log ?? (() => {});

  const server = http.createServer((req, res) => {
    serve(fake, host, req, res, log).catch((err: unknown) => {
      log(`fake live API: internal error: ${String(err)}`);
      if (!res.writableEnded) {
        res.statusCode = 500;
        res.end("fake live API internal error");
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.on("error", reject);
    server.listen(opts.port ?? 8788, host, resolve);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : (opts.port ?? 8788);
  return {
    url: `http://${host}:${port}/common_access`,
    port,
    fake,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serve(
  fake: FakeLiveApi,
  host: string,
  req: IncomingMessage,
  res: ServerResponse,
  log: (line: string) => void,
) {
  const method = req.method ?? "GET";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) {
      res.statusCode = 413;
      res.end("request body too large");
      return;
    }
    chunks.push(chunk);
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  // The caller giving up (the worker's timeout) ends a "hang" at once.
  const aborted = new AbortController();
  res.on("close", () => aborted.abort());
  const request = new Request(`http://${host}${req.url ?? "/"}`, {
    method,
    headers,
    body: method === "GET" || method === "HEAD" ? undefined : concat(chunks, size),
    signal: aborted.signal,
  });
  const response = await fake.handle(request);
  const body = new Uint8Array(await response.arrayBuffer());
  if (aborted.signal.aborted || res.writableEnded) return;
  res.statusCode = response.status;
  response.headers.forEach((value, name) => {
    res.setHeader(name, value);
  });
  res.end(body);

  const url = new URL(request.url);
  if (url.pathname === "/common_access") {
    const iface = url.searchParams.get("interface") ?? "?";
    const stream = url.searchParams.get("Param.s.channel_id");
    log(
      `fake live API: ${method} ${iface}${stream ? ` ${stream}` : ""} -> ${response.status} ${new TextDecoder().decode(body).slice(0, 160)}`,
    );
  } else {
    log(`fake live API: ${method} ${url.pathname} -> ${response.status}`);
  }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

async function main(): Promise<void> {
  const env = process.env as Record<string, string | undefined>;
  const portText = env.FAKE_LIVE_API_PORT || "8788";
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    console.error(`fake live API: FAKE_LIVE_API_PORT must be a port number, got ${JSON.stringify(portText)}`);
    process.exit(2);
    return;
  }
  const { createFakeLiveApi } = (await import(new URL("./fake-live-api.ts", meta.url).href)) as FakeModule;
  const fake = createFakeLiveApi({
    apiKey: env.FAKE_LIVE_API_KEY || undefined,
    appId: env.FAKE_LIVE_API_APP_ID || undefined,
  });
  let server: FakeServer;
  try {
    server = await startFakeLiveApiServer({
      port: Number(portText),
      host: env.FAKE_LIVE_API_HOST || "127.0.0.1",
      fake,
      log: (line) => console.log(line),
    });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const hint = e.code === "EADDRINUSE" ? ` (port ${portText} is taken: set FAKE_LIVE_API_PORT)` : "";
    console.error(`fake live API: cannot listen: ${e.message ?? String(err)}${hint}`);
    process.exit(1);
    return;
  }
  const base = server.url.replace(/\/common_access$/, "");
  console.log(`fake live API listening on ${server.url}`);
  console.log(`  stop a stream (evict its pusher):  curl -X POST ${base}/fake/streams/STREAM/stop`);
  console.log(`  recorded calls:                    curl ${base}/fake/requests`);
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    server.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, shutdown);
}

// Run as a program (not when imported).
if (meta.filename === process.argv[1]) {
  await main();
}
