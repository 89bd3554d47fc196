// The one route table of the three room groups. Each action is written once; the per-kind policy
// (src/rooms/policy.ts) says what differs between live_room, double_room and multi_room.
import type { Context } from "hono";
import type * as v from "valibot";
import { assertBodyUser, authenticate } from "../auth/middleware";
import { closeSession, openSession } from "../auth/sessions";
import { issueToken } from "../auth/tokens";
import { verifyUserSig } from "../auth/usersig";
import type { Config } from "../config";
import type { AppEnv } from "../http/context";
import { readJsonBody, readQuery } from "../http/input";
import { limitRoomCreation } from "../http/rate-limit";
import { liveApiFromConfig } from "../live/api";
import { mergeStream, normalizeMergeParams } from "../live/merge";
import { accPlayUrl, pushUrl, signerFromConfig, verifyPushUrl } from "../live/urls";
import { Code, fail, ok } from "../protocol/codes";
import { Bodies, parse, Queries } from "../protocol/schemas";
import { acceptedStreams, policyFor, type RoomPolicy } from "../rooms/policy";
import { type RoomKind, type RoomRef, roomObjectName } from "../rooms/types";
import { randomHex, randomRoomID } from "../util/ids";

/** What a handler gets: the validated body, the acting user, and the kind's policy. */
export interface ActionContext<B> {
  c: Context<AppEnv>;
  env: Env;
  config: Config;
  kind: RoomKind;
  policy: RoomPolicy;
  /** The authenticated user (empty for login, which authenticates itself). */
  user: string;
  body: B;
}

export interface RoomAction<S extends v.GenericSchema = v.GenericSchema> {
  /** Whether the action needs a session (all but login). */
  auth: boolean;
  /** live_room only: elsewhere the route does not exist (404). */
  liveOnly?: boolean;
  body: S;
  run(ctx: ActionContext<v.InferOutput<S>>): Promise<{ code: number; message: string }>;
}

// Keeps each action's body type tied to its schema without losing it in the table's value type.
const action = <S extends v.GenericSchema>(def: RoomAction<S>): RoomAction => def as unknown as RoomAction;

const roomStub = (env: Env, ref: RoomRef) => env.ROOM.getByName(roomObjectName(ref));
const ref = (ctx: ActionContext<unknown>, roomID: string): RoomRef => ({ kind: ctx.kind, roomID });

export const ROOM_ACTIONS: Record<string, RoomAction> = {
  login: action({
    auth: false,
    body: Bodies.empty,
    async run({ c, env, config, kind }) {
      const raw = readQuery(c, ["sdkAppID", "accountType", "userID", "userSig"], Code.LOGIN_PARAM);
      const q = parse(Queries.login, raw, Code.LOGIN_PARAM);
      if (String(q.sdkAppID) !== config.SDK_APP_ID) return fail(Code.AUTH, "sdkAppID 不匹配");
      const check = { userSig: q.userSig, identifier: q.userID, sdkAppId: q.sdkAppID };
      let verdict = await verifyUserSig({ ...check, secretKey: config.TLS_SIG_SECRET_KEY });
      // During a key rotation, sigs issued under the previous key stay valid until they expire.
      if (!verdict.ok && verdict.reason === "signature" && config.TLS_SIG_SECRET_KEY_PREVIOUS) {
        verdict = await verifyUserSig({ ...check, secretKey: config.TLS_SIG_SECRET_KEY_PREVIOUS });
      }
      if (!verdict.ok) {
        return verdict.reason === "malformed"
          ? fail(Code.LOGIN_PARAM, `userSig 无法解析 (${verdict.detail})`)
          : fail(Code.AUTH, `userSig 校验失败 (${verdict.reason})`);
      }
      const sid = randomHex(32);
      const { token, expiresAt } = await issueToken(config, { user: q.userID, kind, sid });
      await openSession(env, config, kind, q.userID, sid, expiresAt);
      return ok({ userID: q.userID, token });
    },
  }),

  logout: action({
    auth: true,
    body: Bodies.empty,
    async run({ c, env, kind, user }) {
      await closeSession(env, kind, user, c.get("sid")!, c.get("tokenExp")!);
      return ok({});
    },
  }),

  get_push_url: action({
    auth: true,
    body: Bodies.getPushUrl,
    async run({ config, policy, user, body }) {
      const stream =
        policy.roomScopedStreams && body.roomID
          ? `${config.LIVE_BIZID}_${body.roomID}_${user}`
          : `${config.LIVE_BIZID}_${user}`;
      return ok({ pushURL: await pushUrl(signerFromConfig(config), stream) });
    },
  }),

  create_room: action({
    auth: true,
    body: Bodies.createRoom,
    async run(ctx) {
      await limitRoomCreation(ctx.c, ctx.user);
      const roomID = ctx.body.roomID ?? randomRoomID();
      return roomStub(ctx.env, ref(ctx, roomID)).createRoom(ref(ctx, roomID), ctx.user, ctx.body.roomInfo);
    },
  }),

  destroy_room: action({
    auth: true,
    body: Bodies.roomOnly,
    run: (ctx) => roomStub(ctx.env, ref(ctx, ctx.body.roomID)).destroyRoom(ref(ctx, ctx.body.roomID), ctx.user),
  }),

  add_pusher: action({
    auth: true,
    body: Bodies.addPusher,
    async run(ctx) {
      const { config, policy, user, body } = ctx;
      const signer = signerFromConfig(config);
      const verified = await verifyPushUrl(signer, body.pushURL);
      if (!verified.ok) return fail(Code.BAD_PARAM, `pushURL ${verified.detail}`);
      if (!acceptedStreams(policy, config.LIVE_BIZID, user, body.roomID).includes(verified.stream)) {
        return fail(Code.BAD_PARAM, "pushURL 不是该用户在本房间的推流地址");
      }
      await limitRoomCreation(ctx.c, user);
      const pusher = {
        userID: user,
        userName: body.userName,
        userAvatar: body.userAvatar,
        stream: verified.stream,
        accelerateURL: await accPlayUrl(signer, verified.stream),
      };
      return roomStub(ctx.env, ref(ctx, body.roomID)).addPusher(ref(ctx, body.roomID), pusher, body.roomInfo);
    },
  }),

  delete_pusher: action({
    auth: true,
    body: Bodies.roomOnly,
    run: (ctx) => roomStub(ctx.env, ref(ctx, ctx.body.roomID)).deletePusher(ref(ctx, ctx.body.roomID), ctx.user),
  }),

  pusher_heartbeat: action({
    auth: true,
    body: Bodies.roomOnly,
    run: (ctx) => roomStub(ctx.env, ref(ctx, ctx.body.roomID)).heartbeat(ref(ctx, ctx.body.roomID), ctx.user),
  }),

  get_pushers: action({
    auth: true,
    body: Bodies.roomOnly,
    run: (ctx) => roomStub(ctx.env, ref(ctx, ctx.body.roomID)).getPushers(ref(ctx, ctx.body.roomID)),
  }),

  get_room_list: action({
    auth: true,
    body: Bodies.roomList,
    async run({ env, config, kind, body }) {
      if (body.cnt <= 0) return ok({ rooms: [] });
      const cnt = Math.min(body.cnt, config.ROOM_LIST_MAX_CNT);
      return ok({ rooms: await env.DIRECTORY.getByName(kind).list(body.index, cnt) });
    },
  }),

  add_audience: action({
    auth: true,
    liveOnly: true,
    body: Bodies.addAudience,
    run: (ctx) =>
      roomStub(ctx.env, ref(ctx, ctx.body.roomID)).addAudience(ref(ctx, ctx.body.roomID), ctx.user, ctx.body.userInfo),
  }),

  delete_audience: action({
    auth: true,
    liveOnly: true,
    body: Bodies.roomOnly,
    run: (ctx) => roomStub(ctx.env, ref(ctx, ctx.body.roomID)).deleteAudience(ref(ctx, ctx.body.roomID), ctx.user),
  }),

  get_audiences: action({
    auth: true,
    liveOnly: true,
    body: Bodies.roomOnly,
    run: (ctx) => roomStub(ctx.env, ref(ctx, ctx.body.roomID)).getAudiences(ref(ctx, ctx.body.roomID)),
  }),

  set_custom_field: action({
    auth: true,
    liveOnly: true,
    body: Bodies.setCustomField,
    run: (ctx) =>
      roomStub(ctx.env, ref(ctx, ctx.body.roomID)).setCustomField(
        ref(ctx, ctx.body.roomID),
        ctx.body.fieldName,
        ctx.body.operation,
        ctx.body.value,
      ),
  }),

  get_custom_info: action({
    auth: true,
    liveOnly: true,
    body: Bodies.roomOnly,
    run: (ctx) => roomStub(ctx.env, ref(ctx, ctx.body.roomID)).getCustomInfo(ref(ctx, ctx.body.roomID)),
  }),

  merge_stream: action({
    auth: true,
    liveOnly: true,
    body: Bodies.mergeStream,
    async run(ctx) {
      const params = normalizeMergeParams(ctx.body.mergeParams);
      if (!params.ok) return fail(Code.BAD_PARAM, params.detail);
      const creator = await roomStub(ctx.env, ref(ctx, ctx.body.roomID)).requireCreator(
        ref(ctx, ctx.body.roomID),
        ctx.user,
      );
      if (creator.code !== Code.OK) return creator;
      return mergeStream(liveApiFromConfig(ctx.config), params.body);
    },
  }),
};

/** Runs one room action for one kind: authenticate, read and validate the body, then the handler. */
export async function runRoomAction(c: Context<AppEnv>, kind: RoomKind, def: RoomAction) {
  const config = c.get("config");
  let user = "";
  if (def.auth) {
    const claims = await authenticate(c, kind);
    user = claims.user;
    c.set("sid", claims.sid);
    c.set("tokenExp", claims.exp);
  }
  const raw = await readJsonBody(c);
  if (def.auth) assertBodyUser(raw, user);
  const body = parse(def.body, raw);
  return def.run({ c, env: c.env, config, kind, policy: policyFor(kind, config), user, body });
}
