// `npm run dev`: the fake cloud live API on loopback, then `wrangler dev` pointed at it.
//
//   npm run dev                                   # fake on 127.0.0.1:8788, worker on wrangler's port
//   npm run dev -- --port 8790                    # extra arguments go to `wrangler dev`
//   npm run dev -- --var STREAM_STATUS_CHECK:true # let rooms ask the fake for stream status
//   FAKE_LIVE_API_PORT=9000 npm run dev           # another port for the fake
//   FAKE_LIVE_API_KEY=<32 hex> npm run dev -- --var STREAM_STATUS_CHECK:true
//                                                 # fake and worker share a non-demo LIVE_API_KEY:
//                                                 # rooms skip the stream check under the demo key
//
// Signals (SIGINT, SIGTERM, SIGHUP) are passed to both children; when either exits, the other is
// stopped and this script exits with the first one's status. Node 22.18+ runs this file by stripping
// its types: erasable syntax only. Node built-ins come from process.getBuiltinModule, typed by the
// small interfaces below (the project's types are the Workers ones, without @types/node).

export {}; // a module: top-level await, no globals

interface ChildProcess {
  readonly pid?: number;
  readonly exitCode: number | null;
  readonly signalCode: string | null;
  kill(signal?: string): boolean;
  once(event: "exit", listener: (code: number | null, signal: string | null) => void): void;
  once(event: "error", listener: (err: Error) => void): void;
}
interface NodeChildProcess {
  spawn(
    command: string,
    args: string[],
    options: { stdio: "inherit"; env?: Record<string, string | undefined> },
  ): ChildProcess;
}
interface NodeFs {
  existsSync(path: string): boolean;
}
interface NodeUrl {
  fileURLToPath(url: URL): string;
}
interface NodeOs {
  constants: { signals: Record<string, number> };
}

const childProcess = process.getBuiltinModule("node:child_process") as NodeChildProcess;
const fs = process.getBuiltinModule("node:fs") as NodeFs;
const { fileURLToPath } = process.getBuiltinModule("node:url") as NodeUrl;
const os = process.getBuiltinModule("node:os") as NodeOs;

// Workers' ImportMeta type has no `url`; Node's has.
const here = (import.meta as unknown as { url: string }).url;
const env = process.env as Record<string, string | undefined>;
const nodeBin = process.execPath as string;
const passThrough = (process.argv as string[]).slice(2);
const fakePort = env.FAKE_LIVE_API_PORT || "8788";
if (!/^\d{1,5}$/.test(fakePort) || Number(fakePort) < 1 || Number(fakePort) > 65535) {
  console.error(`dev: FAKE_LIVE_API_PORT must be a port number, got ${JSON.stringify(fakePort)}`);
  process.exit(2);
}
const fakeBase = `http://127.0.0.1:${fakePort}`;
const liveApiUrl = `${fakeBase}/common_access`;

const fakeScript = fileURLToPath(new URL("../dev/serve-fake-live-api.ts", here));
// wrangler's own entry, run by this Node (22): its .bin shim would pick whatever `node` is on PATH.
const wranglerEntry = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", here));
const quiet = ["--disable-warning=ExperimentalWarning"];

const children: ChildProcess[] = [];
let exiting = false;
let signalled = false;

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function statusOf(code: number | null, signal: string | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (os.constants.signals[signal] ?? 1) : 1);
}

/** Stops every other child (TERM, then KILL after 5 s) and exits with `status`. */
function finish(status: number): void {
  if (exiting) return;
  exiting = true;
  const others = children.filter(alive);
  if (others.length === 0) process.exit(status);
  let left = others.length;
  for (const child of others) {
    child.once("exit", () => {
      if (--left === 0) process.exit(status);
    });
    child.kill("SIGTERM");
  }
  setTimeout(() => {
    for (const child of others) if (alive(child)) child.kill("SIGKILL");
    process.exit(status);
  }, 5_000);
}

function start(name: string, args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
  const child = childProcess.spawn(nodeBin, args, { stdio: "inherit", env: { ...env, ...extraEnv } });
  children.push(child);
  child.once("error", (err) => {
    console.error(`dev: could not start ${name}: ${err.message}`);
    finish(1);
  });
  child.once("exit", (code, signal) => {
    if (!exiting && !signalled) console.error(`dev: ${name} exited (${signal ?? `code ${code}`}); stopping the rest`);
    finish(statusOf(code, signal));
  });
  return child;
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    signalled = true;
    for (const child of children) if (alive(child)) child.kill(signal);
    // The children exiting ends this script (see start); if they ignore the signal, so do we.
  });
}

/** Waits until the fake answers its health check; false if it exits or takes over `ms`. */
async function fakeReady(fake: ChildProcess, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until && alive(fake)) {
    try {
      const r = await fetch(`${fakeBase}/fake/health`, { signal: AbortSignal.timeout(500) });
      if (r.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

if (!fs.existsSync(wranglerEntry)) {
  console.error(`dev: ${wranglerEntry} not found: run npm install (or npm ci) first`);
  process.exit(1);
}
const fake = start("fake live API", [...quiet, fakeScript], {
  FAKE_LIVE_API_PORT: fakePort,
  FAKE_LIVE_API_HOST: "127.0.0.1",
});
if (!(await fakeReady(fake, 10_000))) {
  if (!exiting) console.error(`dev: the fake live API did not answer on ${fakeBase} within 10 s`);
  finish(1);
} else {
  const vars = ["--var", `LIVE_API_URL:${liveApiUrl}`];
  // The fake checks signatures with FAKE_LIVE_API_KEY when set: give the worker the same key.
  if (env.FAKE_LIVE_API_KEY) vars.push("--var", `LIVE_API_KEY:${env.FAKE_LIVE_API_KEY}`);
  start("wrangler dev", [wranglerEntry, "dev", ...vars, ...passThrough]);
}
