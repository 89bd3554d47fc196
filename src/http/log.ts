// Structured JSON logs: one line per request, plus errors. Only the path and fields named here are ever
// logged: never a query string, a token, a userSig or a key (they travel in query strings).
import type { Context } from "hono";
import type { AppEnv } from "./context";

export function logEvent(level: "info" | "warn" | "error", c: Context<AppEnv>, fields: Record<string, unknown>): void {
  const line = JSON.stringify({
    level,
    requestId: c.get("requestId"),
    method: c.req.method,
    path: c.req.path,
    group: c.get("group"),
    action: c.get("action"),
    ...fields,
  });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/**
 * One Workers Analytics Engine data point per request, when a `METRICS` dataset is bound (optional:
 * add `[[analytics_engine_datasets]] binding = "METRICS"` to an environment). Indexed by action so
 * per-action rates, codes and latency can be queried with SQL.
 */
export function recordMetric(c: Context<AppEnv>, ms: number): void {
  const dataset = (c.env as { METRICS?: AnalyticsEngineDataset }).METRICS;
  if (!dataset) return;
  const group = c.get("group") ?? "-";
  const action = c.get("action") ?? "-";
  try {
    dataset.writeDataPoint({
      indexes: [`${group}/${action}`],
      blobs: [group, action, String(c.get("code") ?? c.res.status)],
      doubles: [ms, c.res.status],
    });
  } catch (err) {
    // Metrics must never fail a request.
    console.warn(JSON.stringify({ level: "warn", event: "metrics_write_failed", error: String(err) }));
  }
}
