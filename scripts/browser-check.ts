// `npm run browser-check`: the /docs page loads in headless Chromium (Debian's `chromium` package,
// driven by playwright-core: no browser download) and shows the routes.
//
//   npm run browser-check                                  # starts `wrangler dev` on a free loopback port
//   RS_DOCS_URL=http://127.0.0.1:8787/docs npm run browser-check   # checks a running service instead
//   CHROMIUM=/path/to/chromium npm run browser-check       # another browser binary
//
// Every request the page makes is recorded: anything but the page itself fails the check (the page
// must work offline), as do console errors (e.g. a CSP violation). Prints one line; exits 0 or 1.
// Needs `apt-get install -y chromium` (.ci/run installs it). Node 22.18+ runs this file by stripping its
// types; Node built-ins and playwright-core are typed by the small interfaces below (the project's
// types are the Workers ones).

export {}; // a module: top-level await

interface ChildProcess {
  readonly pid?: number;
  readonly exitCode: number | null;
  once(event: "exit", listener: (code: number | null, signal: string | null) => void): void;
}
interface NodeChildProcess {
  spawn(
    command: string,
    args: string[],
    options: { stdio: ["ignore", number, number]; detached: boolean; env: Record<string, string | undefined> },
  ): ChildProcess;
}
interface NodeFs {
  existsSync(path: string): boolean;
  mkdtempSync(prefix: string): string;
  openSync(path: string, flags: string): number;
  readFileSync(path: string, encoding: "utf8"): string;
  rmSync(path: string, options: { recursive: boolean; force: boolean }): void;
}
interface NodeNet {
  createServer(): {
    listen(port: number, host: string, callback: () => void): void;
    address(): { port: number };
    close(callback: () => void): void;
  };
}
interface NodeOs {
  tmpdir(): string;
}
interface NodeUrl {
  fileURLToPath(url: URL): string;
}

interface Locator {
  first(): Locator;
  count(): Promise<number>;
  isVisible(): Promise<boolean>;
  scrollIntoViewIfNeeded(): Promise<void>;
  screenshot(options: { path: string }): Promise<unknown>;
}
interface Page {
  goto(url: string, options: { waitUntil: "load"; timeout: number }): Promise<{ status(): number } | null>;
  title(): Promise<string>;
  locator(selector: string, options?: { hasText?: string | RegExp }): Locator;
  screenshot(options: { path: string; fullPage?: boolean }): Promise<unknown>;
  on(event: "console", listener: (message: { type(): string; text(): string }) => void): void;
  on(event: "pageerror", listener: (error: Error) => void): void;
  on(event: "request", listener: (request: { url(): string }) => void): void;
  route(
    url: string,
    handler: (route: {
      request(): { url(): string };
      abort(): Promise<void>;
      continue(): Promise<void>;
    }) => Promise<void>,
  ): Promise<void>;
}
interface BrowserContext {
  newPage(): Promise<Page>;
  close(): Promise<void>;
  browser(): { version(): string } | null;
}
interface PlaywrightCore {
  chromium: {
    launchPersistentContext(
      userDataDir: string,
      options: {
        executablePath: string;
        headless: boolean;
        args: string[];
        viewport: { width: number; height: number };
        timeout: number;
      },
    ): Promise<BrowserContext>;
  };
}

const childProcess = process.getBuiltinModule("node:child_process") as NodeChildProcess;
const fs = process.getBuiltinModule("node:fs") as NodeFs;
const net = process.getBuiltinModule("node:net") as NodeNet;
const os = process.getBuiltinModule("node:os") as NodeOs;
const { fileURLToPath } = process.getBuiltinModule("node:url") as NodeUrl;

const env = process.env as Record<string, string | undefined>;
const here = (import.meta as unknown as { url: string }).url;
const chromiumPath = env.CHROMIUM || "/usr/bin/chromium";
const ROUTES_TO_SEE = [
  "/live_room/add_pusher",
  "/multi_room/get_room_list",
  "/utils/get_login_info",
  "/live_room/merge_stream",
];

const work = fs.mkdtempSync(`${os.tmpdir()}/rs-browser-check-`);
const screenshot = `${work}/docs.png`;
let server: ChildProcess | undefined;
let context: BrowserContext | undefined;

function fail(reason: string): never {
  throw new Error(reason);
}

async function cleanup(): Promise<void> {
  await context?.close().catch(() => undefined);
  if (server?.pid && server.exitCode === null) {
    // wrangler was started as its own process group: end it and its workerd children.
    try {
      process.kill(-server.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  // The screenshot stays (its path is printed); the browser profile and the local state go.
  fs.rmSync(`${work}/profile`, { recursive: true, force: true });
  fs.rmSync(`${work}/state`, { recursive: true, force: true });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(url: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (server && server.exitCode !== null) fail(`wrangler dev exited (${server.exitCode}); see ${work}/wrangler.log`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  fail(`${url} did not answer within ${ms / 1000} s; see ${work}/wrangler.log`);
}

async function startWorker(): Promise<string> {
  const port = await freePort();
  const inspector = await freePort();
  const wrangler = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", here));
  if (!fs.existsSync(wrangler)) fail(`${wrangler} not found: run npm ci first`);
  const log = fs.openSync(`${work}/wrangler.log`, "w");
  server = childProcess.spawn(
    process.execPath as string,
    [
      wrangler,
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspector),
      "--persist-to",
      `${work}/state`,
      "--show-interactive-dev-session=false",
    ],
    { stdio: ["ignore", log, log], detached: true, env: { ...env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" } },
  );
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/openapi.json`, 60_000);
  return `${base}/docs`;
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    void cleanup().then(() => process.exit(130));
  });
}

async function main(): Promise<string> {
  if (!fs.existsSync(chromiumPath)) {
    fail(`${chromiumPath} not found: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM`);
  }

  const docsUrl = env.RS_DOCS_URL || (await startWorker());
  const docsOrigin = new URL(docsUrl).origin;

  const playwrightName = "playwright-core"; // through a variable: its Node typings stay out of the program
  const { chromium } = (await import(playwrightName)) as PlaywrightCore;
  context = await chromium.launchPersistentContext(`${work}/profile`, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
    timeout: 60_000,
  });

  const page = await context.newPage();
  const problems: string[] = [];
  const outside: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  // The page must need nothing but itself: refuse (and record) any other request.
  await page.route("**/*", async (route) => {
    const url = route.request().url();
    if (url.startsWith(`${docsOrigin}/`) && new URL(url).pathname === "/docs") return route.continue();
    if (!url.endsWith("/favicon.ico")) outside.push(url);
    return route.abort();
  });

  const response = await page.goto(docsUrl, { waitUntil: "load", timeout: 30_000 });
  if (response?.status() !== 200) fail(`GET ${docsUrl} answered ${response?.status() ?? "nothing"}`);
  const title = await page.title();
  if (!title.includes("API reference")) fail(`unexpected title ${JSON.stringify(title)}`);
  await page.screenshot({ path: screenshot });

  for (const route of ROUTES_TO_SEE) {
    const heading = page.locator("article h3 code.path", { hasText: new RegExp(`^${route}$`) }).first();
    await heading.scrollIntoViewIfNeeded();
    if (!(await heading.isVisible())) fail(`route ${route} is not visible on the page`);
  }
  const operations = await page.locator("article.op").count();
  const aliases = await page.locator("article.op p.alias code").count();
  if (operations < 39 || aliases < operations) fail(`only ${operations} routes and ${aliases} /weapp aliases shown`);
  if (outside.length > 0) fail(`the page requested outside resources: ${outside.slice(0, 3).join(", ")}`);
  if (problems.length > 0) fail(problems.slice(0, 3).join("; "));

  await page
    .locator("article#op-live-room-add-pusher")
    .first()
    .screenshot({ path: `${work}/add_pusher.png` });
  const version = context.browser()?.version() ?? "?";
  return `${docsUrl} shows ${operations} routes (+${aliases} /weapp) in Chromium ${version}, no outside requests; screenshots ${screenshot}, ${work}/add_pusher.png`;
}

try {
  const line = await main();
  await cleanup();
  console.log(`browser-check: ok: ${line}`);
  process.exit(0);
} catch (err) {
  await cleanup();
  console.log(`browser-check: FAIL: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
  process.exit(1);
}
