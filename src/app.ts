// The edge router: request id, config check, body limit, CORS, then `/{group}/{action}` for the four
// groups, served again under `/weapp/` (what existing mini-program clients are configured with).
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId } from "hono/request-id";
import { configFor, refusalReason } from "./config";
import type { AppEnv } from "./http/context";
import { logEvent, recordMetric } from "./http/log";
import { limitByClient } from "./http/rate-limit";
import { answer, httpFailure, notFound, onError } from "./http/respond";
import { apiDocsRoutes } from "./openapi";
import { HttpError } from "./protocol/codes";
import { LIMITS } from "./protocol/schemas";
import { KIND_TRAITS } from "./rooms/policy";
import { ROOM_KINDS } from "./rooms/types";
import { ROOM_ACTIONS, runRoomAction } from "./routes/room-actions";
import { UTIL_ACTIONS } from "./routes/utils";

/** The protocol's routes, mounted at `/` and at `/weapp/`. */
function protocolRoutes(): Hono<AppEnv> {
  const api = new Hono<AppEnv>();
  api.use("/utils/get_login_info", limitByClient);
  api.use("/:group/login", limitByClient);
  for (const [name, run] of Object.entries(UTIL_ACTIONS)) {
    api.on(["GET", "POST"], `/utils/${name}`, async (c) => {
      c.set("group", "utils");
      c.set("action", name);
      if (!c.get("config").UTILS_ENABLED) return notFound(c);
      return answer(c, await run(c));
    });
  }
  for (const kind of ROOM_KINDS) {
    for (const [name, def] of Object.entries(ROOM_ACTIONS)) {
      if (def.liveOnly && !KIND_TRAITS[kind].hasLiveExtras) continue;
      api.post(`/${kind}/${name}`, async (c) => {
        c.set("group", kind);
        c.set("action", name);
        return answer(c, await runRoomAction(c, kind, def));
      });
    }
  }
  return api;
}

export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  // Accept a caller's id only if it is short and plain, so logs cannot be forged through it.
  app.use(requestId({ limitLength: 64 }));
  app.use(async (c, next) => {
    const started = Date.now();
    await next();
    const ms = Date.now() - started;
    logEvent("info", c, { status: c.res.status, code: c.get("code"), ms });
    recordMetric(c, ms);
  });
  app.use(async (c, next) => {
    const config = configFor(c.env);
    c.set("config", config);
    const refusal = refusalReason(config, new URL(c.req.url).hostname);
    if (refusal) {
      logEvent("error", c, { error: `refusing to serve: ${refusal}` });
      return httpFailure(c, 503, `service not configured: ${refusal}`);
    }
    await next();
  });
  app.use(
    cors({
      // Only configured origins get CORS headers; native SDK clients send no Origin and are unaffected.
      origin: (origin, c) => (c.get("config").CORS_ORIGINS.includes(origin) ? origin : null),
      allowMethods: ["GET", "POST", "OPTIONS"],
      allowHeaders: ["content-type"],
      exposeHeaders: ["x-request-id"],
      maxAge: 600,
    }),
  );
  app.use(
    bodyLimit({
      maxSize: LIMITS.bodyBytes,
      onError: () => {
        throw new HttpError(413, `body larger than ${LIMITS.bodyBytes} bytes`);
      },
    }),
  );
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        httpFailure(c, 405, `method not allowed; use ${methods.join(", ")}`, { allow: methods.join(", ") }),
    }),
  );

  const api = protocolRoutes();
  app.route("/", apiDocsRoutes()); // GET /openapi.json, GET /docs
  app.route("/", api);
  app.route("/weapp", api);
  app.notFound(notFound);
  app.onError(onError);
  return app;
}
