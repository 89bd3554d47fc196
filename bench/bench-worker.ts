// Bench-only wrapper Worker (never deployed): the real app, untouched, plus the baselines and the
// seeding/driving hooks the harness (bench/run.mjs) needs. Everything under `/__bench/` is answered
// here; every other request goes to the real Hono app exactly as src/index.ts exports it.
//
//   GET  /__bench/noop                        baseline (a): a trivial Worker route, no I/O
//   GET  /__bench/do-noop                     baseline (b): a trivial Durable Object RPC round trip
//   POST /__bench/seed?kind&from&count        upserts `count` synthetic rooms into the kind's Directory
//                                             through its RPC apply(changes), in batches
//   GET  /__bench/size?kind                   Directory.size()
//   GET  /__bench/list?kind&index&cnt         Directory.list() straight, JSON array of roomIDs
//   POST /__bench/dir-change?kind&pool        one single-room change (an existing seeded room, new version)
//   POST /__bench/dir-burst?kind&pool&n&conc  n single-room changes from `conc` concurrent callers inside
//                                             this Worker: the Directory's own ceiling, without HTTP
//   GET  /__bench/probe/<name>                one ingredient of the real routes alone (the "cost ladder"
//                                             of BENCHMARKS.md): see PROBES below
//   POST /__bench/bare/<action>               get_push_url / pusher_heartbeat without the Hono app (see bareRoute)
//   POST /__bench/logs?on=0|1                 silences console.log/info in this isolate (the Worker and its
//                                             Durable Objects share it): the A/B of the access log's cost
import { DurableObject } from "cloudflare:workers";
import { isCurrentSession, openSession } from "../src/auth/sessions";
import { issueToken, verifyToken } from "../src/auth/tokens";
import { generateUserSig, verifyUserSig } from "../src/auth/usersig";
import { configFor, refusalReason } from "../src/config";
import app from "../src/index";
import { accPlayUrl, pushUrl, signerFromConfig } from "../src/live/urls";
import type { DirectoryChange } from "../src/rooms/directory";
import { ROOM_KINDS, type RoomKind, type RoomView } from "../src/rooms/types";

export { Directory, Room } from "../src/index";

/** Baseline (b): a SQLite-backed Durable Object whose method does nothing; plus storage probes. */
export class BenchNoop extends DurableObject<Env> {
  private ready = false;
  private n = 0;

  async ping(): Promise<number> {
    return 1;
  }

  private table(): SqlStorage {
    const sql = this.ctx.storage.sql;
    if (!this.ready) {
      sql.exec("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER NOT NULL, d INTEGER NOT NULL)");
      for (let i = 0; i < 4; i++) sql.exec("INSERT OR IGNORE INTO t (k, v, d) VALUES (?, 0, 0)", `k${i}`);
      this.ready = true;
    }
    return sql;
  }

  /** One indexed read (what a heartbeat's room lookup costs). */
  async sqlRead(): Promise<number> {
    return this.table()
      .exec<{ v: number }>("SELECT v FROM t WHERE k = ?", `k${++this.n % 4}`)
      .one().v === -1
      ? 0
      : 1;
  }

  /** One indexed UPDATE by primary key: the heartbeat's write, nothing else. */
  async sqlWrite(): Promise<number> {
    this.table().exec("UPDATE t SET v = v + 1, d = ? WHERE k = ?", Date.now(), `k${++this.n % 4}`);
    return 1;
  }

  /** The UPDATE plus moving the alarm (what a heartbeat costs when the earliest deadline moves). */
  async sqlWriteAlarm(): Promise<number> {
    const now = Date.now();
    this.table().exec("UPDATE t SET v = v + 1, d = ? WHERE k = ?", now, `k${++this.n % 4}`);
    await this.ctx.storage.setAlarm(now + 3_600_000 + this.n);
    return 1;
  }

  override async alarm(): Promise<void> {}
}

type BenchEnv = Env & { BENCH_NOOP: DurableObjectNamespace<BenchNoop> };

const JSON_HEADERS = { "content-type": "application/json; charset=UTF-8" };
const NOOP_BODY = '{"code":0,"message":"ok"}';
/** Synthetic rooms are created "before" any real one, so real rooms sort after them. */
const SEED_CREATED_AT = 1_600_000_000_000;
const SEED_BATCH = 500;

export const seedRoomID = (i: number) => `seed_${String(i).padStart(6, "0")}`;

/** A listing shaped like the rooms the harness creates through the API: one pusher, signed acc URL. */
function syntheticView(i: number, revision: number): RoomView {
  const roomID = seedRoomID(i);
  const user = `bench_user_${i}`;
  return {
    roomID,
    roomInfo: revision ? `rev ${revision}` : "",
    roomCreator: user,
    mixedPlayURL: `http://play.example.test/live/8888_${user}.flv`,
    pushers: [
      {
        userID: user,
        userName: user,
        userAvatar: "https://example.test/a.png",
        accelerateURL: `rtmp://play.example.test/live/8888_${user}?bizid=8888&txSecret=0123456789abcdef0123456789abcdef&txTime=6A000000`,
      },
    ],
    audienceCount: 0,
  };
}

function syntheticChange(i: number, version: number, revision = 0): DirectoryChange {
  return {
    roomID: seedRoomID(i),
    version,
    entry: { room: syntheticView(i, revision), createdAt: SEED_CREATED_AT + i, version },
  };
}

// Versions of driven changes: above every seeded version (1) and unique in this isolate.
let driveCounter = 0;
const nextDriveVersion = () => 1_000_000 + ++driveCounter;

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: JSON_HEADERS });
}

function intParam(url: URL, name: string, fallback: number): number {
  const n = Number(url.searchParams.get(name) ?? fallback);
  return Number.isSafeInteger(n) ? n : fallback;
}

function kindParam(url: URL): RoomKind {
  const kind = url.searchParams.get("kind") ?? "live_room";
  return (ROOM_KINDS as readonly string[]).includes(kind) ? (kind as RoomKind) : "live_room";
}

// ------------------------------------------------------------------ probes: one ingredient at a time

const originalLog = console.log;
const originalInfo = console.info;
let probeToken: Promise<string> | undefined;
let probeSig: Promise<string> | undefined;
let probeCounter = 0;
const LOG_LINE = {
  level: "info",
  requestId: "0123456789abcdef",
  method: "POST",
  path: "/live_room/pusher_heartbeat",
  group: "live_room",
  action: "pusher_heartbeat",
  status: 200,
  code: 0,
  ms: 1,
};

// "bare" routes: the same work as get_push_url / pusher_heartbeat, with the same src/ functions (config,
// token verification, session check, signing, the Room's RPC), but dispatched by hand instead of through
// the Hono app and its middleware: the floor those routes could reach with a leaner router.
let bare: Promise<{ user: string; token: string; roomID: string }> | undefined;

function bareSetup(env: BenchEnv): Promise<{ user: string; token: string; roomID: string }> {
  bare ??= (async () => {
    const config = configFor(env);
    const user = "bare_user";
    const sid = "1".repeat(32);
    const { token, expiresAt } = await issueToken(config, { user, kind: "live_room", sid });
    await openSession(env, config, "live_room", user, sid, expiresAt);
    const roomID = "bare_room";
    const signer = signerFromConfig(config);
    const stream = `${config.LIVE_BIZID}_${user}`;
    const joined = await env.ROOM.getByName(`live_room:${roomID}`).addPusher(
      { kind: "live_room", roomID },
      { userID: user, userName: user, userAvatar: "", stream, accelerateURL: await accPlayUrl(signer, stream) },
      "",
    );
    if (joined.code !== 0) throw new Error(`bare setup: ${joined.message}`);
    return { user, token, roomID };
  })();
  return bare;
}

async function bareRoute(
  env: BenchEnv,
  request: Request,
  action: "get_push_url" | "pusher_heartbeat",
): Promise<Response> {
  const started = Date.now();
  const url = new URL(request.url);
  const config = configFor(env);
  const refusal = refusalReason(config, url.hostname);
  if (refusal) return json({ code: 503, message: refusal }, 503);
  const { user, token, roomID } = await bareSetup(env);
  // What authenticate() does, minus the framework: query, token, session.
  url.searchParams.getAll("userID");
  const claims = await verifyToken(config, token, "live_room");
  if (!claims || claims.user !== user || !(await isCurrentSession(env, "live_room", claims.user, claims.sid))) {
    return json({ code: 7, message: "auth" });
  }
  const text = await request.text();
  const body = text.trim() === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
  let outcome: { code: number; message: string };
  if (action === "get_push_url") {
    outcome = {
      code: 0,
      message: "请求成功",
      pushURL: await pushUrl(signerFromConfig(config), `${config.LIVE_BIZID}_${user}`),
    } as never;
  } else {
    outcome = await env.ROOM.getByName(`live_room:${roomID}`).heartbeat(
      { kind: "live_room", roomID: (body.roomID as string) ?? roomID },
      user,
    );
  }
  console.log(
    JSON.stringify({
      ...LOG_LINE,
      requestId: crypto.randomUUID(),
      action,
      code: outcome.code,
      ms: Date.now() - started,
    }),
  );
  return new Response(JSON.stringify(outcome), { headers: JSON_HEADERS });
}

const PROBES: Record<string, (env: BenchEnv, request: Request, ctx: ExecutionContext) => Promise<unknown>> = {
  /** The app's access-log line alone (every real route writes one). */
  log: async () => console.log(JSON.stringify({ ...LOG_LINE, requestId: String(++probeCounter) })),
  /** The real app's whole middleware chain and its 404: request id, log, config, CORS, body limit. */
  "app-404": async (env, request, ctx) => {
    const url = new URL(request.url);
    return (await app.fetch(new Request(`${url.origin}/no_such_group/no_such_action`), env, ctx)).text();
  },
  /** jose HS256 verification of a session token (every room action). */
  jwt: async (env) => {
    const config = configFor(env);
    probeToken ??= issueToken(config, { user: "probe_user", kind: "live_room", sid: "0".repeat(32) }).then(
      (t) => t.token,
    );
    if (!(await verifyToken(config, await probeToken, "live_room"))) throw new Error("token");
  },
  /** Signing one push URL: what get_push_url does after authentication. */
  "push-url": async (env) => pushUrl(signerFromConfig(configFor(env)), `8888_probe_${++probeCounter % 64}`),
  /** userSig verification: inflate + JSON + HMAC (login). */
  usersig: async (env) => {
    const config = configFor(env);
    probeSig ??= generateUserSig({
      identifier: "probe_user",
      sdkAppId: 1400000000,
      secretKey: config.TLS_SIG_SECRET_KEY,
      expireSeconds: 86400,
    });
    const v = await verifyUserSig({
      userSig: await probeSig,
      identifier: "probe_user",
      sdkAppId: 1400000000,
      secretKey: config.TLS_SIG_SECRET_KEY,
    });
    if (!v.ok) throw new Error("usersig");
  },
  /** JWT signing (login). */
  "jwt-sign": async (env) => issueToken(configFor(env), { user: "probe_user", kind: "live_room", sid: "0".repeat(32) }),
  /** A KV read of a session (what the session cache saves). */
  "kv-get": async (env) => env.SESSIONS.get(`session:v1:live_room:probe_${++probeCounter % 64}`, "json"),
  /** A KV write of a session (login). */
  "kv-put": async (env) =>
    env.SESSIONS.put(`session:v1:live_room:probe_${++probeCounter % 64}`, '{"sid":"0","exp":0}', {
      expirationTtl: 86400,
    }),
  /** One call of the app's rate limiter binding (login, get_login_info, create_room, add_pusher). */
  ratelimit: async (env) =>
    (env as unknown as { AUTH_LIMITER: RateLimit }).AUTH_LIMITER.limit({ key: `probe:${++probeCounter % 64}` }),
  /** DO: one indexed read. */
  "do-sql-read": async (env) => env.BENCH_NOOP.getByName("probe").sqlRead(),
  /** DO: one indexed UPDATE (one implicit transaction). */
  "do-sql-write": async (env) => env.BENCH_NOOP.getByName("probe").sqlWrite(),
  /** DO: the UPDATE and a setAlarm. */
  "do-sql-write-alarm": async (env) => env.BENCH_NOOP.getByName("probe").sqlWriteAlarm(),
};

async function bench(request: Request, env: BenchEnv, path: string, ctx: ExecutionContext): Promise<Response> {
  const url = new URL(request.url);
  if (path === "/__bench/bare/get_push_url") return bareRoute(env, request, "get_push_url");
  if (path === "/__bench/bare/pusher_heartbeat") return bareRoute(env, request, "pusher_heartbeat");
  if (path.startsWith("/__bench/probe/")) {
    const probe = PROBES[path.slice("/__bench/probe/".length)];
    if (!probe) return json({ code: 404, message: "no such probe" }, 404);
    await probe(env, request, ctx);
    return new Response(NOOP_BODY, { headers: JSON_HEADERS });
  }
  switch (path) {
    case "/__bench/noop":
      return new Response(NOOP_BODY, { headers: JSON_HEADERS });

    case "/__bench/do-noop": {
      const n = await env.BENCH_NOOP.getByName("noop").ping();
      return new Response(n === 1 ? NOOP_BODY : '{"code":500}', { headers: JSON_HEADERS });
    }

    case "/__bench/seed": {
      const dir = env.DIRECTORY.getByName(kindParam(url));
      const from = intParam(url, "from", 0);
      const count = Math.min(intParam(url, "count", 0), 100_000);
      for (let start = from; start < from + count; start += SEED_BATCH) {
        const changes: DirectoryChange[] = [];
        for (let i = start; i < Math.min(start + SEED_BATCH, from + count); i++) changes.push(syntheticChange(i, 1));
        await dir.apply(changes);
      }
      return json({ code: 0, size: await dir.size() });
    }

    case "/__bench/logs": {
      const on = url.searchParams.get("on") !== "0";
      console.log = on ? originalLog : () => {};
      console.info = on ? originalInfo : () => {};
      return json({ code: 0, logs: on });
    }

    case "/__bench/size":
      return json({ code: 0, size: await env.DIRECTORY.getByName(kindParam(url)).size() });

    case "/__bench/list": {
      const rooms = await env.DIRECTORY.getByName(kindParam(url)).list(
        intParam(url, "index", 0),
        intParam(url, "cnt", 20),
      );
      return json({ code: 0, rooms: rooms.map((r) => r.roomID) });
    }

    case "/__bench/dir-change": {
      const pool = Math.max(1, intParam(url, "pool", 1000));
      const v = nextDriveVersion();
      await env.DIRECTORY.getByName(kindParam(url)).apply([syntheticChange(v % pool, v, v)]);
      return new Response(NOOP_BODY, { headers: JSON_HEADERS });
    }

    case "/__bench/dir-burst": {
      const dir = env.DIRECTORY.getByName(kindParam(url));
      const pool = Math.max(1, intParam(url, "pool", 1000));
      const n = Math.min(Math.max(1, intParam(url, "n", 1000)), 200_000);
      const conc = Math.min(Math.max(1, intParam(url, "conc", 32)), 1000);
      let issued = 0;
      const caller = async () => {
        while (issued < n) {
          issued++;
          const v = nextDriveVersion();
          await dir.apply([syntheticChange(v % pool, v, v)]);
        }
      };
      await Promise.all(Array.from({ length: conc }, caller));
      return json({ code: 0, n, conc });
    }

    default:
      return json({ code: 404, message: "no such bench route" }, 404);
  }
}

export default {
  fetch(request, env, ctx) {
    // A cheap prefix test keeps the real routes' overhead to one string comparison.
    const url = request.url;
    const pathStart = url.indexOf("/", url.indexOf("//") + 2);
    if (pathStart < 0 || !url.startsWith("/__bench/", pathStart)) return app.fetch(request, env, ctx);
    return bench(request, env, url.slice(pathStart).split("?", 1)[0]!, ctx);
  },
} satisfies ExportedHandler<BenchEnv>;
