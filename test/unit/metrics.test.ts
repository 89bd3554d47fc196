// Per-request Analytics Engine data points, written only when a METRICS dataset is bound.
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";

describe("metrics", () => {
  it("writes one data point per request with group, action, code and latency", async () => {
    const writeDataPoint = vi.fn();
    const app = createApp();
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const res = await app.fetch(
      new Request("http://localhost/utils/get_test_rtmpaccurl"),
      { ...env, METRICS: { writeDataPoint } },
      ctx,
    );
    expect(res.status).toBe(200);
    expect(writeDataPoint).toHaveBeenCalledTimes(1);
    const point = writeDataPoint.mock.calls[0]![0];
    expect(point.indexes).toEqual(["utils/get_test_rtmpaccurl"]);
    expect(point.blobs).toEqual(["utils", "get_test_rtmpaccurl", "0"]);
    expect(point.doubles[1]).toBe(200);
  });

  it("a failing dataset never fails the request, and no binding means no metrics", async () => {
    const app = createApp();
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const broken = {
      writeDataPoint: () => {
        throw new Error("down");
      },
    };
    const res = await app.fetch(new Request("http://localhost/nope"), { ...env, METRICS: broken }, ctx);
    expect(res.status).toBe(404);
    expect((await app.fetch(new Request("http://localhost/nope"), env, ctx)).status).toBe(404);
  });
});
