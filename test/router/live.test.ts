// Contract section 6 through the router: audiences, custom fields, merge_stream against a mocked
// cloud live API (the global fetch is replaced by the local fake: no request leaves the isolate).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createFakeLiveApi, type FakeLiveApi, fetchVia } from "../../dev/fake-live-api";
import { DEMO_SECRETS } from "../../src/config";
import { md5Hex } from "../../src/util/crypto";
import { Client, randomName } from "../helpers";

async function liveRoom(): Promise<{ host: Client; roomID: string }> {
  const host = await Client.login("live_room");
  const roomID = randomName("live");
  expect((await host.do("create_room", { roomID, roomInfo: "show" })).code).toBe(0);
  expect((await host.join(roomID)).code).toBe(0);
  return { host, roomID };
}

describe("audiences", () => {
  it("add, refresh, list, delete; bounded by MAX_AUDIENCES with refresh allowed when full", async () => {
    const { host, roomID } = await liveRoom();
    const viewers = await Promise.all(Array.from({ length: 31 }, () => Client.login("live_room")));
    for (const v of viewers.slice(0, 30)) {
      expect((await v.do("add_audience", { roomID, userInfo: JSON.stringify({ n: v.user }) })).code).toBe(0);
    }
    expect((await viewers[30]!.do("add_audience", { roomID, userInfo: "late" })).code).toBe(5001);
    expect((await viewers[0]!.do("add_audience", { roomID, userInfo: "again" })).code).toBe(0);

    const r = await host.do("get_audiences", { roomID });
    expect(r.code).toBe(0);
    expect(r.audiences).toHaveLength(30);
    const first = r.audiences.find((a: { userID: string }) => a.userID === viewers[0]!.user);
    expect(first).toEqual({ userID: viewers[0]!.user, userInfo: "again" });

    expect((await viewers[1]!.do("delete_audience", { roomID })).code).toBe(0);
    expect((await host.do("get_audiences", { roomID })).audiences).toHaveLength(29);
    expect((await host.do("get_pushers", { roomID })).audienceCount).toBe(29);
    const listed = (await host.do("get_room_list", { index: 0, cnt: 100 })).rooms.find(
      (x: { roomID: string }) => x.roomID === roomID,
    );
    expect(listed.audienceCount).toBe(29);
    expect((await viewers[30]!.do("add_audience", { roomID, userInfo: "now fits" })).code).toBe(0);
  });

  it("unknown room is code 3; bad input is code 2 and changes nothing", async () => {
    const { host, roomID } = await liveRoom();
    const v = await Client.login("live_room");
    const nowhere = randomName("nope");
    expect((await v.do("add_audience", { roomID: nowhere, userInfo: "x" })).code).toBe(3);
    expect((await v.do("delete_audience", { roomID: nowhere })).code).toBe(3);
    expect((await v.do("get_audiences", { roomID: nowhere })).code).toBe(3);
    expect((await v.do("add_audience", { roomID, userInfo: "x".repeat(1025) })).code).toBe(2);
    expect((await v.do("add_audience", { roomID })).code).toBe(2);
    expect((await v.do("add_audience", { roomID, userInfo: { not: "a string" } })).code).toBe(2);
    expect((await host.do("get_audiences", { roomID })).audiences).toEqual([]);
  });

  it("audiences go with the room", async () => {
    const { host, roomID } = await liveRoom();
    const v = await Client.login("live_room");
    expect((await v.do("add_audience", { roomID, userInfo: "x" })).code).toBe(0);
    expect((await host.do("destroy_room", { roomID })).code).toBe(0);
    expect((await v.do("get_audiences", { roomID })).code).toBe(3);
    // A new room with the same id starts empty.
    expect((await host.join(roomID)).code).toBe(0);
    expect((await host.do("get_audiences", { roomID })).audiences).toEqual([]);
  });
});

describe("custom fields", () => {
  const info = (r: Record<string, any>) => JSON.parse(r.customInfo);

  it("inc, dec (floored at 0), set; get_custom_info returns the whole map", async () => {
    const { host, roomID } = await liveRoom();
    const op = (operation: string, extra: Record<string, unknown> = {}, fieldName = "likes") =>
      host.do("set_custom_field", { roomID, fieldName, operation, ...extra });
    expect(info(await op("inc"))).toEqual({ likes: 1 });
    expect(info(await op("inc", { value: "4" }))).toEqual({ likes: 5 });
    expect(info(await op("dec", { value: 2 }))).toEqual({ likes: 3 });
    expect(info(await op("dec", { value: 10 }))).toEqual({ likes: 0 });
    expect(info(await op("dec"))).toEqual({ likes: 0 });
    expect(info(await op("set", { value: 42 }))).toEqual({ likes: 42 });
    expect(info(await op("dec", {}, "fresh"))).toEqual({ likes: 42, fresh: 0 });
    const got = await host.do("get_custom_info", { roomID });
    expect(got.code).toBe(0);
    expect(info(got)).toEqual({ likes: 42, fresh: 0 });
  });

  it("rejects bad operations, missing set values, bad names and too many fields (code 2), unknown room (3)", async () => {
    const { host, roomID } = await liveRoom();
    const op = (body: Record<string, unknown>) => host.do("set_custom_field", { roomID, ...body });
    expect((await op({ fieldName: "a", operation: "explode" })).code).toBe(2);
    expect((await op({ fieldName: "a", operation: "set" })).code).toBe(2);
    expect((await op({ fieldName: "a", operation: "inc", value: "many" })).code).toBe(2);
    expect((await op({ fieldName: "a", operation: "inc", value: -3 })).code).toBe(2);
    expect((await op({ fieldName: "a", operation: "set", value: -1 })).code).toBe(2);
    expect((await op({ fieldName: "", operation: "inc" })).code).toBe(2);
    expect((await op({ fieldName: "x".repeat(65), operation: "inc" })).code).toBe(2);
    expect((await op({ operation: "inc" })).code).toBe(2);
    expect(JSON.parse((await host.do("get_custom_info", { roomID })).customInfo)).toEqual({});
    for (let i = 0; i < 32; i++) expect((await op({ fieldName: `f${i}`, operation: "inc" })).code).toBe(0);
    expect((await op({ fieldName: "f32", operation: "inc" })).code).toBe(2);
    expect((await op({ fieldName: "f0", operation: "inc" })).code).toBe(0);
    const nowhere = randomName("nope");
    expect((await host.do("set_custom_field", { roomID: nowhere, fieldName: "a", operation: "inc" })).code).toBe(3);
    expect((await host.do("get_custom_info", { roomID: nowhere })).code).toBe(3);
  });

  it("concurrent increments are atomic", async () => {
    const { host, roomID } = await liveRoom();
    const viewers = await Promise.all(Array.from({ length: 5 }, () => Client.login("live_room")));
    await Promise.all(
      viewers.flatMap((v) =>
        Array.from({ length: 4 }, () => v.do("set_custom_field", { roomID, fieldName: "hits", operation: "inc" })),
      ),
    );
    expect(JSON.parse((await host.do("get_custom_info", { roomID })).customInfo)).toEqual({ hits: 20 });
  });
});

describe("merge_stream", () => {
  let fake: FakeLiveApi;
  beforeEach(() => {
    fake = createFakeLiveApi();
    vi.spyOn(globalThis, "fetch").mockImplementation(fetchVia(fake));
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  const params = { timestamp: 1, eventId: 2, interface: { interfaceName: "Mix_StreamV2", para: { app_id: 1 } } };

  it("POSTs the params unchanged to the signed URL and copies the upstream answer", async () => {
    const { host, roomID } = await liveRoom();
    const raw = JSON.stringify(params, null, 1); // unusual spacing must survive byte for byte
    const r = await host.do("merge_stream", { roomID, mergeParams: raw });
    expect(r).toMatchObject({ code: 0, result: { code: 0, message: expect.any(String), timestamp: 1 } });
    const sent = vi.mocked(globalThis.fetch).mock.calls.at(-1)!;
    const url = new URL(String(sent[0] instanceof Request ? sent[0].url : sent[0]));
    expect(`${url.origin}${url.pathname}`).toBe("http://fcgi.video.qcloud.com/common_access");
    expect(url.searchParams.get("appid")).toBe("1250000001");
    expect(url.searchParams.get("interface")).toBe("mix_streamv2.start_mix_stream_advanced");
    const t = url.searchParams.get("t")!;
    expect(Number(t) - Date.now() / 1000).toBeGreaterThan(50);
    expect(url.searchParams.get("sign")).toBe(await md5Hex(DEMO_SECRETS.LIVE_API_KEY + t));
    expect(sent[1]?.method).toBe("POST");
    expect(sent[1]?.body).toBe(raw);
    // An object is accepted too.
    expect((await host.do("merge_stream", { roomID, mergeParams: params })).code).toBe(0);
  });

  it("only the creator may mix; unknown room and bad params are refused before any upstream call", async () => {
    const { host, roomID } = await liveRoom();
    const guest = await Client.login("live_room");
    await guest.join(roomID);
    expect((await guest.do("merge_stream", { roomID, mergeParams: params })).code).toBe(3);
    expect((await host.do("merge_stream", { roomID: randomName("nope"), mergeParams: params })).code).toBe(3);
    expect((await host.do("merge_stream", { roomID, mergeParams: "{nope" })).code).toBe(2);
    expect((await host.do("merge_stream", { roomID, mergeParams: 42 })).code).toBe(2);
    expect((await host.do("merge_stream", { roomID })).code).toBe(2);
    expect((await host.do("merge_stream", { roomID, mergeParams: { big: "x".repeat(17 * 1024) } })).code).toBe(2);
    expect(vi.mocked(globalThis.fetch)).not.toHaveBeenCalled();
  });

  it("upstream 5xx, non-JSON, connection failure and a hang each answer code 6, never 500", async () => {
    const { host, roomID } = await liveRoom();
    for (const mode of ["err500", "notjson"] as const) {
      fake.mode = mode;
      const r = await host.do("merge_stream", { roomID, mergeParams: params });
      expect(r.code, mode).toBe(6);
    }
    vi.mocked(globalThis.fetch).mockRejectedValue(new TypeError("Network connection lost."));
    expect((await host.do("merge_stream", { roomID, mergeParams: params })).code).toBe(6);

    vi.mocked(globalThis.fetch).mockImplementation(
      (_input, init) =>
        new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason))),
    );
    const started = Date.now();
    const hung = await host.do("merge_stream", { roomID, mergeParams: params });
    expect(hung.code).toBe(6);
    expect(Date.now() - started).toBeLessThan(8000); // LIVE_API_TIMEOUT_MS defaults to 5 s
  });
});
