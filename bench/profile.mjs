// `--profile REGEX`: a V8 CPU profile of workerd's isolates while a scenario runs (after its measured
// run, so the sampling overhead is not in its numbers), summarised as self time per function and per
// source file. Uses the DevTools protocol on Miniflare's inspector port (Node 22's global WebSocket).

/** Opens a DevTools session to every isolate whose id matches `targets`. */
async function connect(port, targets) {
  const list = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const sessions = [];
  for (const t of list) {
    if (!targets.test(t.id)) continue;
    const ws = new WebSocket(t.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve, { once: true });
      ws.addEventListener("error", () => reject(new Error(`inspector: cannot connect to ${t.id}`)), { once: true });
    });
    let nextId = 1;
    const waiting = new Map();
    ws.addEventListener("message", (event) => {
      const msg = JSON.parse(String(event.data));
      if (msg.id && waiting.has(msg.id)) {
        waiting.get(msg.id)(msg);
        waiting.delete(msg.id);
      }
    });
    const send = (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => reject(new Error(`inspector: ${method} timed out`)), 30_000);
        waiting.set(id, (msg) => {
          clearTimeout(timer);
          msg.error ? reject(new Error(`${method}: ${msg.error.message}`)) : resolve(msg.result);
        });
        ws.send(JSON.stringify({ id, method, params }));
      });
    sessions.push({ id: t.id, ws, send });
  }
  return sessions;
}

/**
 * Where each bundled module starts in the bundle: esbuild's non-minified output marks every module
 * with a `// path` comment line. Lets samples be attributed to hono, jose, valibot or a src/ file.
 */
export function moduleMap(bundleCode) {
  const starts = [];
  const lines = bundleCode.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^\/\/ ((?:src|bench|node_modules)\/\S+)$/.exec(lines[i]);
    if (!m) continue;
    const p = m[1];
    const name = p.startsWith("node_modules/") ? p.split("/")[1] : p;
    starts.push([i, name]);
  }
  return starts;
}

function moduleAt(map, line) {
  let lo = 0;
  let hi = map.length - 1;
  let found = "(bundle prelude)";
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (map[mid][0] <= line) {
      found = map[mid][1];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Runs `fn` with the CPU profiler on; returns per-isolate summaries. */
export async function profileDuring(
  port,
  fn,
  { targets = /^core:user:bench$|kv|ratelimit/i, intervalUs = 200, modules = [] } = {},
) {
  const sessions = await connect(port, targets);
  for (const s of sessions) {
    await s.send("Profiler.enable");
    await s.send("Profiler.setSamplingInterval", { interval: intervalUs });
    await s.send("Profiler.start");
  }
  try {
    await fn();
  } finally {
    for (const s of sessions) {
      try {
        const { profile } = await s.send("Profiler.stop");
        s.summary = summarise(profile, modules);
      } catch (err) {
        s.summary = { error: String(err) };
      }
      s.ws.close();
    }
  }
  return sessions.map((s) => ({ isolate: s.id, ...s.summary }));
}

function summarise(profile, modules) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const fnSelf = new Map();
  const modIncl = new Map();
  let idle = 0;
  const bundled = (cf) => cf.url.endsWith("worker.mjs");
  for (const [id, n] of counts) {
    const cf = byId.get(id).callFrame;
    if (cf.functionName === "(idle)") {
      idle += n;
      continue;
    }
    const file = cf.url ? cf.url.replace(/^.*\//, "") : "native";
    const where = bundled(cf) ? moduleAt(modules, cf.lineNumber) : file;
    const name = `${cf.functionName || "(anonymous)"} [${where}${cf.url ? `:${cf.lineNumber + 1}` : ""}]`;
    fnSelf.set(name, (fnSelf.get(name) ?? 0) + n);
    // Module "inclusive of the runtime calls it makes": walk up to the nearest bundled JS frame.
    let cur = id;
    let mod = null;
    while (cur !== undefined) {
      const f = byId.get(cur).callFrame;
      if (f.url && bundled(f)) {
        mod = moduleAt(modules, f.lineNumber);
        break;
      }
      cur = parent.get(cur);
    }
    const key = mod ?? (cf.functionName.startsWith("(") ? cf.functionName : `runtime, no JS caller`);
    modIncl.set(key, (modIncl.get(key) ?? 0) + n);
  }
  const busy = total - idle;
  const top = (m, k) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, n]) => ({ name, pct: Math.round((n * 1000) / Math.max(1, busy)) / 10 }));
  return {
    samples: total,
    busyPct: Math.round((busy * 1000) / Math.max(1, total)) / 10,
    functions: top(fnSelf, 12),
    modules: top(modIncl, 12),
  };
}

/** Human-readable lines for one profiled scenario. */
export function formatProfile(name, summaries) {
  const out = [`profile of ${name} (% of the isolate's busy samples):`];
  for (const s of summaries) {
    if (s.error) {
      out.push(`  ${s.isolate}: ${s.error}`);
      continue;
    }
    if (s.samples === 0) continue;
    out.push(`  isolate ${s.isolate}: ${s.samples} samples, busy ${s.busyPct}%`);
    if (s.samples < 200) continue;
    out.push("    by module (including the runtime calls it makes):");
    for (const f of s.modules) out.push(`    ${String(f.pct).padStart(5)}%  ${f.name}`);
    out.push("    by function (self):");
    for (const f of s.functions) out.push(`    ${String(f.pct).padStart(5)}%  ${f.name}`);
  }
  return out;
}
