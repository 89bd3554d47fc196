// The Miniflare side of the bench, in its own Node process: it owns workerd (and the Node-side work
// Miniflare does for it, such as parsing every structured log line), so that none of that shares an
// event loop with the load generator in bench/run.mjs.
//
// Protocol (one JSON object per line):
//   stdout  READY {entryUrl, benchUrl, sweepUrl, workerdPid}
//           REPLY {id, ok, error?, ...}
//   stdin   {id, cmd: "evict", script, className, name}   evicts one Durable Object from memory
//           {id, cmd: "logs"}                             counts of workerd log lines by level
//           {id, cmd: "dispose"}                          stops workerd and exits
// Closing stdin also stops everything: the bench never leaves a workerd behind.
import fs from "node:fs";
import readline from "node:readline";
import { findWorkerdPid, startMiniflare } from "./lib.mjs";

const opts = JSON.parse(process.env.BENCH_SERVER ?? "{}");
const code = fs.readFileSync(`${opts.outDir}/worker.mjs`, "utf8");
const expCode = opts.experiments ? fs.readFileSync(`${opts.outDir}/worker-exp.mjs`, "utf8") : undefined;
const counts = { info: 0, warn: 0, error: 0 };
const recent = [];

const rt = await startMiniflare({
  code,
  expCode,
  outDir: opts.outDir,
  liveApiUrl: opts.liveApiUrl,
  sweepTimeoutS: opts.sweepTimeoutS,
  storageDir: opts.storageDir,
  inspectorPort: opts.inspectorPort,
  onLog: (entry) => {
    const level = entry.level === "error" ? "error" : entry.level === "warn" ? "warn" : "info";
    counts[level]++;
    if (level !== "info") {
      const line = String(entry.message ?? "").slice(0, 400);
      recent.push(line);
      if (recent.length > 20) recent.shift();
      if (opts.verbose) process.stderr.write(`[workerd ${level}] ${line}\n`);
    }
  },
});

let disposing = false;
async function dispose(code = 0) {
  if (disposing) return;
  disposing = true;
  await rt.mf.dispose().catch(() => {});
  process.exit(code);
}

const reply = (obj) => process.stdout.write(`REPLY ${JSON.stringify(obj)}\n`);
const lines = readline.createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  try {
    if (msg.cmd === "evict") {
      await rt.mf.unsafeEvictDurableObject(msg.script, msg.className, { name: msg.name });
      reply({ id: msg.id, ok: true });
    } else if (msg.cmd === "logs") {
      reply({ id: msg.id, ok: true, counts, recent });
    } else if (msg.cmd === "dispose") {
      reply({ id: msg.id, ok: true });
      await dispose(0);
    } else {
      reply({ id: msg.id, ok: false, error: `unknown command ${msg.cmd}` });
    }
  } catch (err) {
    reply({ id: msg.id, ok: false, error: String(err?.message ?? err) });
  }
});
lines.on("close", () => dispose(0));
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => dispose(0));

process.stdout.write(
  `READY ${JSON.stringify({ entryUrl: rt.entryUrl, benchUrl: rt.benchUrl, sweepUrl: rt.sweepUrl, expUrl: rt.expUrl, workerdPid: findWorkerdPid() })}\n`,
);
