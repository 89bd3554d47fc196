// `--compare-paths`: the same trivial route and the same real stateless route (utils/get_test_pushurl),
// served three ways, to show which way of running the worker locally measures the worker and which
// measures the tooling in front of it:
//   direct  — Miniflare, the worker's own socket (unsafeDirectSockets): what the bench uses;
//   entry   — Miniflare's default socket (mf.ready), through its entry worker;
//   wrangler — wrangler's unstable_startWorker (its own bundling, its dev proxy worker in front).
import path from "node:path";
import { findWorkerdPids, load, ROOT } from "./lib.mjs";

export async function comparePaths({ cfg, directUrl, entryUrl, pids, log }) {
  const out = {};
  const routes = [
    ["noop", { method: "GET", path: "/__bench/noop" }],
    ["utils", { method: "GET", path: "/utils/get_test_pushurl" }],
  ];
  const run = async (label, url, procs) => {
    for (const [route, request] of routes) {
      const name = `path_${label}_${route}`;
      log(`- ${name}`);
      const r = await load({
        url,
        connections: cfg.connections,
        duration: cfg.duration,
        warmup: cfg.warmup,
        requests: [request],
        pids: procs,
      });
      out[name] = {
        rps: r.rps,
        p50: r.p50,
        p99: r.p99,
        vs: "worker",
        cpu: r.workerdCpuUsPerReq,
        busy: r.workerdCpuPct,
        other: r.otherCpuPct,
        note: `${route === "noop" ? "trivial route" : "utils/get_test_pushurl"} via ${label}`,
        extra: {},
      };
      log(`  ${r.rps.toFixed(0)} rps, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`);
    }
  };
  await run("miniflare_direct", directUrl, pids);
  await run("miniflare_entry", entryUrl, pids);

  const { unstable_startWorker } = await import("wrangler");
  const t0 = performance.now();
  const worker = await unstable_startWorker({
    config: path.join(ROOT, "wrangler.toml"),
    entrypoint: path.join(ROOT, "bench/bench-worker.ts"),
    dev: {
      server: { hostname: "127.0.0.1", port: 0 },
      inspector: false,
      persist: false,
      watch: false,
      logLevel: "none",
    },
  });
  try {
    await worker.ready;
    const url = (await worker.url).href.replace(/\/$/, "");
    log(`  wrangler unstable_startWorker ready in ${((performance.now() - t0) / 1000).toFixed(1)} s at ${url}`);
    // wrangler runs Miniflare inside this process: its workerd is a child of this process.
    await run("wrangler_startWorker", url, { workerd: findWorkerdPids(process.pid)[0] });
  } finally {
    await worker.dispose();
  }
  return out;
}
