// Abuse limits through the router: 429 JSON once a client exceeds its budget, others unaffected.
import { describe, expect, it } from "vitest";
import { call } from "../helpers";

describe("rate limits", () => {
  it("get_login_info is limited per client address (429 JSON with retry-after)", async () => {
    const ip = "203.0.113.9";
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    let served = 0;
    for (let i = 0; i < 400 && !limited; i++) {
      const r = await call("utils", "get_login_info", { method: "GET", headers: { "cf-connecting-ip": ip } });
      if (r.status === 429) limited = r;
      else served++;
    }
    expect(served).toBe(300); // the limit in wrangler.toml
    expect(limited?.body).toMatchObject({ code: 429, message: expect.any(String) });
    expect(limited?.headers.get("retry-after")).toBe("60");
    // Another client is unaffected, and so is another action of the same client.
    const other = await call("utils", "get_login_info", {
      method: "GET",
      headers: { "cf-connecting-ip": "203.0.113.10" },
    });
    expect(other.body.code).toBe(0);
    const push = await call("utils", "get_test_pushurl", { method: "GET", headers: { "cf-connecting-ip": ip } });
    expect(push.body.code).toBe(0);
  });
});
