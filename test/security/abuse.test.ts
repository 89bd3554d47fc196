// Abuse limits: credential minting per client address, room creation per user, and the bound of every
// size a client can grow. The real Workers Rate Limiting bindings of wrangler.toml are used where a test
// can afford their budgets; a counting fake checks how requests are keyed.
import { describe, expect, it } from "vitest";
import { KINDS, randomName, routerWith, SDK_APP_ID, Session, send, unlimited, userSigFor } from "./support";

/** A rate limiter that records keys and allows `budget` requests per key. */
function countingLimiter(budget: number) {
  const seen = new Map<string, number>();
  return {
    seen,
    binding: {
      async limit({ key }: { key: string }) {
        const n = (seen.get(key) ?? 0) + 1;
        seen.set(key, n);
        return { success: n <= budget };
      },
    },
  };
}

/**
 * Miniflare's limiter counts in windows aligned to the wall clock (every 60 s): a loop that straddles
 * a boundary sees a fresh budget half-way. Start counting well inside a window.
 */
async function awayFromWindowEdge(needMs = 15_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < needMs) await new Promise((r) => setTimeout(r, left + 50));
}

describe("credential minting is limited per client address", () => {
  it("login: 429 JSON with retry-after once a client spends its budget (real binding, 300/min)", {
    timeout: 40_000,
  }, async () => {
    const ip = "198.51.100.23";
    const router = routerWith({});
    await awayFromWindowEdge();
    let served = 0;
    let limited: Awaited<ReturnType<typeof send>> | undefined;
    for (let i = 0; i < 320 && !limited; i++) {
      // Cheap failing logins count too: the limit is on attempts, not successes.
      const r = await send(router, {
        group: "live_room",
        action: "login",
        query: { sdkAppID: SDK_APP_ID, accountType: "1", userID: "victim", userSig: `guess${i}` },
        headers: { "cf-connecting-ip": ip },
      });
      if (r.status === 429) limited = r;
      else served++;
    }
    expect(served).toBe(300);
    expect(limited?.body).toMatchObject({ code: 429, message: expect.any(String) });
    expect(limited?.headers.get("retry-after")).toBe("60");
    // A good userSig from the same address is refused too, and another address is served.
    const good = { sdkAppID: SDK_APP_ID, accountType: "1", userID: "victim", userSig: await userSigFor("victim") };
    expect(
      (await send(router, { group: "live_room", action: "login", query: good, headers: { "cf-connecting-ip": ip } }))
        .status,
    ).toBe(429);
    expect(
      (
        await send(router, {
          group: "live_room",
          action: "login",
          query: good,
          headers: { "cf-connecting-ip": "198.51.100.24" },
        })
      ).body.code,
    ).toBe(0);
  });

  it("spelling the path differently does not buy a new budget (percent-encoding, /weapp prefix)", async () => {
    const limiter = countingLimiter(3);
    const limited = routerWith({ AUTH_LIMITER: limiter.binding });
    const ip = { "cf-connecting-ip": "198.51.100.50" };
    const spellings = [
      "/utils/get_login_info",
      "/weapp/utils/get_login_info",
      "/utils/get_login_%69nfo",
      "/utils/%67et_login_info",
      "/ut%69ls/get_login_info",
      "/weapp/utils/get%5Flogin%5Finfo",
      "/utils/get_login_inf%6F",
    ];
    const statuses: number[] = [];
    for (const path of spellings) {
      const r = await send(limited, { group: "", action: "", path, method: "GET", headers: ip });
      statuses.push(r.status);
    }
    // Every spelling reached the same handler (so it is the same action) and drew on one budget.
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429]);
    expect(limiter.seen.size).toBe(1);

    const loginLimiter = countingLimiter(2);
    const limitedLogin = routerWith({ AUTH_LIMITER: loginLimiter.binding });
    const loginStatuses: number[] = [];
    for (const path of ["/live_room/login", "/live_room/l%6Fgin", "/weapp/live_room/logi%6E", "/live%5Froom/login"]) {
      const r = await send(limitedLogin, { group: "", action: "", path: `${path}?userID=a`, headers: ip });
      loginStatuses.push(r.status);
    }
    expect(loginStatuses).toEqual([200, 200, 429, 429]);
  });

  it("keys by client address: one client's spending leaves another's budget alone", async () => {
    const limiter = countingLimiter(1);
    const limited = routerWith({ AUTH_LIMITER: limiter.binding });
    const ask = (ip: string) =>
      send(limited, {
        group: "utils",
        action: "get_login_info",
        method: "GET",
        headers: { "cf-connecting-ip": ip },
      }).then((r) => r.status);
    expect(await ask("192.0.2.1")).toBe(200);
    expect(await ask("192.0.2.1")).toBe(429);
    expect(await ask("192.0.2.2")).toBe(200);
    expect(await ask("2001:db8::1")).toBe(200);
    expect(await ask("2001:db8::1")).toBe(429);
  });
});

describe("room creation is limited per user", () => {
  it("create_room and add_pusher share a per-user budget (real binding, 60/min); others are unaffected", {
    timeout: 40_000,
  }, async () => {
    const router = routerWith({ AUTH_LIMITER: undefined });
    const greedy = await Session.login(router, "multi_room");
    await awayFromWindowEdge();
    let created = 0;
    let refused: Record<string, unknown> | undefined;
    for (let i = 0; i < 70 && !refused; i++) {
      const r = await send(router, {
        group: "multi_room",
        action: "create_room",
        query: greedy.query,
        body: { roomInfo: "spam" },
      });
      if (r.status === 429) refused = r.body;
      else {
        expect(r.body.code).toBe(0);
        created++;
      }
    }
    expect(created).toBe(60);
    expect(refused).toMatchObject({ code: 429 });
    const join = await send(router, {
      group: "multi_room",
      action: "add_pusher",
      query: greedy.query,
      body: { roomID: randomName("r"), userName: "g", userAvatar: "a", pushURL: await greedy.pushUrl() },
    });
    expect(join.status).toBe(429);
    // The same user in another group, and another user here, still create rooms.
    const sameUserElsewhere = await Session.login(router, "double_room", greedy.user);
    expect((await sameUserElsewhere.do("create_room", { roomInfo: "x" })).code).toBe(0);
    const other = await Session.login(router, "multi_room");
    expect((await other.do("create_room", { roomInfo: "x" })).code).toBe(0);
    // Rejected creations were not counted as rooms: reads, leaves and heartbeats are not limited.
    for (let i = 0; i < 5; i++) expect((await greedy.do("get_room_list", { cnt: 1, index: 0 })).code).toBe(0);
  });
});

describe("everything a client can grow is bounded", () => {
  it("per room: pushers (capacity), audiences (30), custom fields (32), text sizes; per user: one session per group", async () => {
    const router = unlimited();
    for (const kind of KINDS) {
      // One login per group and user: logging in again replaces the session, it does not add one.
      const user = randomName();
      const first = await Session.login(router, kind, user);
      const second = await Session.login(router, kind, user);
      expect((await first.do("get_push_url")).code).toBe(7);
      expect((await second.do("get_push_url")).code).toBe(0);
    }
    const host = await Session.login(router, "live_room");
    const roomID = randomName("bound");
    // Numbers: a counter cannot be pushed past a safe integer, nor below zero.
    expect((await host.do("create_room", { roomID, roomInfo: "x".repeat(1024) })).code).toBe(0);
    expect((await host.join(roomID)).code).toBe(0);
    expect(
      (await host.do("set_custom_field", { roomID, fieldName: "n", operation: "set", value: 2 ** 31 - 1 })).code,
    ).toBe(0);
    for (let i = 0; i < 3; i++) {
      expect(
        (await host.do("set_custom_field", { roomID, fieldName: "n", operation: "inc", value: 2 ** 31 - 1 })).code,
      ).toBe(0);
    }
    const n = JSON.parse((await host.do("get_custom_info", { roomID })).customInfo).n;
    expect(Number.isSafeInteger(n)).toBe(true);
    // The largest answer a client can make a room produce stays small (bounded texts x bounded counts).
    const room = await host.do("get_pushers", { roomID });
    expect(JSON.stringify(room).length).toBeLessThan(64 * 1024);
  });
});

describe("login sdkAppID", () => {
  it("any SDK_APP_ID the configuration accepts (up to 12 digits) can log in", async () => {
    for (const appId of ["1400000000", "2147483648", "20000000001", "999999999999"]) {
      const router = routerWith({ SDK_APP_ID: appId, AUTH_LIMITER: undefined });
      const user = randomName();
      const r = await send(router, {
        group: "multi_room",
        action: "login",
        query: {
          sdkAppID: appId,
          accountType: "1",
          userID: user,
          userSig: await userSigFor(user, { appId: Number(appId) }),
        },
      });
      expect(r.body.code, appId).toBe(0);
      // And only that one: a neighbour is refused as another app (7), a 13-digit id as malformed (4).
      const other = String(BigInt(appId) - 1n);
      const wrong = await send(router, {
        group: "multi_room",
        action: "login",
        query: {
          sdkAppID: other,
          accountType: "1",
          userID: user,
          userSig: await userSigFor(user, { appId: Number(other) }),
        },
      });
      expect(wrong.body.code, other).toBe(7);
      const tooLong = await send(router, {
        group: "multi_room",
        action: "login",
        query: { sdkAppID: "1".repeat(13), accountType: "1", userID: user, userSig: "x" },
      });
      expect(tooLong.body.code).toBe(4);
    }
  });
});
