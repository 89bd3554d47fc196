import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";
it("answers", async () => {
  const r = await exports.default.fetch("http://localhost/x");
  expect(await r.json()).toEqual({ code: 0 });
});
