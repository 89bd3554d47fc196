import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" } })],
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    // The worker writes one JSON line per request; keep test output to warnings and errors.
    onConsoleLog: (log) => !log.includes('"level":"info"'),
  },
});
