// GET /openapi.json and GET /docs: the protocol's OpenAPI 3.1 document and its reference page, both
// built once per isolate from the route table and the valibot schemas (see ./document.ts).
import { Hono } from "hono";
import type { AppEnv } from "../http/context";
import { openApiDocument } from "./document";
import { renderDocsHtml } from "./html";

let docsHtml: string | undefined;

// The page is static: no script, no outside resource. Say so to the browser.
const DOCS_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function apiDocsRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/openapi.json", (c) => {
    const origin = new URL(c.req.url).origin;
    return c.json({ ...openApiDocument(), servers: [{ url: origin, description: "this deployment" }] }, 200, {
      "cache-control": "public, max-age=300",
    });
  });
  app.get("/docs", (c) => {
    docsHtml ??= renderDocsHtml(openApiDocument());
    return c.html(docsHtml, 200, { "content-security-policy": DOCS_CSP, "cache-control": "public, max-age=300" });
  });
  return app;
}
