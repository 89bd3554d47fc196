// Credentials: login tokens (JWT + KV session) bound to user, app and group, every claim checked on
// its own; key rotation of the token key and the userSig key; userSig replay; constant-time checks.
// (Forged, expired, alg:none, other-key and cross-group tokens are in test/router/foundation.test.ts.)
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { forgetCachedSessions, sessionKey } from "../../src/auth/sessions";
import { DEMO_SECRETS } from "../../src/config";
import type { RoomKind } from "../../src/rooms/types";
import { randomName, routerWith, SDK_APP_ID, Session, send, unlimited, userSigFor } from "./support";

const router = unlimited();
const CURRENT = DEMO_SECRETS.TOKEN_SIGNING_KEY;
const NEXT = "next-token-signing-key-0123456789abcdef-0123456789abcdef";
const RETIRED = "retired-token-signing-key-0123456789abcdef-0123456789";

afterEach(() => {
  vi.restoreAllMocks();
});

/** The kid this service puts in a token signed with `secret`: first 8 bytes of its SHA-256, hex. */
async function kidOf(secret: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret)));
  return [...digest.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

interface Claims {
  sub?: unknown;
  app?: unknown;
  sid?: unknown;
  iss?: unknown;
  aud?: unknown;
  exp?: unknown;
  iat?: unknown;
  nbf?: unknown;
}

/** A token as the service issues it (every claim right), with `over` replacing claims or the header. */
async function craft(
  user: string,
  sid: string,
  kind: RoomKind,
  over: { claims?: Claims; header?: Record<string, unknown>; key?: string; drop?: Array<keyof Claims> } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    sub: user,
    app: String(SDK_APP_ID),
    sid,
    iss: "roomservice",
    aud: `roomservice:${kind}`,
    iat: now,
    exp: now + 3600,
    ...over.claims,
  };
  for (const k of over.drop ?? []) delete claims[k];
  const key = over.key ?? CURRENT;
  if (over.header?.crit) return signHS256({ alg: "HS256", kid: await kidOf(key), ...over.header }, claims, key);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", kid: await kidOf(key), ...over.header } as { alg: string })
    .sign(new TextEncoder().encode(key));
}

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/=+$/, "")
    .replace(/\+/g, "-")
    .replace(/\//g, "_");

/** HS256 by hand, for headers jose refuses to produce (e.g. an unknown `crit`). */
async function signHS256(header: object, claims: object, secret: string): Promise<string> {
  const enc = new TextEncoder();
  const input = `${b64url(enc.encode(JSON.stringify(header)))}.${b64url(enc.encode(JSON.stringify(claims)))}`;
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return `${input}.${b64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(input))))}`;
}

/** A live session in KV for (kind, user) with this sid, as login would write it. */
async function openSession(kind: RoomKind, user: string, sid: string) {
  await env.SESSIONS.put(sessionKey(kind, user), JSON.stringify({ sid, exp: Math.floor(Date.now() / 1000) + 3600 }));
  forgetCachedSessions();
}

const act = (fetcher: typeof router, kind: RoomKind, user: string, token: string) =>
  send(fetcher, { group: kind, action: "get_push_url", query: { userID: user, token } }).then((r) => r.body.code);

describe("every claim of a token is checked on its own", () => {
  it("a token right in all but one respect is refused, with a matching session in KV", async () => {
    const kind: RoomKind = "multi_room";
    const user = randomName();
    const sid = "s".repeat(32);
    await openSession(kind, user, sid);
    // The control: all right, accepted. Each variant below differs from it in one respect only.
    expect(await act(router, kind, user, await craft(user, sid, kind))).toBe(0);
    const now = Math.floor(Date.now() / 1000);
    const variants: Record<string, Parameters<typeof craft>[3]> = {
      "another app": { claims: { app: String(SDK_APP_ID + 1) } },
      "app as a number": { claims: { app: SDK_APP_ID } },
      "no app": { drop: ["app"] },
      "another group (audience)": { claims: { aud: "roomservice:live_room" } },
      "audience list with another group": { claims: { aud: ["roomservice:live_room"] } },
      "another issuer": { claims: { iss: "someone-else" } },
      "no issuer": { drop: ["iss"] },
      expired: { claims: { exp: now - 1 } },
      "no expiry": { drop: ["exp"] },
      "not yet valid": { claims: { nbf: now + 600 } },
      "no session id": { drop: ["sid"] },
      "session id not a string": { claims: { sid: 123 } },
      "another session id": { claims: { sid: "t".repeat(32) } },
      "no subject": { drop: ["sub"] },
      "subject of another user": { claims: { sub: `${user}x` } },
      "signed with another key": { key: RETIRED },
      "alg HS512 with the same key": { header: { alg: "HS512" } },
      "alg HS384 with the same key": { header: { alg: "HS384" } },
      "a critical header this service does not know": { header: { crit: ["exp2"], exp2: 1 } },
      "kid of no configured key (signed with the current one)": { header: { kid: "00112233deadbeef" } },
      "no kid (signed with the current one)": { header: { kid: undefined } },
    };
    const accepted: string[] = [];
    for (const [name, over] of Object.entries(variants)) {
      const code = await act(router, kind, user, await craft(user, sid, kind, over));
      if (code !== 7) accepted.push(`${name}: ${code}`);
    }
    expect(accepted).toEqual([]);
    // Still the control works: nothing above touched the session.
    expect(await act(router, kind, user, await craft(user, sid, kind))).toBe(0);
  });

  it("alg none in any spelling, with or without a signature, is refused", async () => {
    const a = await Session.login(router, "live_room");
    const [, payload, sig] = a.token.split(".");
    const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    for (const alg of ["none", "None", "NONE", "nOnE", ""]) {
      for (const signature of ["", sig!]) {
        const token = `${b64({ alg, typ: "JWT" })}.${payload}.${signature}`;
        expect(await act(router, "live_room", a.user, token), `${alg}/${signature ? "signed" : "empty"}`).toBe(7);
      }
    }
    expect(await act(router, "live_room", a.user, a.token)).toBe(0);
  });

  it("a token of another deployment (another SDK_APP_ID, same key) is refused here, and the reverse", async () => {
    const otherApp = String(SDK_APP_ID + 7);
    const other = routerWith({ SDK_APP_ID: otherApp, ROOM_LIMITER: undefined, AUTH_LIMITER: undefined });
    const user = randomName();
    const theirs = await send(other, {
      group: "double_room",
      action: "login",
      query: {
        sdkAppID: otherApp,
        accountType: "1",
        userID: user,
        userSig: await userSigFor(user, { appId: Number(otherApp) }),
      },
    });
    expect(theirs.body.code).toBe(0);
    expect(await act(other, "double_room", user, theirs.body.token)).toBe(0);
    expect(await act(router, "double_room", user, theirs.body.token)).toBe(7);
    const ours = await Session.login(router, "double_room", user);
    expect(await act(other, "double_room", user, ours.token)).toBe(7);
    expect(await act(router, "double_room", user, ours.token)).toBe(0);
  });

  it("a userSig for another user, app or key never yields a token for the asked user", async () => {
    const user = randomName();
    const login = (userSig: string) =>
      send(router, {
        group: "live_room",
        action: "login",
        query: { sdkAppID: SDK_APP_ID, accountType: "1", userID: user, userSig },
      });
    for (const sig of [
      await userSigFor(`${user}x`),
      await userSigFor(user, { appId: SDK_APP_ID + 1 }),
      await userSigFor(user, { key: "k".repeat(64) }),
      await userSigFor(user.toUpperCase()),
    ]) {
      const r = await login(sig);
      expect(r.body.code).toBe(7);
      expect(r.body.token).toBeUndefined();
    }
    expect(await env.SESSIONS.get(sessionKey("live_room", user))).toBeNull();
  });
});

describe("TOKEN_SIGNING_KEY rotation", () => {
  it("tokens of the previous key work while it is configured as _PREVIOUS, and stop when it is removed", async () => {
    const before = unlimited(); // current = the demo key
    const during = routerWith({
      TOKEN_SIGNING_KEY: NEXT,
      TOKEN_SIGNING_KEY_PREVIOUS: CURRENT,
      ROOM_LIMITER: undefined,
    });
    const after = routerWith({ TOKEN_SIGNING_KEY: NEXT, ROOM_LIMITER: undefined });
    const old = await Session.login(before, "live_room");
    expect(await act(during, "live_room", old.user, old.token)).toBe(0);
    // New logins during the rotation are signed with the new key, and work before and after it ends.
    const renewed = await Session.login(during, "live_room");
    const [header] = renewed.token.split(".");
    expect(JSON.parse(atob(header!.replace(/-/g, "+").replace(/_/g, "/"))).kid).toBe(await kidOf(NEXT));
    expect(await act(during, "live_room", renewed.user, renewed.token)).toBe(0);
    expect(await act(after, "live_room", renewed.user, renewed.token)).toBe(0);
    // Once _PREVIOUS is removed, the old key's tokens are refused.
    expect(await act(after, "live_room", old.user, old.token)).toBe(7);
    // A token of the old key relabelled with the new key's kid is checked against the new key: refused.
    const [, payload, sig] = old.token.split(".");
    const relabelled = `${btoa(JSON.stringify({ alg: "HS256", kid: await kidOf(NEXT) })).replace(/=+$/, "")}.${payload}.${sig}`;
    expect(await act(during, "live_room", old.user, relabelled)).toBe(7);
    // A retired key (neither current nor previous) is refused whatever kid it claims.
    const sid = "r".repeat(32);
    await openSession("live_room", old.user, sid);
    for (const header of [{}, { kid: await kidOf(CURRENT) }, { kid: await kidOf(NEXT) }]) {
      const token = await craft(old.user, sid, "live_room", { key: RETIRED, header });
      expect(await act(during, "live_room", old.user, token)).toBe(7);
    }
  });
});

describe("TLS_SIG_SECRET_KEY rotation and userSig replay", () => {
  const OLD_SIG_KEY = DEMO_SECRETS.TLS_SIG_SECRET_KEY;
  const NEW_SIG_KEY = "f".repeat(64);
  const login = (fetcher: typeof router, user: string, userSig: string) =>
    send(fetcher, {
      group: "multi_room",
      action: "login",
      query: { sdkAppID: SDK_APP_ID, accountType: "1", userID: user, userSig },
    }).then((r) => r.body.code);

  it("userSigs of the previous key verify only while TLS_SIG_SECRET_KEY_PREVIOUS names it", async () => {
    const during = routerWith({
      TLS_SIG_SECRET_KEY: NEW_SIG_KEY,
      TLS_SIG_SECRET_KEY_PREVIOUS: OLD_SIG_KEY,
      AUTH_LIMITER: undefined,
    });
    const after = routerWith({ TLS_SIG_SECRET_KEY: NEW_SIG_KEY, AUTH_LIMITER: undefined });
    const user = randomName();
    const oldSig = await userSigFor(user, { key: OLD_SIG_KEY });
    const newSig = await userSigFor(user, { key: NEW_SIG_KEY });
    expect(await login(during, user, oldSig)).toBe(0);
    expect(await login(during, user, newSig)).toBe(0);
    expect(await login(after, user, newSig)).toBe(0);
    expect(await login(after, user, oldSig)).toBe(7);
    // The previous key does not rescue what fails for another reason: expiry, identity.
    const now = Math.floor(Date.now() / 1000);
    expect(await login(during, user, await userSigFor(user, { key: OLD_SIG_KEY, now: now - 7200, expire: 60 }))).toBe(
      7,
    );
    expect(await login(during, user, await userSigFor(`${user}x`, { key: OLD_SIG_KEY }))).toBe(7);
    expect(await login(during, user, await userSigFor(user, { key: "0".repeat(64) }))).toBe(7);
    // get_login_info signs with the current key only.
    const info = await send(during, {
      group: "utils",
      action: "get_login_info",
      method: "GET",
      query: { userID: user },
    });
    expect(await login(after, user, info.body.userSig)).toBe(0);
  });

  it("a userSig that logged in is refused once it expires (replay after expiry)", { timeout: 10_000 }, async () => {
    const user = randomName();
    const now = Math.floor(Date.now() / 1000);
    const sig = await userSigFor(user, { now, expire: 1 }); // valid through now + 1
    expect(await login(router, user, sig)).toBe(0);
    expect(await login(router, user, sig)).toBe(0); // a bearer credential: replays work until expiry...
    await new Promise((r) => setTimeout(r, Math.max(0, (now + 2) * 1000 - Date.now()) + 50));
    expect(await login(router, user, sig)).toBe(7); // ...and not one second after
  });
});

describe("constant-time comparisons", () => {
  it("userSig HMACs, session ids and push URL secrets are compared with timingSafeEqual", async () => {
    const spy = vi.spyOn(crypto.subtle, "timingSafeEqual");
    const a = await Session.login(router, "double_room"); // userSig HMAC
    expect(spy).toHaveBeenCalled();
    spy.mockClear();
    forgetCachedSessions();
    await a.do("get_push_url"); // session id from KV
    expect(spy).toHaveBeenCalled();
    spy.mockClear();
    await a.do("get_push_url"); // session id from the isolate cache
    expect(spy).toHaveBeenCalled();
    spy.mockClear();
    expect((await a.join(randomName("ct"))).code).toBe(0); // txSecret of the push URL
    expect(spy).toHaveBeenCalled();
  });
});
