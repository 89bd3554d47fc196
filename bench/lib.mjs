// The harness's plumbing: bundle the bench worker, start workerd through Miniflare's own API, find
// the workerd process (RSS, CPU), run autocannon with exact latencies, and a tiny HTTP client.
// Plain .mjs on purpose: the project's tsconfig type-checks bench/*.ts with the Workers types only.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import autocannon from "autocannon";
import * as esbuild from "esbuild";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const SDK_APP_ID = 1400000000;
export const ACCOUNT_TYPE = "36862";
export const BIZID = "8888";

// ------------------------------------------------------------------ build

/** esbuild options that bundle bench/bench-worker.ts (which imports src/index.ts) as wrangler would. */
export const WORKER_BUILD = {
  entryPoints: [path.join(ROOT, "bench/bench-worker.ts")],
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  conditions: ["workerd", "worker", "browser"],
  mainFields: ["module", "main"],
  external: ["cloudflare:*", "node:*"],
  minify: false,
  write: false,
  logLevel: "warning",
};

/** Bundles the bench worker into one ES module. */
export async function bundleWorker(outDir) {
  const started = performance.now();
  const result = await esbuild.build(WORKER_BUILD);
  const code = result.outputFiles[0].text;
  fs.writeFileSync(path.join(outDir, "worker.mjs"), code);
  return { code, bytes: code.length, ms: performance.now() - started };
}

/** generateUserSig from src/auth/usersig.ts and DEMO_SECRETS from src/config.ts, bundled for Node. */
export async function loadSigner(outDir) {
  const file = path.join(outDir, "signer.mjs");
  await esbuild.build({
    stdin: {
      contents:
        'export { generateUserSig } from "./src/auth/usersig.ts"; export { DEMO_SECRETS } from "./src/config.ts";',
      resolveDir: ROOT,
      loader: "ts",
    },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node22",
    outfile: file,
    logLevel: "warning",
  });
  const mod = await import(pathToFileURL(file).href);
  return (userID) =>
    mod.generateUserSig({
      identifier: userID,
      sdkAppId: SDK_APP_ID,
      secretKey: mod.DEMO_SECRETS.TLS_SIG_SECRET_KEY,
      expireSeconds: 86400,
    });
}

export function compatibilityDate() {
  const toml = fs.readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  return /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1] ?? "2026-11-01";
}

// ------------------------------------------------------------------ fake live API (child process)

export async function startFakeLiveApi() {
  const child = spawn(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", path.join(ROOT, "bench/fake-live-server.mjs")],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const url = await new Promise((resolve, reject) => {
    let buffer = "";
    const timer = setTimeout(() => reject(new Error("fake live API did not start within 10 s")), 10_000);
    child.stdout.on("data", (chunk) => {
      buffer += chunk;
      const m = /LISTENING (\S+)/.exec(buffer);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once("exit", (code) => reject(new Error(`fake live API exited (${code})`)));
  });
  return {
    url,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.stdin.end();
        setTimeout(() => child.kill("SIGTERM"), 1_500).unref();
      }),
  };
}

// ------------------------------------------------------------------ Miniflare

const BIG_LIMIT = { simple: { limit: 1_000_000_000, period: 60 } };

/**
 * One Miniflare (one workerd process) with two copies of the bench worker:
 * - "bench": the real app + baselines; HEARTBEAT_TIMEOUT_S long enough that seeded rooms live for the run;
 * - "sweep": same code, its own storage, HEARTBEAT_TIMEOUT_S = opts.sweepTimeoutS, for the alarm sweep.
 * Each is served on its own direct socket (no Miniflare entry worker in the path).
 */
export async function startMiniflare({
  code,
  expCode,
  outDir,
  liveApiUrl,
  sweepTimeoutS,
  inspectorPort,
  onLog,
  storageDir,
}) {
  const worker = (name, vars, source = code, file = "worker.mjs") => ({
    name,
    modules: [{ type: "ESModule", path: path.join(outDir, file), contents: source }],
    modulesRoot: outDir,
    compatibilityDate: compatibilityDate(),
    bindings: {
      ENVIRONMENT: "development",
      LIVE_API_URL: liveApiUrl,
      LIVE_API_TIMEOUT_MS: "5000",
      ...vars,
    },
    kvNamespaces: { SESSIONS: `sessions-${name}` },
    durableObjects: {
      ROOM: { className: "Room", useSQLite: true },
      DIRECTORY: { className: "Directory", useSQLite: true },
      BENCH_NOOP: { className: "BenchNoop", useSQLite: true },
    },
    // The app's limiters (wrangler.toml [[ratelimits]]) stay in the path, with limits a bench never reaches.
    ratelimits: {
      AUTH_LIMITER: { namespace_id: `${name}-1001`, ...BIG_LIMIT },
      ROOM_LIMITER: { namespace_id: `${name}-1002`, ...BIG_LIMIT },
    },
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  });
  const options = convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    cf: {},
    ...(storageDir ? { resourcePersistencePath: storageDir } : {}),
    ...(inspectorPort ? { inspectorPort } : {}),
    log: new Log(LogLevel.WARN),
    handleStructuredLogs: onLog,
    workers: [
      worker("bench", { HEARTBEAT_TIMEOUT_S: "3600", ROOM_IDLE_TIMEOUT_S: "3600" }),
      worker("sweep", { HEARTBEAT_TIMEOUT_S: String(sweepTimeoutS), ROOM_IDLE_TIMEOUT_S: "30" }),
      // --experiments: the same worker bundled with bench/experiments.mjs's patches.
      ...(expCode
        ? [worker("exp", { HEARTBEAT_TIMEOUT_S: "3600", ROOM_IDLE_TIMEOUT_S: "3600" }, expCode, "worker-exp.mjs")]
        : []),
    ],
  });
  const mf = new Miniflare(options);
  const entryUrl = await mf.ready;
  const benchUrl = await mf.unsafeGetDirectURL("bench");
  const sweepUrl = await mf.unsafeGetDirectURL("sweep");
  const expUrl = expCode ? trimSlash((await mf.unsafeGetDirectURL("exp")).href) : null;
  return {
    mf,
    entryUrl: trimSlash(entryUrl.href),
    benchUrl: trimSlash(benchUrl.href),
    sweepUrl: trimSlash(sweepUrl.href),
    expUrl,
  };
}

const trimSlash = (s) => s.replace(/\/$/, "");

// ------------------------------------------------------------------ /proc

/** The workerd process started by this Node process (Miniflare spawns it directly). */
export function findWorkerdPid(parent = process.pid) {
  return findWorkerdPids(parent)[0] ?? null;
}

export function findWorkerdPids(parent = process.pid) {
  const pids = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const m = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
      if (m?.[1].startsWith("workerd") && Number(m[2]) === parent) pids.push(Number(entry));
    } catch {
      // raced with an exiting process
    }
  }
  return pids.sort((a, b) => a - b);
}

/** VmRSS and VmHWM (peak) in MiB. */
export function memoryOf(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
    return { rssMiB: kb("VmRSS") / 1024, hwmMiB: kb("VmHWM") / 1024 };
  } catch {
    return { rssMiB: Number.NaN, hwmMiB: Number.NaN };
  }
}

const TICK = 100; // USER_HZ on Linux

/** CPU time (user + system) of a process, in ms. */
export function cpuMsOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICK;
  } catch {
    return Number.NaN;
  }
}

export function machine() {
  const read = (f) => {
    try {
      return fs.readFileSync(f, "utf8");
    } catch {
      return "";
    }
  };
  const cpuModel = /^model name\s*:\s*(.*)$/m.exec(read("/proc/cpuinfo"))?.[1] ?? os.cpus()[0]?.model ?? "?";
  const pkg = (name) => {
    try {
      return JSON.parse(read(path.join(ROOT, "node_modules", name, "package.json"))).version;
    } catch {
      return "?";
    }
  };
  return {
    nproc: os.availableParallelism(),
    cpu: cpuModel.trim(),
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    node: process.version,
    miniflare: pkg("miniflare"),
    workerd: pkg("workerd"),
    wrangler: pkg("wrangler"),
    autocannon: pkg("autocannon"),
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

// ------------------------------------------------------------------ HTTP client (setup work, not measured)

export async function call(base, group, action, { query = {}, body = {}, method = "POST" } = {}) {
  const url = new URL(`${base}/${group}/${action}`);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  const res = await fetch(url, {
    method,
    headers: { "content-type": "application/json" },
    body: method === "GET" ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${group}/${action}: HTTP ${res.status} non-JSON answer: ${text.slice(0, 200)}`);
  }
}

export async function benchRoute(base, route, { method = "GET", query = {} } = {}) {
  const url = new URL(`${base}/__bench/${route}`);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
  const res = await fetch(url, { method });
  const body = await res.json();
  if (res.status !== 200 || body.code !== 0)
    throw new Error(`/__bench/${route}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export function must(reply, what) {
  if (reply.code !== 0) throw new Error(`${what} failed: ${JSON.stringify(reply).slice(0, 300)}`);
  return reply;
}

/** Runs `fn` over `items` with at most `limit` in flight; returns the results in order. */
export async function pool(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ load

/** Percentile of a sorted array (nearest rank). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

function runCannon(opts, onResponse) {
  return new Promise((resolve, reject) => {
    let instance;
    let settled = false;
    const fail = (err) => {
      if (settled) return;
      settled = true;
      instance?.stop();
      reject(err);
    };
    // A throw inside a setupRequest/onResponse hook must stop the load, never leave it running.
    const guard =
      (fn) =>
      (...args) => {
        try {
          return fn(...args);
        } catch (err) {
          fail(err);
          throw err;
        }
      };
    const requests = opts.requests?.map((r) => {
      const out = { ...r };
      if (r.setupRequest) out.setupRequest = guard(r.setupRequest);
      if (r.onResponse) out.onResponse = guard(r.onResponse);
      return out;
    });
    instance = autocannon({ ...opts, ...(requests ? { requests } : {}) }, (err, result) => {
      if (settled) return;
      settled = true;
      err ? reject(err) : resolve(result);
    });
    instance.on("response", onResponse);
  });
}

const OK_PREFIX = '{"code":0,';

/**
 * Drives `url` with autocannon for `duration` s after `warmup` s (same load, discarded), recording
 * every response time exactly (autocannon's own histogram has 1 ms resolution). A request counts as ok
 * only if it is HTTP 2xx AND its JSON body says code 0: fast failures are not throughput.
 * CPU accounting (from /proc): workerd's CPU per request, the Miniflare Node process's, this process's
 * (the load generator), any `extraPids`, and "other": everything else the machine did meanwhile
 * (other people's tests...), which the numbers did not get.
 */
export async function load({ url, connections, duration, warmup, requests, pids, keepLatencies = false }) {
  const base = {
    url,
    connections,
    pipelining: 1,
    timeout: 30,
    requests,
    verifyBody: (body) => body.startsWith(OK_PREFIX),
  };
  if (warmup > 0) await runCannon({ ...base, duration: warmup }, () => {});
  const latencies = [];
  const watched = [pids.workerd, pids.server, ...(pids.extra ?? [])].filter(Boolean);
  const before = watched.map(cpuMsOf);
  const busy0 = machineBusyMs();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await runCannon({ ...base, duration }, (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const elapsedMs = performance.now() - t0;
  const used = watched.map((pid, i) => cpuMsOf(pid) - before[i]);
  const selfUsage = process.cpuUsage(self0);
  const selfMs = (selfUsage.user + selfUsage.system) / 1000;
  const otherMs = Math.max(0, machineBusyMs() - busy0 - used.reduce((a, b) => a + b, 0) - selfMs);
  latencies.sort((a, b) => a - b);
  const failed = result.non2xx + result.mismatches + result.errors + result.timeouts;
  const ok = Math.max(0, latencies.length - result.mismatches);
  const perReq = (ms) => (latencies.length ? (ms * 1000) / latencies.length : Number.NaN);
  const pct = (ms) => (ms * 100) / elapsedMs;
  return {
    rps: ok / (elapsedMs / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    requests: latencies.length,
    failed,
    detail: { non2xx: result.non2xx, mismatches: result.mismatches, errors: result.errors, timeouts: result.timeouts },
    workerdCpuUsPerReq: perReq(used[0]),
    workerdCpuPct: pct(used[0]),
    serverCpuPct: pids.server ? pct(used[1]) : Number.NaN,
    extraCpuUsPerReq: (pids.extra ?? []).map((_, i) => perReq(used[2 + i])),
    clientCpuPct: pct(selfMs),
    otherCpuPct: pct(otherMs),
    latencies: keepLatencies ? latencies : undefined,
    cpuMs: used[0],
  };
}

/**
 * Waits (up to `maxMs`) until the rest of the machine uses less than `limitPct` of one core over a
 * 500 ms window, so that a scenario does not start in the middle of someone else's test run.
 */
export async function waitForQuiet({ pids, limitPct = 25, maxMs = 15_000 }) {
  const t0 = performance.now();
  for (;;) {
    const watched = [pids.workerd, pids.server, ...(pids.extra ?? [])].filter(Boolean);
    const before = watched.map(cpuMsOf);
    const busy0 = machineBusyMs();
    const self0 = process.cpuUsage();
    await sleep(500);
    const usage = process.cpuUsage(self0);
    const mine = watched.reduce((a, pid, i) => a + cpuMsOf(pid) - before[i], 0) + (usage.user + usage.system) / 1000;
    const otherPct = ((machineBusyMs() - busy0 - mine) * 100) / 500;
    if (otherPct < limitPct) return { waitedMs: performance.now() - t0, otherPct };
    if (performance.now() - t0 > maxMs) return { waitedMs: performance.now() - t0, otherPct, gaveUp: true };
  }
}

// ------------------------------------------------------------------ the Miniflare process

/** Starts bench/server.mjs (Miniflare + workerd in a process of their own) and waits for READY. */
export async function startServer(opts) {
  const child = spawn(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", path.join(ROOT, "bench/server.mjs")],
    {
      stdio: ["pipe", "pipe", "inherit"],
      env: { ...process.env, BENCH_SERVER: JSON.stringify(opts) },
    },
  );
  const waiting = new Map();
  let nextId = 1;
  let buffer = "";
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("Miniflare did not start within 60 s")), 60_000);
    child.once("exit", (code) => reject(new Error(`bench server exited (${code}) before READY`)));
    child.stdout.on("data", (chunk) => {
      buffer += chunk;
      let nl = buffer.indexOf("\n");
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf("\n");
        if (line.startsWith("READY ")) {
          clearTimeout(timer);
          resolve(JSON.parse(line.slice(6)));
        } else if (line.startsWith("REPLY ")) {
          const msg = JSON.parse(line.slice(6));
          waiting.get(msg.id)?.(msg);
          waiting.delete(msg.id);
        }
      }
    });
  });
  const info = await ready;
  const command = (cmd) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error(`bench server: no reply to ${cmd.cmd}`)), 30_000);
      waiting.set(id, (msg) => {
        clearTimeout(timer);
        msg.ok ? resolve(msg) : reject(new Error(msg.error));
      });
      child.stdin.write(`${JSON.stringify({ ...cmd, id })}\n`);
    });
  return {
    ...info,
    serverPid: child.pid,
    command,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.stdin.end();
        setTimeout(() => child.kill("SIGTERM"), 5_000).unref();
      }),
  };
}

/** Busy CPU time of the whole machine (all cores), in ms, from /proc/stat. */
export function machineBusyMs() {
  const line = fs.readFileSync("/proc/stat", "utf8").split("\n", 1)[0];
  const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user + nice + system + irq + softirq + steal) * 1000) / TICK;
}
