// The OpenAPI document against the router: it lists exactly the routes the router serves, it is a
// well-formed OpenAPI 3.1 document, and real answers of the running worker conform to the schemas it
// documents (checked with the small JSON Schema validator beside this file, in "closed" mode: an
// answer may carry no field the document does not name). Requests go through the worker's own fetch
// handler via the typed client, so the client is exercised too.
import { exports } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createFakeLiveApi, fetchVia } from "../../dev/fake-live-api";
import { createApp } from "../../src/app";
import { expectOk, type FetchLike, isOk, RoomServiceClient, TransportError } from "../../src/client";
import type { OpenApiDocument } from "../../src/openapi/document";
import { ROOM_RESPONSES, UTIL_RESPONSES } from "../../src/openapi/responses";
import { KIND_TRAITS } from "../../src/rooms/policy";
import { ROOM_KINDS } from "../../src/rooms/types";
import { ROOM_ACTIONS } from "../../src/routes/room-actions";
import { UTIL_ACTIONS } from "../../src/routes/utils";
import { BASE, randomName } from "../helpers";
import { refsIn, resolveRef, validate } from "./json-schema";

type Json = Record<string, any>;

interface Exchange {
  path: string;
  method: string;
  status: number;
  body: Json;
}

/** Every answer the suite sees, to be checked against the document. */
const exchanges: Exchange[] = [];

const recordingFetch: FetchLike = async (input, init) => {
  const res = await exports.default.fetch(input, init);
  const body = await res.clone().text();
  exchanges.push({
    path: new URL(input).pathname,
    method: (init.method ?? "GET").toLowerCase(),
    status: res.status,
    body: JSON.parse(body),
  });
  return res;
};

const client = (prefix = "") => new RoomServiceClient({ baseUrl: BASE, prefix, fetch: recordingFetch });

async function raw(path: string, init: RequestInit = {}): Promise<Response> {
  return recordingFetch(`${BASE}${path}`, { method: "POST", ...init });
}

let doc: OpenApiDocument;
beforeAll(async () => {
  const res = await exports.default.fetch(`${BASE}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("application/json");
  doc = (await res.json()) as OpenApiDocument;
});

/** The routes the router serves, derived from the route table (not from the document's code). */
function expectedRoutes(): Map<string, string[]> {
  const routes = new Map<string, string[]>();
  for (const prefix of ["", "/weapp"]) {
    for (const action of Object.keys(UTIL_ACTIONS)) routes.set(`${prefix}/utils/${action}`, ["get", "post"]);
    for (const kind of ROOM_KINDS) {
      for (const [action, def] of Object.entries(ROOM_ACTIONS)) {
        if (!def.liveOnly || KIND_TRAITS[kind].hasLiveExtras) routes.set(`${prefix}/${kind}/${action}`, ["post"]);
      }
    }
  }
  return routes;
}

/** The routes the Hono app actually registered (middleware is method ALL). */
function registeredRoutes(): Map<string, string[]> {
  const routes = new Map<string, string[]>();
  for (const r of createApp().routes) {
    if (r.method === "ALL" || r.path === "/openapi.json" || r.path === "/docs") continue;
    routes.set(r.path, [...(routes.get(r.path) ?? []), r.method.toLowerCase()].sort());
  }
  return routes;
}

function documentedRoutes(): Map<string, string[]> {
  return new Map(
    Object.entries(doc.paths).map(([path, item]) => [path, ["get", "post"].filter((m) => m in item).sort()]),
  );
}

const sorted = (m: Map<string, string[]>) =>
  [...m.entries()].map(([p, ms]) => `${[...ms].sort().join(",")} ${p}`).sort();

describe("the document lists every route the router serves", () => {
  it("matches the route table and the routes the app registered, under / and /weapp", () => {
    const documented = sorted(documentedRoutes());
    expect(documented).toEqual(sorted(expectedRoutes()));
    expect(documented).toEqual(sorted(registeredRoutes()));
    // 3 utils + 10 room actions x 3 kinds + 6 live_room-only actions, twice.
    expect(documented).toHaveLength(2 * (3 + 10 * 3 + 6));
    expect(doc.paths).toHaveProperty(["/live_room/add_pusher"]);
    expect(doc.paths).toHaveProperty(["/weapp/multi_room/get_room_list"]);
  });

  it("every documented path and method answers something other than 404", async () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of ["get", "post"].filter((m) => m in item)) {
        const res = await exports.default.fetch(`${BASE}${path}`, {
          method: method.toUpperCase(),
          body: method === "post" ? "{}" : undefined,
          headers: { "content-type": "application/json" },
        });
        expect(res.status, `${method} ${path}`).not.toBe(404);
        const body = (await res.json()) as Json;
        expect(typeof body.code, `${method} ${path}`).toBe("number");
      }
    }
  });

  it("undocumented paths are 404", async () => {
    for (const path of [
      "/multi_room/add_audience",
      "/double_room/merge_stream",
      "/weapp/multi_room/get_custom_info",
      "/weapp/double_room/set_custom_field",
      "/utils/nothing",
      "/live_room/nothing",
      "/weapp/openapi.json",
      "/weapp/docs",
      "/rooms/login",
    ]) {
      expect(doc.paths[path], path).toBeUndefined();
      const res = await raw(path, { body: "{}" });
      expect(res.status, path).toBe(404);
    }
  });
});

describe("the document is well-formed OpenAPI 3.1", () => {
  it("has the top-level fields, operations and components", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(doc.servers).toEqual([{ url: BASE, description: expect.any(String) }]);
    expect(Object.keys(doc.components.schemas).length).toBeGreaterThan(20);
    const tags = new Set(doc.tags.map((t) => t.name));
    const operationIds = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      expect(path).toMatch(/^\/(weapp\/)?(utils|live_room|double_room|multi_room)\/[a-z_]+$/);
      for (const [key, op] of Object.entries(item as Json)) {
        if (key.startsWith("x-")) continue;
        expect(["get", "post"]).toContain(key);
        expect(operationIds.has(op.operationId), op.operationId).toBe(false);
        operationIds.add(op.operationId);
        expect(tags.has(op.tags[0])).toBe(true);
        expect(op.summary).toEqual(expect.any(String));
        expect(Object.keys(op.responses)).toContain("200");
        for (const [status, response] of Object.entries(op.responses as Json)) {
          expect(status).toMatch(/^(200|400|405|413|429|500|503)$/);
          const resolved = (response as Json).$ref ? resolveRef(doc, (response as Json).$ref) : (response as Json);
          expect(resolved.content["application/json"].schema).toBeDefined();
        }
        for (const p of op.parameters)
          expect(p).toMatchObject({ name: expect.any(String), in: "query", schema: expect.any(Object) });
      }
    }
    // Every $ref resolves, and no generated schema carries its own $schema dialect.
    for (const r of refsIn(doc)) expect(() => resolveRef(doc, r), r).not.toThrow();
    expect(JSON.stringify(doc)).not.toContain('"$schema"');
  });

  it("documents the query parameters of each kind of action", () => {
    const names = (path: string) => (doc.paths[path]!.post as Json).parameters.map((p: Json) => p.name).sort();
    expect(names("/live_room/login")).toEqual(["accountType", "sdkAppID", "userID", "userSig"]);
    expect(names("/weapp/double_room/get_pushers")).toEqual(["token", "userID"]);
    const info = doc.paths["/utils/get_login_info"]!.get as Json;
    expect(info.parameters).toMatchObject([{ name: "userID", required: false }]);
    const body: Json = resolveRef(
      doc,
      (doc.paths["/live_room/add_pusher"]!.post as Json).requestBody.content["application/json"].schema.$ref,
    );
    expect(body.required).toEqual(["roomID", "userName", "userAvatar", "pushURL"]);
    expect(body.properties.roomInfo["x-maxUtf8Bytes"]).toBe(1024);
  });

  it("the response table covers exactly the route table's actions", () => {
    expect(Object.keys(ROOM_RESPONSES).sort()).toEqual(Object.keys(ROOM_ACTIONS).sort());
    expect(Object.keys(UTIL_RESPONSES).sort()).toEqual(Object.keys(UTIL_ACTIONS).sort());
  });
});

describe("answers of the running worker conform to the document", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("utils, under both prefixes, GET and POST", async () => {
    for (const prefix of ["", "/weapp"]) {
      const rs = client(prefix);
      for (const method of ["GET", "POST"] as const) {
        const info = expectOk(await rs.utils.get_login_info({ userID: "alice_1" }, method));
        expect(info.userID).toBe("alice_1");
        expectOk(await rs.utils.get_login_info({}, method));
        expectOk(await rs.utils.get_test_pushurl(method));
        expectOk(await rs.utils.get_test_rtmpaccurl(method));
      }
      expect((await rs.utils.get_login_info({ userID: "not valid!" })).code).toBe(2);
    }
  });

  it("a whole live_room session, with its failures", async () => {
    const host = client();
    const guest = client();
    const viewer = client();
    for (const c of [host, guest, viewer]) expectOk(await c.loginAs("live_room"), "login");
    const roomID = randomName("oa");
    expectOk(await host.live_room.create_room({ roomID, roomInfo: "openapi conformance" }));
    expect((await host.live_room.create_room({ roomID, roomInfo: "again" })).code).toBe(11);
    for (const c of [host, guest]) {
      const { pushURL } = expectOk(await c.live_room.get_push_url());
      expectOk(await c.live_room.add_pusher({ roomID, userName: c.live_room.userID!, userAvatar: "a.png", pushURL }));
    }
    expectOk(await guest.live_room.pusher_heartbeat({ roomID }));
    const pushers = expectOk(await viewer.live_room.get_pushers({ roomID }));
    expect(pushers.pushers.map((p) => p.userID)).toEqual([host.live_room.userID, guest.live_room.userID]);
    expect((await viewer.live_room.get_pushers({ roomID: randomName("none") })).code).toBe(1);
    const list = expectOk(await viewer.live_room.get_room_list({ cnt: "100", index: 0 }));
    expect(list.rooms.some((r) => r.roomID === roomID)).toBe(true);
    expectOk(await viewer.live_room.add_audience({ roomID, userInfo: '{"nick":"v"}' }));
    expect(expectOk(await host.live_room.get_audiences({ roomID })).audiences).toHaveLength(1);
    const counter = expectOk(await viewer.live_room.set_custom_field({ roomID, fieldName: "likes", operation: "inc" }));
    expect(JSON.parse(counter.customInfo)).toEqual({ likes: 1 });
    expectOk(await host.live_room.get_custom_info({ roomID }));

    const fake = createFakeLiveApi();
    vi.spyOn(globalThis, "fetch").mockImplementation(fetchVia(fake));
    const mergeParams = { timestamp: 1, eventId: 1, interface: { interfaceName: "Mix_StreamV2", para: {} } };
    const merged = expectOk(await host.live_room.merge_stream({ roomID, mergeParams }));
    expect(merged.result.code).toBe(0);
    expect((await guest.live_room.merge_stream({ roomID, mergeParams })).code).toBe(3);
    expect((await host.live_room.merge_stream({ roomID, mergeParams: 42 })).code).toBe(2);

    expectOk(await viewer.live_room.delete_audience({ roomID }));
    expect((await viewer.live_room.pusher_heartbeat({ roomID })).code).toBe(5);
    expect((await guest.live_room.destroy_room({ roomID })).code).toBe(3);
    expectOk(await guest.live_room.delete_pusher({ roomID }));
    expectOk(await host.live_room.destroy_room({ roomID }));
    expect((await host.live_room.get_custom_info({ roomID })).code).toBe(3);
    expectOk(await viewer.live_room.logout());
    expect(viewer.live_room.session).toBeUndefined();
    expect((await viewer.live_room.send("get_room_list", { cnt: 1, index: 0 })).code).toBe(7); // no session
  });

  it("double_room and multi_room under /weapp", async () => {
    for (const kind of ["double_room", "multi_room"] as const) {
      const user = client("/weapp");
      expectOk(await user.loginAs(kind));
      const room = user.room(kind);
      const roomID = randomName(kind);
      const { pushURL } = expectOk(await room.get_push_url({ roomID }));
      expect(pushURL).toContain(`_${roomID}_`);
      expectOk(await room.add_pusher({ roomID, roomInfo: "r", userName: "n", userAvatar: "a", pushURL }));
      expectOk(await room.get_pushers({ roomID }));
      expect(expectOk(await room.get_room_list({ cnt: 0, index: 0 })).rooms).toEqual([]);
      expectOk(await room.delete_pusher({ roomID }));
      expect((await room.delete_pusher({ roomID })).code).toBe(3);
      // A token of one group is refused by another.
      const other = new RoomServiceClient({ baseUrl: BASE, prefix: "/weapp", fetch: recordingFetch }).live_room;
      other.session = room.session;
      expect((await other.get_push_url()).code).toBe(7);
    }
  });

  it("login failures and the non-200 statuses", async () => {
    const rs = client();
    const info = expectOk(await rs.utils.get_login_info({ userID: "bob_2" }));
    const login = { sdkAppID: info.sdkAppID, accountType: info.accType, userID: "bob_2", userSig: info.userSig };
    expect((await rs.multi_room.login({ ...login, userSig: "" })).code).toBe(4);
    expect((await rs.multi_room.login({ ...login, userID: "someone_else" })).code).toBe(7);
    expect((await rs.multi_room.login({ ...login, sdkAppID: 1 })).code).toBe(7);
    expectOk(await rs.multi_room.login(login));

    expect((await raw("/live_room/nothing")).status).toBe(404);
    expect((await raw("/weapp/multi_room/add_audience")).status).toBe(404);
    expect((await raw("/live_room/create_room", { method: "GET" })).status).toBe(405);
    expect((await raw("/utils/get_test_pushurl", { method: "PUT" })).status).toBe(405);
    expect((await raw("/double_room/login", { body: "{not json" })).status).toBe(400);
    expect((await raw("/weapp/multi_room/login", { body: "[1]" })).status).toBe(400);
    const big = JSON.stringify({ roomID: "r", pad: "x".repeat(70 * 1024) });
    expect((await raw("/live_room/get_pushers", { body: big })).status).toBe(413);
  });

  it("the validator has teeth: extra fields, wrong types and wrong codes fail", () => {
    const success = { $ref: "#/components/schemas/GetPushUrlSuccess" };
    const answer = { code: 0, message: "请求成功", pushURL: "rtmp://x" };
    expect(validate(doc, success, answer, "$", true)).toEqual([]);
    expect(validate(doc, success, { ...answer, extra: 1 }, "$", true)).toEqual(["$.extra: not allowed"]);
    expect(validate(doc, success, { ...answer, pushURL: 1 }, "$", true)).not.toEqual([]);
    const either = (doc.paths["/live_room/get_push_url"]!.post as Json).responses["200"].content["application/json"]
      .schema;
    expect(validate(doc, either, { code: 7, message: "鉴权失败" }, "$", true)).toEqual([]);
    expect(validate(doc, either, { code: 5001, message: "房间已满" }, "$", true)).not.toEqual([]);
  });

  it("every recorded answer matches its documented schema (closed objects)", () => {
    expect(exchanges.length).toBeGreaterThan(60);
    const successes = new Set<string>();
    for (const x of exchanges) {
      const item = doc.paths[x.path] as Json | undefined;
      let schema: Json;
      if (!item) {
        expect(x.status, `${x.path} is undocumented`).toBe(404);
        schema = (resolveRef(doc, "#/components/responses/Http404") as Json).content["application/json"].schema;
      } else {
        const op = item[x.method];
        const documented =
          op?.responses?.[String(x.status)] ?? (x.status === 405 ? doc.components.responses.Http405 : undefined);
        expect(documented, `${x.method} ${x.path} -> ${x.status} is documented`).toBeDefined();
        const response = documented.$ref ? resolveRef(doc, documented.$ref) : documented;
        schema = response.content["application/json"].schema;
      }
      const problems = validate(doc, schema, x.body, "$", true);
      expect(problems, `${x.method} ${x.path} -> ${x.status} ${JSON.stringify(x.body).slice(0, 300)}`).toEqual([]);
      if (x.status === 200 && x.body.code === 0) successes.add(x.path.replace(/^\/weapp/, "").split("/")[2]!);
    }
    // The suite saw a success of every action: each success schema was checked against a real answer.
    expect([...successes].sort()).toEqual([...Object.keys(ROOM_ACTIONS), ...Object.keys(UTIL_ACTIONS)].sort());
  });
});

describe("the typed client", () => {
  it("holds the session after login and forgets it after logout", async () => {
    const rs = client("/weapp");
    expect(rs.live_room.session).toBeUndefined();
    const answer = await rs.loginAs("live_room", "carol_3");
    expect(isOk(answer)).toBe(true);
    expect(rs.live_room.userID).toBe("carol_3");
    expect(rs.live_room.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(rs.multi_room.session).toBeUndefined(); // sessions are per group
    expectOk(await rs.live_room.logout());
    expect(rs.live_room.session).toBeUndefined();
  });

  it("raises TransportError when there is no JSON answer, without echoing the query string", async () => {
    const html: FetchLike = async () => new Response("<html>proxy error</html>", { status: 502 });
    const rs = new RoomServiceClient({ baseUrl: BASE, fetch: html });
    rs.live_room.session = { userID: "dave", token: "secret-token" };
    const err = await rs.live_room.get_push_url().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).status).toBe(502);
    expect(String(err)).not.toContain("secret-token");
    const down: FetchLike = async () => {
      throw new TypeError("connection refused");
    };
    const err2 = await new RoomServiceClient({ fetch: down }).utils.get_test_pushurl().catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(TransportError);
  });

  it("throws ProtocolFailure from expectOk on a non-zero code", async () => {
    const rs = client();
    expect(() => expectOk({ code: 7, message: "鉴权失败" }, "get_push_url")).toThrow(/get_push_url: code 7/);
    expect((await rs.live_room.get_push_url()).code).toBe(7);
  });
});

describe("/docs", () => {
  it("is one self-contained HTML page listing every route", async () => {
    const res = await exports.default.fetch(`${BASE}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await res.text();
    for (const path of Object.keys(doc.paths)) {
      // Each route has its section; each /weapp route is named in the section of the route it repeats.
      expect(html, path).toContain(
        path.startsWith("/weapp/") ? `<code>${path}</code>` : `<code class="path">${path}</code>`,
      );
    }
    // Offline: no script, no stylesheet or image fetched from anywhere.
    expect(html).not.toMatch(/<script|<link|\ssrc=|@import|url\(/i);
    for (const text of ["请求成功", "房间已满", "HTTP 413", "RoomView", "/openapi.json"]) expect(html).toContain(text);
  });

  it("does not exist under /weapp and answers GET only", async () => {
    expect((await exports.default.fetch(`${BASE}/weapp/docs`)).status).toBe(404);
    expect((await exports.default.fetch(`${BASE}/docs`, { method: "POST" })).status).toBe(405);
  });
});
