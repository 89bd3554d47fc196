// `npm run bench`: the real worker in workerd (Miniflare's API, no wrangler dev proxy), driven over
// loopback by autocannon, each scenario side by side with baselines measured in the same run on the same
// workerd. Prints a table for people, then as its very last line one JSON object. See BENCHMARKS.md.
//
//   npm run bench                                   # the full run (about 7.5 minutes on 2 cores)
//   npm run bench -- --quick                        # about 3 minutes: shorter runs, fewer rooms
//   npm run bench -- --duration 20 --connections 16 --rooms 1000,10000,50000,100000
//   npm run bench -- --only 'baseline|heartbeat'    # a subset (regex over scenario names)
//   npm run bench -- --compare-paths                # also: Miniflare entry socket and wrangler's unstable_startWorker
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { RoomClient, Transport } from "../src/client/index.ts";
import { bundleExperiments, EXPERIMENTS } from "./experiments.mjs";
import {
  ACCOUNT_TYPE,
  benchRoute,
  bundleWorker,
  cpuMsOf,
  load,
  loadSigner,
  machine,
  memoryOf,
  must,
  percentile,
  pool,
  SDK_APP_ID,
  sleep,
  startFakeLiveApi,
  startServer,
  waitForQuiet,
} from "./lib.mjs";
import { comparePaths } from "./paths.mjs";
import { formatProfile, moduleMap, profileDuring } from "./profile.mjs";

// ------------------------------------------------------------------ flags

const { values: flags } = parseArgs({
  options: {
    duration: { type: "string" },
    warmup: { type: "string" },
    connections: { type: "string" },
    "ceiling-connections": { type: "string" },
    rooms: { type: "string" },
    "seed-api-rooms": { type: "string" },
    "sweep-rooms": { type: "string" },
    "sweep-timeout": { type: "string" },
    burst: { type: "string" },
    only: { type: "string" },
    storage: { type: "string" },
    "skip-probes": { type: "boolean", default: false },
    ablations: { type: "boolean", default: false },
    "skip-experiments": { type: "boolean", default: false },
    profile: { type: "string" },
    "probe-duration": { type: "string" },
    "quiet-wait": { type: "string" },
    quick: { type: "boolean", default: false },
    "compare-paths": { type: "boolean", default: false },
    "max-minutes": { type: "string" },
    verbose: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
  allowPositionals: false,
});

if (flags.help) {
  console.log(`npm run bench -- [flags]
  --quick                 a shorter run (about 3 minutes): the --quick defaults below, no experiments
  --duration S            measured seconds per scenario (default 10; --quick 3)
  --warmup S              discarded warm-up seconds before each (default 2; --quick 1)
  --connections N         concurrent connections (default 10)
  --ceiling-connections N connections driving the Directory ceiling (default 64)
  --rooms A,B,C           live rooms for get_room_list (default 1000,10000,50000; --quick 1000,50000)
  --seed-api-rooms N      how many of them are created through the real API (default 1000, --quick 300; the
                          rest via Directory.apply)
  --sweep-rooms N         rooms x 4 pushers for the alarm sweep (default 250; --quick 100)
  --sweep-timeout S       HEARTBEAT_TIMEOUT_S of the sweep worker (default 10)
  --burst N               single-room changes in the in-worker Directory burst (default 10000; --quick 3000)
  --only REGEX            run only scenarios whose name matches (baselines always run)
  --storage DIR|disk      where Durable Object/KV storage lives (default /dev/shm: tmpfs; "disk" = Miniflare's
                          temp dir on disk, where every commit pays an fsync)
  --skip-probes           skip the cost ladder (one ingredient of the routes at a time)
  --ablations             also run get_push_url and pusher_heartbeat with console.log silenced (*_nolog: the
                          access log's cost)
  --skip-experiments      skip the before/after: get_push_url, pusher_heartbeat and get_room_list again on a copy
                          of the worker with the hot-path changes of bench/experiments.mjs applied (--quick skips)
  --profile REGEX         after each matching scenario, a V8 CPU profile of workerd's isolates during a repeat
                          of it (printed after the table; the profiler's own overhead is not in the table)
  --probe-duration S      measured seconds per probe (default 3; --quick 2)
  --quiet-wait S          before each scenario wait up to S s (30 s in all) for other processes to calm down
                          (default 10, 0 = off)
  --compare-paths         also measure the trivial route through Miniflare's entry socket and wrangler's unstable_startWorker
  --max-minutes M         hard stop (default 10)
  --verbose               print workerd warnings and errors`);
  process.exit(0);
}

const num = (v, d) => (v === undefined ? d : Number(v));
const quick = flags.quick;
const cfg = {
  duration: num(flags.duration, quick ? 3 : 10),
  warmup: num(flags.warmup, quick ? 1 : 2),
  connections: num(flags.connections, 10),
  ceilingConnections: num(flags["ceiling-connections"], 64),
  rooms: (flags.rooms ?? (quick ? "1000,50000" : "1000,10000,50000"))
    .split(",")
    .map(Number)
    .filter((n) => n > 0)
    .sort((a, b) => a - b),
  seedApiRooms: num(flags["seed-api-rooms"], quick ? 300 : 1000),
  sweepRooms: num(flags["sweep-rooms"], quick ? 100 : 250),
  sweepTimeoutS: num(flags["sweep-timeout"], 10),
  burst: num(flags.burst, quick ? 3000 : 10000),
  only: flags.only ? new RegExp(flags.only) : null,
  maxMinutes: num(flags["max-minutes"], 10),
  probeDuration: num(flags["probe-duration"], quick ? 2 : 3),
  quietWaitS: num(flags["quiet-wait"], 10),
  storage: flags.storage ?? (fs.existsSync("/dev/shm") ? "/dev/shm" : "disk"),
};
const wanted = (name) => !cfg.only || cfg.only.test(name);

// ------------------------------------------------------------------ state, output

const results = {}; // name -> { rps, p50, p99, ratio, vs, cpu, failed, note, extra }
const notes = [];
const memory = []; // { label, rssMiB, hwmMiB }
const comparisons = []; // experiments: { name, before, after }
const profiles = []; // formatted --profile output
let sweepSummary = null;
let server = null;
let exp = null;
const log = (...a) => console.error(...a); // progress on stderr; the table and JSON on stdout
const started = performance.now();
let cleanup = async () => {};

const hardStop = setTimeout(async () => {
  log(`\n!! --max-minutes ${cfg.maxMinutes} reached: stopping with partial results`);
  notes.push(`stopped early at --max-minutes ${cfg.maxMinutes}`);
  await report();
  await cleanup();
  process.exit(2);
}, cfg.maxMinutes * 60_000);
hardStop.unref();

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    await cleanup();
    process.exit(130);
  });
}

// ------------------------------------------------------------------ start

const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "roomservice-bench-"));
// However the run ends (even on a crash), no temp dirs stay behind; the child processes end themselves
// when this process's pipes close (server.mjs disposes workerd on stdin EOF).
const tempDirs = [outDir];
const removeDirs = () => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
};
process.on("exit", removeDirs);
const info = machine();
log(
  `bench: ${info.nproc} CPUs, ${info.memGiB} GiB, node ${info.node}, workerd ${info.workerd}, loadavg ${info.loadavg.join(" ")}`,
);
if (info.loadavg[0] > 0.5) {
  notes.push(
    `load average was ${info.loadavg[0]} at start: something else was running; numbers are lower than on an idle machine`,
  );
}

const bundle = await bundleWorker(outDir);
const signUser = await loadSigner(outDir);
const fake = await startFakeLiveApi();
exp = flags["skip-experiments"] || quick ? null : await bundleExperiments(outDir);
if (exp)
  log(
    `bench: experiments applied: ${exp.applied.join(", ") || "none"}${exp.skipped.length ? `; not applicable to src/ as it is now: ${exp.skipped.join(", ")}` : ""}`,
  );
const storageDir =
  cfg.storage === "disk" ? undefined : fs.mkdtempSync(path.join(cfg.storage, "roomservice-bench-storage-"));
if (storageDir) tempDirs.push(storageDir);
const inspectorPort = flags.profile ? await freePort() : undefined;
server = await startServer({
  outDir,
  inspectorPort,
  experiments: Boolean(exp),
  liveApiUrl: fake.url,
  sweepTimeoutS: cfg.sweepTimeoutS,
  storageDir,
  verbose: flags.verbose,
});
cleanup = async () => {
  await server.stop().catch(() => {});
  await fake.stop().catch(() => {});
  removeDirs();
};
const pid = server.workerdPid;
if (!pid) throw new Error("workerd process not found");
const pids = { workerd: pid, server: server.serverPid };
log(
  `bench: bundle ${Math.round(bundle.bytes / 1024)} KiB in ${bundle.ms.toFixed(0)} ms; workerd pid ${pid}; storage ${storageDir ?? "Miniflare temp dir (disk)"}`,
);
log(`bench: bench worker ${server.benchUrl}, sweep worker ${server.sweepUrl}, fake live API ${fake.url}`);
const base = server.benchUrl;
const rss = (label) => {
  const m = memoryOf(pid);
  memory.push({ label, ...m });
  log(`  rss ${label}: ${m.rssMiB.toFixed(1)} MiB`);
  return m;
};
rss("idle, after start");
let quietBudgetMs = 30_000;
const profileRe = flags.profile ? new RegExp(flags.profile) : null;
const modules = moduleMap(bundle.code);

async function freePort() {
  const net = await import("node:net");
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// ------------------------------------------------------------------ helpers

const q = (o) => new URLSearchParams(Object.entries(o).map(([k, v]) => [k, String(v)])).toString();
const JSON_HEADERS = { "content-type": "application/json" };

// Setup traffic (not measured) goes through the project's typed client, src/client/index.ts; the
// measured traffic is autocannon's, built from the same query strings.
const transports = new Map();
const transportFor = (origin) => {
  if (!transports.has(origin)) transports.set(origin, new Transport({ baseUrl: origin, timeoutMs: 60_000 }));
  return transports.get(origin);
};

async function login(kind, user, origin = base) {
  const client = new RoomClient(transportFor(origin), kind);
  must(
    await client.login({
      sdkAppID: SDK_APP_ID,
      accountType: ACCOUNT_TYPE,
      userID: user,
      userSig: await signUser(user),
    }),
    `login ${user}`,
  );
  const { token } = client.session;
  return { kind, user, token, client, query: `userID=${encodeURIComponent(user)}&token=${encodeURIComponent(token)}` };
}

async function act(u, action, body = {}) {
  return u.client.send(action, body);
}

async function join(u, roomID) {
  const url = must(await act(u, "get_push_url", { roomID }), `get_push_url ${u.user}`).pushURL;
  return must(
    await act(u, "add_pusher", { roomID, userName: u.user, userAvatar: "https://example.test/a.png", pushURL: url }),
    `add_pusher ${u.user} ${roomID}`,
  );
}

/** A POST request to a room action whose user rotates round-robin over `users`. */
function rotating(users, action, bodyOf) {
  let i = 0;
  return [
    {
      method: "POST",
      headers: JSON_HEADERS,
      setupRequest: (req) => {
        const u = users[i++ % users.length];
        req.path = `/${u.kind}/${action}?${u.query}`;
        req.body = bodyOf(u);
        return req;
      },
    },
  ];
}

/** A short run of the trivial Worker route or the trivial DO round trip, for a paired ratio. */
async function pairedBaseline(vs) {
  const path = vs === "do" ? "/__bench/do-noop" : "/__bench/noop";
  const d = Math.max(2, Math.round(cfg.duration / 4));
  const r = await load({
    url: base,
    connections: cfg.connections,
    duration: d,
    warmup: 1,
    requests: [{ method: "GET", path }],
    pids,
  });
  return { rps: r.rps, cpu: r.workerdCpuUsPerReq };
}

const requestsOf = new Map(); // scenario -> autocannon requests (the experiments re-run them)

async function measure(name, requests, opts = {}) {
  requestsOf.set(name, { requests, opts });
  // paired: the matching baseline measured just before and just after (a sandwich), so that the ratio
  // compares runs that saw the same machine; other processes come and go on a shared 2-core box.
  const before = opts.paired ? await pairedBaseline(opts.vs ?? "worker") : null;
  const entry = await measureOnce(name, requests, opts);
  if (before) {
    const after = await pairedBaseline(opts.vs ?? "worker");
    entry.paired = { rps: (before.rps + after.rps) / 2, cpu: (before.cpu + after.cpu) / 2 };
    entry.extra.paired_baseline_rps = round(entry.paired.rps, 1);
    log(
      `  paired ${opts.vs ?? "worker"} baseline: ${fmt(before.rps, 0)} / ${fmt(after.rps, 0)} rps before / after -> ratio ${fmt(entry.rps / entry.paired.rps, 2)}`,
    );
  }
  if (profileRe?.test(name)) {
    log(`  profiling ${name}...`);
    // With a DevTools session attached every console.log is also sent to it, which inflates its cost
    // several times over: the profile runs with logs silenced, and the *_nolog A/B measures them.
    await benchRoute(base, "logs", { method: "POST", query: { on: 0 } });
    const summaries = await profileDuring(
      inspectorPort,
      () =>
        load({
          url: base,
          connections: opts.connections ?? cfg.connections,
          duration: Math.min(cfg.duration, 5),
          warmup: 0,
          requests,
          pids,
        }),
      { modules },
    ).catch((err) => [{ isolate: "?", error: String(err) }]);
    await benchRoute(base, "logs", { method: "POST", query: { on: 1 } });
    profiles.push(...formatProfile(`${name} (console.log silenced)`, summaries), "");
  }
  if (opts.ablateLogs && flags.ablations) {
    await benchRoute(base, "logs", { method: "POST", query: { on: 0 } });
    try {
      await measureOnce(`${name}_nolog`, requests, {
        ...opts,
        paired: false,
        note: "the same, console.log silenced (A/B of the access log)",
      });
    } finally {
      await benchRoute(base, "logs", { method: "POST", query: { on: 1 } });
    }
  }
  return entry;
}

async function measureOnce(
  name,
  requests,
  {
    vs = "worker",
    note = "",
    connections = cfg.connections,
    extraPids = [],
    extra = {},
    duration = cfg.duration,
    warmup = cfg.warmup,
    url = base,
  } = {},
) {
  if (cfg.quietWaitS > 0 && quietBudgetMs > 0) {
    const quiet = await waitForQuiet({
      pids: { ...pids, extra: [fake.pid] },
      maxMs: Math.min(cfg.quietWaitS * 1000, quietBudgetMs),
    });
    quietBudgetMs -= quiet.waitedMs;
    if (quiet.waitedMs > 1000)
      log(
        `  (waited ${(quiet.waitedMs / 1000).toFixed(1)} s for other processes; still ${quiet.otherPct.toFixed(0)}% of a core)`,
      );
  }
  log(`- ${name} (${connections} connections, ${warmup}+${duration} s)`);
  const r = await load({ url, connections, duration, warmup, requests, pids: { ...pids, extra: extraPids } });
  const entry = {
    rps: r.rps,
    p50: r.p50,
    p99: r.p99,
    vs,
    cpu: r.workerdCpuUsPerReq,
    busy: r.workerdCpuPct,
    other: r.otherCpuPct,
    failed: r.failed,
    note,
    extra: { ...extra },
  };
  if (extraPids.length) entry.extra.fake_cpu_us = round(r.extraCpuUsPerReq[0], 0);
  if (r.failed > 0) {
    entry.note = `${note ? `${note}; ` : ""}${r.failed} FAILED ${JSON.stringify(r.detail)}`;
    log(`  !! ${r.failed} failed requests ${JSON.stringify(r.detail)}`);
  }
  results[name] = entry;
  log(
    `  ${fmt(r.rps, 0)} rps, p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms; CPU: workerd ${fmt(r.workerdCpuUsPerReq, 0)} µs/req (${fmt(r.workerdCpuPct, 0)}% of a core), miniflare node ${fmt(r.serverCpuPct, 0)}%, load generator ${fmt(r.clientCpuPct, 0)}%, other processes ${fmt(r.otherCpuPct, 0)}%`,
  );
  return entry;
}

async function scenario(name, fn, { always = false } = {}) {
  if (!always && !wanted(name)) return;
  try {
    await fn();
  } catch (err) {
    log(`  !! ${name} failed: ${err?.stack ?? err}`);
    results[name] ??= {
      rps: null,
      p50: null,
      p99: null,
      vs: "worker",
      note: `error: ${String(err?.message ?? err).slice(0, 200)}`,
      extra: {},
    };
  }
}

const round = (x, d = 2) =>
  x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d;
const fmt = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(d));

// ------------------------------------------------------------------ baselines

async function baselines(suffix) {
  await measure(`baseline_worker${suffix}`, [{ method: "GET", path: "/__bench/noop" }], {
    vs: "-",
    note: "trivial Worker route",
  });
  await measure(`baseline_do${suffix}`, [{ method: "GET", path: "/__bench/do-noop" }], {
    vs: "-",
    note: "Worker + no-op DO RPC",
  });
}

log("\n# baselines (start)");
await baselines("");

// ------------------------------------------------------------------ room lists

let listUser = null;
const applySeeded = { rooms: 0, seconds: 0 };
let syntheticSeeded = 0;
const wantLists = cfg.rooms.some((n) => wanted(`get_room_list_${n}_first`) || wanted(`get_room_list_${n}_last`));

async function measureList(kind, label, user, suffix = "") {
  const total = (await benchRoute(base, "size", { query: { kind } })).size;
  for (const [page, index] of [
    ["first", 0],
    ["last", Math.max(0, total - 20)],
  ]) {
    const name = `get_room_list_${label}_${page}${suffix}`;
    if (!wanted(name)) continue;
    const body = JSON.stringify({ cnt: 20, index });
    const check = must(await act(user, "get_room_list", { cnt: 20, index }), "get_room_list");
    if (check.rooms.length !== 20) throw new Error(`${name}: expected 20 rooms, got ${check.rooms.length}`);
    await measure(
      name,
      rotating([user], "get_room_list", () => body),
      {
        vs: "do",
        duration: Math.max(2, Math.round(cfg.duration * 0.4)),
        note: `${total} listed, index ${index}, cnt 20`,
        extra: { rooms: total, rss_mib: round(memoryOf(pid).rssMiB, 1) },
      },
    );
  }
  return total;
}

if (wantLists) {
  await scenario(
    "get_room_list",
    async () => {
      log("\n# get_room_list: seeding");
      listUser = await login("live_room", "list_reader");
      // 1) Rooms created through the real API, in parallel: login, get_push_url, add_pusher.
      const apiRooms = Math.min(cfg.seedApiRooms, cfg.rooms[0]);
      const before = rss("before creating rooms through the API");
      const t0 = performance.now();
      const cpu0 = cpuMsOf(pid);
      await pool(
        Array.from({ length: apiRooms }, (_, i) => i),
        16,
        async (i) => {
          const u = await login("live_room", `room_owner_${i}`);
          await join(u, `api_room_${String(i).padStart(6, "0")}`);
        },
      );
      const apiSeconds = (performance.now() - t0) / 1000;
      const apiCpu = cpuMsOf(pid) - cpu0;
      notes.push(
        `seeded ${apiRooms} rooms through the real API (login + get_push_url + add_pusher each, 16 in flight) in ${apiSeconds.toFixed(1)} s: ${(apiRooms / apiSeconds).toFixed(0)} rooms/s, ${(apiCpu / apiRooms).toFixed(1)} ms workerd CPU per room`,
      );
      results.seed_rooms_api = {
        rps: apiRooms / apiSeconds,
        p50: null,
        p99: null,
        vs: "-",
        cpu: (apiCpu * 1000) / apiRooms,
        note: "rooms/s through the API (3 requests each)",
        extra: { rooms: apiRooms },
      };
      log(`  ${apiRooms} API rooms in ${apiSeconds.toFixed(1)} s`);
      const after = rss(`${apiRooms} API-created rooms (Room objects live)`);
      notes.push(
        `workerd RSS grew ${(after.rssMiB - before.rssMiB).toFixed(1)} MiB for ${apiRooms} API-created rooms: ${(((after.rssMiB - before.rssMiB) * 1024) / apiRooms).toFixed(0)} KiB per live Room object (its SQLite file, page cache and isolate state) plus their users' sessions`,
      );
      await sleep(2000); // let the seeding's background work (directory syncs, alarms) settle

      for (const size of cfg.rooms) {
        const have = (await benchRoute(base, "size", { query: { kind: "live_room" } })).size;
        if (have < size) {
          const count = size - have;
          const t1 = performance.now();
          await benchRoute(base, "seed", {
            method: "POST",
            query: { kind: "live_room", from: syntheticSeeded, count },
          });
          const s = (performance.now() - t1) / 1000;
          syntheticSeeded += count;
          log(
            `  +${count} rooms via Directory.apply (batches of 500) in ${s.toFixed(1)} s (${(count / s).toFixed(0)} rooms/s)`,
          );
          applySeeded.rooms += count;
          applySeeded.seconds += s;
          results.seed_rooms_apply = {
            rps: applySeeded.rooms / applySeeded.seconds,
            p50: null,
            p99: null,
            vs: "-",
            note: "rooms/s via Directory.apply, batches of 500",
            extra: { rooms: applySeeded.rooms },
          };
          await sleep(2000); // settle: SQLite checkpoint, GC of the seeding garbage
        }
        log(`\n# get_room_list at ${size} rooms`);
        rss(`${size} listed rooms`);
        await measureList("live_room", String(size), listUser);
      }

      // 2) The same page cost when all rooms came through apply() (another kind, another Directory).
      const smallest = cfg.rooms[0];
      const top = cfg.rooms[cfg.rooms.length - 1];
      const wantTarget =
        top !== smallest && (wanted("get_room_list_target_first") || wanted("get_room_list_target_last"));
      let doubleUser = null;
      if (
        wantTarget ||
        wanted(`get_room_list_${smallest}_first_apply`) ||
        wanted(`get_room_list_${smallest}_last_apply`)
      ) {
        log(`\n# get_room_list at ${smallest} rooms, all seeded via Directory.apply (double_room)`);
        await benchRoute(base, "seed", { method: "POST", query: { kind: "double_room", from: 0, count: smallest } });
        doubleUser = await login("double_room", "list_reader");
        await measureList("double_room", String(smallest), doubleUser, "_apply");
      }

      // 3) The latency target, measured interleaved: small, large, small, large... so that both sizes see
      //    the same machine (on a shared box other processes come and go within seconds).
      if (wantTarget) {
        log(`\n# get_room_list target: ${top} vs ${smallest} rooms, interleaved`);
        const rounds = quick ? 2 : 3;
        const d = quick ? 2 : 3;
        const sizes = [
          {
            label: smallest,
            kind: "double_room",
            user: doubleUser,
            total: (await benchRoute(base, "size", { query: { kind: "double_room" } })).size,
          },
          {
            label: top,
            kind: "live_room",
            user: listUser,
            total: (await benchRoute(base, "size", { query: { kind: "live_room" } })).size,
          },
        ];
        for (const page of ["first", "last"]) {
          const acc = sizes.map(() => ({ lat: [], n: 0, s: 0, cpuMs: 0 }));
          for (let round = 0; round < rounds; round++) {
            for (const [i, sz] of sizes.entries()) {
              const index = page === "first" ? 0 : Math.max(0, sz.total - 20);
              const body = JSON.stringify({ cnt: 20, index });
              const r = await load({
                url: base,
                connections: cfg.connections,
                duration: d,
                warmup: 1,
                requests: rotating([sz.user], "get_room_list", () => body),
                pids,
                keepLatencies: true,
              });
              acc[i].lat.push(...r.latencies);
              acc[i].n += r.requests;
              acc[i].s += d;
              acc[i].cpuMs += r.cpuMs;
            }
          }
          const sum = acc.map((a) => {
            a.lat.sort((x, y) => x - y);
            return {
              rps: a.n / a.s,
              p50: percentile(a.lat, 50),
              p99: percentile(a.lat, 99),
              cpu: (a.cpuMs * 1000) / Math.max(1, a.n),
            };
          });
          const [lo, hi] = sum;
          results[`get_room_list_target_${page}`] = {
            rps: hi.rps,
            p50: hi.p50,
            p99: hi.p99,
            vs: "do",
            cpu: hi.cpu,
            paired: { rps: lo.rps, cpu: lo.cpu },
            note: `${top} vs ${smallest} rooms, ${page} page, ${rounds} interleaved rounds: ratio = vs ${smallest}`,
            extra: {
              small_p50_ms: round(lo.p50, 3),
              small_p99_ms: round(lo.p99, 3),
              p50_ratio: round(hi.p50 / lo.p50, 3),
              p99_ratio: round(hi.p99 / lo.p99, 3),
            },
          };
          log(
            `  ${page} page: p50 ${fmt(lo.p50, 2)} ms at ${smallest} vs ${fmt(hi.p50, 2)} ms at ${top} (x${fmt(hi.p50 / lo.p50, 2)}); p99 ${fmt(lo.p99, 2)} vs ${fmt(hi.p99, 2)}; CPU ${fmt(lo.cpu, 0)} vs ${fmt(hi.cpu, 0)} µs/req`,
          );
        }
      }
    },
    { always: true },
  );

  if (wanted("directory_cold_start"))
    await scenario("directory_cold_start", async () => {
      // The Directory loads its whole order index at construction: time the first list after an eviction.
      const size = (await benchRoute(base, "size", { query: { kind: "live_room" } })).size;
      const samples = [];
      for (let i = 0; i < 3; i++) {
        await server.command({ cmd: "evict", script: "bench", className: "Directory", name: "live_room" });
        const t0 = performance.now();
        await benchRoute(base, "list", { query: { kind: "live_room", index: 0, cnt: 20 } });
        samples.push(performance.now() - t0);
        await sleep(200);
      }
      const warm = [];
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        await benchRoute(base, "list", { query: { kind: "live_room", index: 0, cnt: 20 } });
        warm.push(performance.now() - t0);
      }
      samples.sort((a, b) => a - b);
      warm.sort((a, b) => a - b);
      results.directory_cold_start = {
        rps: null,
        p50: percentile(samples, 50),
        p99: samples[samples.length - 1],
        vs: "-",
        note: `first list after evicting the Directory (${size} rooms); warm ${fmt(percentile(warm, 50), 2)} ms`,
        extra: { rooms: size },
      };
      log(
        `- directory_cold_start at ${size} rooms: ${samples.map((s) => s.toFixed(0)).join(", ")} ms (warm ${fmt(percentile(warm, 50), 2)} ms)`,
      );
    });
}

// ------------------------------------------------------------------ the cost ladder

const PROBES = [
  ["log", "worker", "console.log of one access-log line (every app route writes one)"],
  [
    "app-min-route",
    "worker",
    "GET /utils/get_test_rtmpaccurl: the app's whole chain around one md5 (no auth, no body)",
    "/utils/get_test_rtmpaccurl",
  ],
  ["jwt", "worker", "jose HS256 verify of a session token (every room action)"],
  ["push-url", "worker", "sign one push URL (md5): get_push_url's own work"],
  ["usersig", "worker", "userSig verify: inflate + JSON + HMAC (login)"],
  ["jwt-sign", "worker", "jose HS256 sign of a session token (login)"],
  ["kv-get", "worker", "one KV get (a session-cache miss)"],
  ["kv-put", "worker", "one KV put (login)"],
  ["ratelimit", "worker", "one rate limiter call (login, add_pusher)"],
  ["do-sql-read", "do", "DO RPC + one indexed SELECT"],
  ["do-sql-write", "do", "DO RPC + one indexed UPDATE (one commit)"],
  ["do-sql-write-alarm", "do", "DO RPC + UPDATE + setAlarm"],
  [
    "bare-get-push-url",
    "worker",
    "get_push_url's work with the same src/ functions, dispatched without Hono",
    "/__bench/bare/get_push_url",
    "POST",
  ],
  [
    "bare-pusher-heartbeat",
    "do",
    "pusher_heartbeat's work (real Room RPC) dispatched without Hono",
    "/__bench/bare/pusher_heartbeat",
    "POST",
  ],
];
if (!flags["skip-probes"]) {
  log("\n# cost ladder (probes)");
  for (const [probe, vs, what, route, method = "GET"] of PROBES) {
    const name = `probe_${probe.replaceAll("-", "_")}`;
    if (!wanted(name) && cfg.only) continue;
    await scenario(name, () =>
      measure(
        name,
        [
          {
            method,
            path: route ?? `/__bench/probe/${probe}`,
            ...(method === "POST" ? { headers: JSON_HEADERS, body: '{"roomID":"bare_room"}' } : {}),
          },
        ],
        {
          vs,
          note: what,
          duration: cfg.probeDuration,
          warmup: Math.min(cfg.warmup, 1),
        },
      ),
    );
  }
}

// ------------------------------------------------------------------ stateless routes

await scenario("login", async () => {
  log("\n# login");
  const n = 1000;
  const sigs = await pool(
    Array.from({ length: n }, (_, i) => `login_u${i}`),
    32,
    async (u) => [u, await signUser(u)],
  );
  const paths = sigs.map(
    ([u, sig]) => `/live_room/login?${q({ sdkAppID: SDK_APP_ID, accountType: ACCOUNT_TYPE, userID: u, userSig: sig })}`,
  );
  must(await (await fetch(base + paths[0], { method: "POST", body: "{}" })).json(), "login");
  let i = 0;
  await measure(
    "login",
    [
      {
        method: "POST",
        headers: JSON_HEADERS,
        body: "{}",
        setupRequest: (req) => {
          req.path = paths[i++ % n];
          return req;
        },
      },
    ],
    { note: `${n} users round-robin`, paired: true },
  );
  rss("after login");
});

let pushUsers = [];
await scenario("get_push_url", async () => {
  log("\n# get_push_url");
  pushUsers = await pool(
    Array.from({ length: 2 * cfg.connections }, (_, i) => `push_u${i}`),
    16,
    (u) => login("live_room", u),
  );
  must(await act(pushUsers[0], "get_push_url"), "get_push_url");
  await measure(
    "get_push_url",
    rotating(pushUsers, "get_push_url", () => "{}"),
    {
      note: `${pushUsers.length} users round-robin`,
      ablateLogs: true,
      paired: true,
    },
  );
});

// ------------------------------------------------------------------ rooms

await scenario("pusher_heartbeat", async () => {
  log("\n# pusher_heartbeat");
  const roomID = "bench_busy";
  const pushers = await pool(
    [0, 1, 2, 3].map((i) => `hb_u${i}`),
    4,
    (u) => login("live_room", u),
  );
  for (const u of pushers) await join(u, roomID);
  must(await act(pushers[0], "pusher_heartbeat", { roomID }), "pusher_heartbeat");
  const body = JSON.stringify({ roomID });
  await measure(
    "pusher_heartbeat",
    rotating(pushers, "pusher_heartbeat", () => body),
    {
      vs: "do",
      note: "one live_room, 4 pushers round-robin",
      ablateLogs: true,
      paired: true,
    },
  );
  rss("after pusher_heartbeat");
});

await scenario("pusher_churn", async () => {
  log("\n# pusher_churn");
  const pairs = 2 * cfg.connections + 4;
  const residents = await pool(
    Array.from({ length: pairs }, (_, i) => `res_u${i}`),
    16,
    (u) => login("live_room", u),
  );
  const churners = await pool(
    Array.from({ length: pairs }, (_, i) => `churn_u${i}`),
    16,
    (u) => login("live_room", u),
  );
  const free = [];
  const all = [];
  let spare = 0;
  await pool(residents, 8, async (r, i) => {
    const roomID = `bench_churn_${i}`;
    await join(r, roomID);
    const c = churners[i];
    const pushURL = must(await act(c, "get_push_url", { roomID }), "get_push_url").pushURL;
    all.push({
      add: `/live_room/add_pusher?${c.query}`,
      del: `/live_room/delete_pusher?${c.query}`,
      addBody: JSON.stringify({ roomID, userName: c.user, userAvatar: "https://example.test/a.png", pushURL }),
      delBody: JSON.stringify({ roomID }),
    });
  });
  free.push(...all);
  await measure(
    "pusher_churn",
    [
      {
        method: "POST",
        headers: JSON_HEADERS,
        setupRequest: (req, context) => {
          // A run that stops mid-cycle strands its pairs (their churner may still be in the room: the next
          // add_pusher of it is a refresh, still code 0), so an empty free list falls back to round-robin.
          context.pair = free.shift() ?? all[spare++ % all.length];
          req.path = context.pair.add;
          req.body = context.pair.addBody;
          return req;
        },
      },
      {
        method: "POST",
        headers: JSON_HEADERS,
        setupRequest: (req, context) => {
          req.path = context.pair.del;
          req.body = context.pair.delBody;
          return req;
        },
        onResponse: (_status, _body, context) => {
          free.push(context.pair);
        },
      },
    ],
    { vs: "do", note: `add+delete in ${pairs} rooms with a resident pusher` },
  );
  rss("after pusher_churn");
});

await scenario("merge_stream", async () => {
  log("\n# merge_stream");
  const roomID = "bench_mix";
  const creator = await login("live_room", "mix_creator");
  await join(creator, roomID);
  const mergeParams = {
    timestamp: 1_700_000_000,
    eventId: 1_700_000_000,
    interface: {
      interfaceName: "Mix_StreamV2",
      para: {
        app_id: 1250000001,
        interface: "mix_streamv2.start_mix_stream_advanced",
        mix_stream_session_id: "8888_mix_creator",
        output_stream_id: "8888_mix_creator",
        input_stream_list: [
          { input_stream_id: "8888_mix_creator", layout_params: { image_layer: 1 } },
          {
            input_stream_id: "8888_guest",
            layout_params: { image_layer: 2, image_width: 160, image_height: 240, location_x: 440, location_y: 600 },
          },
        ],
      },
    },
  };
  const body = JSON.stringify({ roomID, mergeParams });
  must(await act(creator, "merge_stream", { roomID, mergeParams }), "merge_stream");
  await measure(
    "merge_stream",
    rotating([creator], "merge_stream", () => body),
    {
      note: "creator check + POST to the fake live API",
      extraPids: [fake.pid],
    },
  );
});

// ------------------------------------------------------------------ experiments (before/after)

if (exp?.applied.length && server.expUrl) {
  const origin = server.expUrl;
  // Interleaved, so that both see the same machine: main, experiment, main again (averaged).
  const compare = async (name, _before, requests, opts) => {
    const main = requestsOf.get(name);
    if (!main) return;
    const d = Math.max(3, Math.round(cfg.duration / 2));
    const runMain = () =>
      load({ url: base, connections: cfg.connections, duration: d, warmup: 1, requests: main.requests, pids });
    const a1 = await runMain();
    const after = await measureOnce(`exp_${name}`, requests, {
      ...opts,
      duration: d,
      warmup: 1,
      url: origin,
      note: "with the experiments applied",
    });
    const a2 = await runMain();
    const before = {
      rps: (a1.rps + a2.rps) / 2,
      cpu: (a1.workerdCpuUsPerReq + a2.workerdCpuUsPerReq) / 2,
      p50: (a1.p50 + a2.p50) / 2,
    };
    after.paired = { rps: before.rps, cpu: before.cpu };
    after.note = `vs ${name} run just before and after`;
    log(
      `  ${name}: ${fmt(before.rps, 0)} -> ${fmt(after.rps, 0)} rps, CPU ${fmt(before.cpu, 0)} -> ${fmt(after.cpu, 0)} µs/req`,
    );
    comparisons.push({ name, before, after });
  };
  await scenario("exp_get_push_url", async () => {
    log("\n# experiments: get_push_url");
    const users = await pool(
      Array.from({ length: 2 * cfg.connections }, (_, i) => `push_u${i}`),
      16,
      (u) => login("live_room", u, origin),
    );
    await compare(
      "get_push_url",
      results.get_push_url,
      rotating(users, "get_push_url", () => "{}"),
      {},
    );
  });
  await scenario("exp_pusher_heartbeat", async () => {
    log("\n# experiments: pusher_heartbeat");
    const roomID = "bench_busy";
    const pushers = await pool(
      [0, 1, 2, 3].map((i) => `hb_u${i}`),
      4,
      (u) => login("live_room", u, origin),
    );
    for (const u of pushers) await join(u, roomID);
    must(await act(pushers[0], "pusher_heartbeat", { roomID }), "pusher_heartbeat");
    const body = JSON.stringify({ roomID });
    await compare(
      "pusher_heartbeat",
      results.pusher_heartbeat,
      rotating(pushers, "pusher_heartbeat", () => body),
      { vs: "do" },
    );
  });
  const top = cfg.rooms[cfg.rooms.length - 1];
  await scenario(`exp_get_room_list_${top}_first`, async () => {
    log(`\n# experiments: get_room_list at ${top} rooms`);
    await benchRoute(origin, "seed", { method: "POST", query: { kind: "live_room", from: 0, count: top } });
    await sleep(2000);
    const reader = await login("live_room", "list_reader", origin);
    const check = must(await act(reader, "get_room_list", { cnt: 20, index: 0 }), "get_room_list");
    const mainCheck = listUser
      ? must(await act(listUser, "get_room_list", { cnt: 20, index: 0 }), "get_room_list")
      : null;
    if (check.rooms.length !== 20) throw new Error(`exp get_room_list: expected 20 rooms, got ${check.rooms.length}`);
    if (
      mainCheck &&
      JSON.stringify(mainCheck.rooms.map((r) => r.roomID)) !== JSON.stringify(check.rooms.map((r) => r.roomID))
    ) {
      notes.push("experiment list-one-query: its first page differs from the main worker's (check the ordering)");
    }
    const body = JSON.stringify({ cnt: 20, index: 0 });
    await compare(
      `get_room_list_${top}_first`,
      results[`get_room_list_${top}_first`],
      rotating([reader], "get_room_list", () => body),
      { vs: "do" },
    );
  });
}

// ------------------------------------------------------------------ the Directory's ceiling

await scenario("directory_apply", async () => {
  log("\n# directory ceiling");
  const kind = "live_room";
  if (syntheticSeeded < 1000) {
    // The lists were skipped (--only): give the ceiling a directory of real size to write to.
    await benchRoute(base, "seed", {
      method: "POST",
      query: { kind, from: syntheticSeeded, count: 1000 - syntheticSeeded },
    });
    syntheticSeeded = 1000;
  }
  const poolSize = syntheticSeeded;
  await measure(
    "directory_apply_http",
    [{ method: "POST", path: `/__bench/dir-change?kind=${kind}&pool=${poolSize}` }],
    {
      vs: "do",
      connections: cfg.ceilingConnections,
      note: `1 change per request, ${cfg.ceilingConnections} connections, ${poolSize} rooms`,
    },
  );
  const cpu0 = cpuMsOf(pid);
  const t0 = performance.now();
  await benchRoute(base, "dir-burst", {
    method: "POST",
    query: { kind, pool: poolSize, n: cfg.burst, conc: cfg.ceilingConnections },
  });
  const s = (performance.now() - t0) / 1000;
  const cpu = cpuMsOf(pid) - cpu0;
  results.directory_apply_burst = {
    rps: cfg.burst / s,
    p50: null,
    p99: null,
    vs: "do",
    cpu: (cpu * 1000) / cfg.burst,
    note: `${cfg.burst} changes, ${cfg.ceilingConnections} callers in one Worker request`,
    extra: {},
  };
  log(
    `- directory_apply_burst: ${cfg.burst} changes in ${s.toFixed(2)} s = ${(cfg.burst / s).toFixed(0)}/s, ${((cpu * 1000) / cfg.burst).toFixed(0)} µs CPU each`,
  );
});

// ------------------------------------------------------------------ alarm sweep

await scenario("alarm_sweep", async () => {
  const N = cfg.sweepRooms;
  const T = cfg.sweepTimeoutS;
  log(`\n# alarm sweep: ${N} rooms x 4 pushers, HEARTBEAT_TIMEOUT_S=${T}`);
  const origin = server.sweepUrl;
  const users = await pool(
    Array.from({ length: 4 * N }, (_, i) => `sw_u${i}`),
    16,
    (u) => login("live_room", u, origin),
  );
  const urls = await pool(users, 16, async (u, i) => {
    const roomID = `sweep_${Math.floor(i / 4)}`;
    return must(await act(u, "get_push_url", { roomID }), "get_push_url").pushURL;
  });
  const tJoin = performance.now();
  await pool(users, 16, async (u, i) => {
    const roomID = `sweep_${Math.floor(i / 4)}`;
    must(await act(u, "add_pusher", { roomID, userName: u.user, userAvatar: "", pushURL: urls[i] }), "add_pusher");
  });
  const joinS = (performance.now() - tJoin) / 1000;
  if (joinS > T * 0.7)
    notes.push(
      `alarm sweep: joining took ${joinS.toFixed(1)} s, close to HEARTBEAT_TIMEOUT_S=${T}: raise --sweep-timeout`,
    );
  // One heartbeat from every pusher, as fast as possible: all deadlines land within this burst + T.
  const lastBeat = new Map(); // roomID -> send time (ms, performance clock) of its last heartbeat
  const tBeat = performance.now();
  await pool(users, 32, async (u, i) => {
    const roomID = `sweep_${Math.floor(i / 4)}`;
    const sent = performance.now();
    must(await act(u, "pusher_heartbeat", { roomID }), "pusher_heartbeat");
    lastBeat.set(roomID, Math.max(lastBeat.get(roomID) ?? 0, sent));
  });
  const beatS = (performance.now() - tBeat) / 1000;
  const listed = (await benchRoute(origin, "size", { query: { kind: "live_room" } })).size;
  log(
    `  joined ${4 * N} pushers in ${joinS.toFixed(1)} s, heartbeat burst ${beatS.toFixed(2)} s, ${listed} rooms listed`,
  );
  const deadlines = [...lastBeat.values()].map((t) => t + T * 1000);
  const firstDeadline = Math.min(...deadlines);
  const lastDeadline = Math.max(...deadlines);
  // Poll the directory every 100 ms until it is empty; note when each room disappears.
  const gone = new Map();
  const present = new Set(lastBeat.keys());
  let cpuAtFirst = null;
  const limit = lastDeadline + 60_000;
  while (present.size > 0 && performance.now() < limit) {
    if (cpuAtFirst === null && performance.now() >= firstDeadline - 50) cpuAtFirst = cpuMsOf(pid);
    const now = performance.now();
    const seen = new Set();
    for (let index = 0; ; index += 1000) {
      const page = await benchRoute(origin, "list", { query: { kind: "live_room", index, cnt: 1000 } });
      for (const id of page.rooms) seen.add(id);
      if (page.rooms.length < 1000) break;
    }
    for (const id of [...present]) {
      if (!seen.has(id)) {
        present.delete(id);
        gone.set(id, now);
      }
    }
    await sleep(100);
  }
  const allGone = Math.max(...gone.values());
  const cpuSweep = cpuMsOf(pid) - (cpuAtFirst ?? cpuMsOf(pid));
  const lags = [...gone.entries()].map(([id, t]) => t - (lastBeat.get(id) + T * 1000)).sort((a, b) => a - b);
  const evictions = 4 * gone.size;
  const windowS = (allGone - firstDeadline) / 1000;
  results.alarm_sweep = {
    rps: evictions / windowS,
    p50: percentile(lags, 50),
    p99: percentile(lags, 99),
    vs: "do",
    cpu: (cpuSweep * 1000) / evictions,
    note: `${N} rooms x 4 pushers; rps = evictions/s, p50/p99 = lag`,
    extra: {
      rooms: N,
      pushers: 4 * N,
      all_gone_after_last_deadline_ms: round(allGone - lastDeadline, 0),
      left: present.size,
    },
  };
  if (present.size > 0) notes.push(`alarm sweep: ${present.size} rooms still listed 60 s after their deadline`);
  sweepSummary = `alarm sweep: ${N} rooms x 4 pushers, deadlines spread over ${((lastDeadline - firstDeadline) / 1000).toFixed(2)} s (HEARTBEAT_TIMEOUT_S=${T}); ${gone.size}/${N} rooms gone from the directory, the last ${((allGone - lastDeadline) / 1000).toFixed(2)} s after the last deadline; per room, removal lag after its deadline p50 ${fmt(percentile(lags, 50), 0)} ms, p99 ${fmt(percentile(lags, 99), 0)} ms (upper bound: heartbeat send time + timeout, 100 ms polling); ${fmt((cpuSweep * 1000) / evictions, 0)} µs workerd CPU per evicted pusher`;
  log(
    `- alarm_sweep: ${gone.size}/${N} rooms gone; all gone ${((allGone - lastDeadline) / 1000).toFixed(2)} s after the last deadline; lag p50 ${fmt(percentile(lags, 50), 0)} ms p99 ${fmt(percentile(lags, 99), 0)} ms; ${fmt((cpuSweep * 1000) / evictions, 0)} µs CPU per eviction`,
  );
  rss("after the alarm sweep");
});

// ------------------------------------------------------------------ baselines again, paths

log("\n# baselines (end)");
await baselines("_end");

if (flags["compare-paths"]) {
  log("\n# paths");
  try {
    const paths = await comparePaths({ cfg, directUrl: base, entryUrl: server.entryUrl, pids, log });
    for (const [name, r] of Object.entries(paths)) results[name] = r;
  } catch (err) {
    log(`  !! compare-paths failed: ${err?.stack ?? err}`);
    notes.push(`compare-paths failed: ${String(err?.message ?? err).slice(0, 200)}`);
  }
}

await report();
clearTimeout(hardStop);
await cleanup();
process.exit(0);

// ------------------------------------------------------------------ report

async function report() {
  const avg = (a, b) => (Number.isFinite(a) && Number.isFinite(b) ? (a + b) / 2 : Number.isFinite(a) ? a : b);
  const bw = avg(results.baseline_worker?.rps, results.baseline_worker_end?.rps);
  const bd = avg(results.baseline_do?.rps, results.baseline_do_end?.rps);
  // workerd runs all JS on one thread: saturated, rps ≈ 1 / CPU per request. The CPU ratio (baseline CPU
  // per request / scenario CPU per request) barely moves when other processes steal cores; rps does.
  const cw = avg(results.baseline_worker?.cpu, results.baseline_worker_end?.cpu);
  const cd = avg(results.baseline_do?.cpu, results.baseline_do_end?.cpu);
  for (const [name, r] of Object.entries(results)) {
    const b = r.paired ? r.paired.rps : r.vs === "worker" ? bw : r.vs === "do" ? bd : null;
    r.ratio = b && r.rps !== null && Number.isFinite(r.rps) ? r.rps / b : null;
    if (name.startsWith("baseline_worker")) r.ratio = r.rps / bw;
    if (name.startsWith("baseline_do")) r.ratio = r.rps / bd;
    const c = r.paired
      ? r.paired.cpu
      : r.vs === "worker" || name.startsWith("baseline_worker")
        ? cw
        : r.vs === "do" || name.startsWith("baseline_do")
          ? cd
          : null;
    r.cpuRatio = c && Number.isFinite(r.cpu) && r.cpu > 0 && r.rps !== null ? c / r.cpu : null;
  }

  const rows = Object.entries(results).map(([name, r]) => [
    name,
    fmt(r.rps, 0),
    fmt(r.p50, 2),
    fmt(r.p99, 2),
    r.ratio === null || r.ratio === undefined
      ? "-"
      : `${r.ratio.toFixed(2)}${r.vs === "worker" ? " W" : r.vs === "do" ? " D" : ""}${r.paired ? "p" : ""}`,
    fmt(r.cpu, 0),
    r.cpuRatio === null || r.cpuRatio === undefined ? "-" : r.cpuRatio.toFixed(2),
    fmt(r.busy, 0),
    r.other === undefined ? "-" : `${fmt(r.other, 0)}${r.other > 25 ? "!" : ""}`,
    r.note ?? "",
  ]);
  const head = ["scenario", "rps", "p50 ms", "p99 ms", "ratio", "CPU µs/req", "CPU ratio", "core%", "other%", "what"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)));
  const line = (cells) =>
    cells
      .map((c, i) => (i === 0 || i === cells.length - 1 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])))
      .join("  ");

  const out = [];
  out.push("");
  out.push(
    `RoomService bench — ${new Date().toISOString()} — ${info.nproc} CPUs (${info.cpu}), ${info.memGiB} GiB, Linux ${info.kernel}`,
  );
  out.push(
    `node ${info.node}, miniflare ${info.miniflare}, workerd ${info.workerd}, autocannon ${info.autocannon}; loadavg at start ${info.loadavg.join(" ")}`,
  );
  out.push(
    `duration ${cfg.duration} s + warmup ${cfg.warmup} s per scenario, ${cfg.connections} connections, same workerd for all; total ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  out.push(
    `baselines: trivial Worker route ${fmt(bw, 0)} rps, ${fmt(cw, 0)} µs CPU/req (W); trivial DO RPC round trip ${fmt(bd, 0)} rps, ${fmt(cd, 0)} µs CPU/req (D): averages of the start and end runs`,
  );
  out.push("");
  out.push(line(head));
  out.push(line(widths.map((w) => "-".repeat(w))));
  for (const row of rows) out.push(line(row));

  // Targets.
  out.push("");
  out.push("targets (ratios to the same-run baselines):");
  const target = (label, value, limit, cmp, extra) => {
    if (value === null || value === undefined || !Number.isFinite(value)) return out.push(`  ${label}: not measured`);
    const pass = cmp === ">=" ? value >= limit : value <= limit;
    out.push(`  ${pass ? "HOLDS " : "MISSED"}  ${label}: ${value.toFixed(2)} (target ${cmp} ${limit})${extra ?? ""}`);
  };
  const cpuNote = (r) => (r?.cpuRatio ? `; CPU ratio ${r.cpuRatio.toFixed(2)}` : "");
  target(
    "pusher_heartbeat / trivial DO round trip",
    results.pusher_heartbeat?.ratio,
    0.5,
    ">=",
    cpuNote(results.pusher_heartbeat),
  );
  target("get_push_url / trivial Worker route", results.get_push_url?.ratio, 0.5, ">=", cpuNote(results.get_push_url));
  target("login / trivial Worker route", results.login?.ratio, 0.3, ">=", cpuNote(results.login));
  const lo = cfg.rooms[0];
  const hi = cfg.rooms[cfg.rooms.length - 1];
  for (const page of ["first", "last"]) {
    const t = results[`get_room_list_target_${page}`];
    if (t) {
      target(
        `get_room_list p50 at ${hi} / at ${lo} rooms, ${page} page (interleaved)`,
        t.extra.p50_ratio,
        1.5,
        "<=",
        `; p99 x${fmt(t.extra.p99_ratio, 2)}, CPU/req x${fmt(t.cpu / t.paired.cpu, 2)}`,
      );
      continue;
    }
    const a = results[`get_room_list_${lo}_${page}`];
    const b = results[`get_room_list_${hi}_${page}`];
    if (a && b && hi !== lo) {
      target(`get_room_list p50 at ${hi} / at ${lo} rooms, ${page} page`, b.p50 / a.p50, 1.5, "<=");
      out.push(`         (p99 ratio ${fmt(b.p99 / a.p99, 2)}, rps ratio ${fmt(b.rps / a.rps, 2)})`);
    }
  }

  if (comparisons.length) {
    out.push("");
    out.push(`experiments (same workerd, same run; bench/experiments.mjs: ${exp.applied.join(", ")}):`);
    for (const c of comparisons) {
      const base0 = results[c.name];
      const b = base0?.paired?.rps && base0?.rps ? base0.rps / base0.paired.rps : base0?.ratio;
      out.push(
        `  ${c.name.padEnd(28)} ${fmt(c.before.rps, 0).padStart(6)} -> ${fmt(c.after.rps, 0).padStart(6)} rps (x${fmt(c.after.rps / c.before.rps, 2)}), CPU ${fmt(c.before.cpu, 0)} -> ${fmt(c.after.cpu, 0)} µs/req (x${fmt(c.before.cpu / c.after.cpu, 2)}), p50 ${fmt(c.before.p50, 2)} -> ${fmt(c.after.p50, 2)} ms`,
      );
      if (b && base0?.cpuRatio) {
        out.push(
          `  ${"".padEnd(28)} projected ratio to its baseline: ${fmt(b, 2)} -> ${fmt(b * (c.after.rps / c.before.rps), 2)} (rps), CPU ratio ${fmt(base0.cpuRatio, 2)} -> ${fmt(base0.cpuRatio * (c.before.cpu / c.after.cpu), 2)}`,
        );
      }
    }
    for (const e of EXPERIMENTS) if (exp.applied.includes(e.id)) out.push(`  - ${e.id} (${e.file}): ${e.what}`);
  }
  out.push("");
  out.push("memory of the workerd process (VmRSS; VmHWM = peak):");
  for (const m of memory)
    out.push(`  ${m.label.padEnd(44)} ${m.rssMiB.toFixed(1).padStart(7)} MiB   (peak ${m.hwmMiB.toFixed(1)} MiB)`);
  out.push("");
  const logs = server ? await server.command({ cmd: "logs" }).catch(() => null) : null;
  if (logs) {
    out.push(
      `workerd log lines: ${logs.counts.info} info, ${logs.counts.warn} warn, ${logs.counts.error} error (one JSON line per request is the app's own access log)`,
    );
    for (const line of logs.recent.slice(-5)) out.push(`  last warn/error: ${line.slice(0, 200)}`);
  }
  if (sweepSummary) out.push(sweepSummary);
  for (const n of notes) out.push(`note: ${n}`);
  if (profiles.length) out.push("", ...profiles);
  out.push(
    "ratio: W = rps / trivial Worker route rps, D = rps / trivial DO round trip rps; p = paired: that baseline measured right before and after the row (else the start/end average). CPU µs/req = workerd CPU time (user+sys, /proc) per answered request;",
  );
  out.push(
    "CPU ratio = baseline CPU µs/req / scenario CPU µs/req (workerd runs all JS on one thread, so on a quiet machine rps ratio ≈ CPU ratio; under interference the CPU ratio is the steadier);",
  );
  out.push(
    "core% = workerd's CPU as % of one core; other% = CPU used meanwhile by processes that are not part of the bench (! = over 25%: that row is pessimistic).",
  );

  const json = {};
  for (const [name, r] of Object.entries(results)) {
    json[name] = { rps: round(r.rps, 1), p50_ms: round(r.p50, 3), p99_ms: round(r.p99, 3), ratio: round(r.ratio, 3) };
    if (r.cpu !== undefined) json[name].workerd_cpu_us = round(r.cpu, 0);
    if (r.cpuRatio !== undefined && r.cpuRatio !== null) json[name].cpu_ratio = round(r.cpuRatio, 3);
    for (const [k, v] of Object.entries(r.extra ?? {})) json[name][k] = v;
  }
  process.stdout.write(`${out.join("\n")}\n${JSON.stringify(json)}\n`);
}
