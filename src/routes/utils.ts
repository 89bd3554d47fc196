// The `utils` group: userSig issuance for demos and signed test stream URLs. GET and POST alike.
import type { Context } from "hono";
import { generateUserSig } from "../auth/usersig";
import type { AppEnv } from "../http/context";
import { readQuery } from "../http/input";
import { accPlayUrl, playUrls, pushUrl, signerFromConfig } from "../live/urls";
import { ok } from "../protocol/codes";
import { parse, Queries } from "../protocol/schemas";
import { randomStreamSuffix, randomUserID } from "../util/ids";

type UtilAction = (c: Context<AppEnv>) => Promise<{ code: number; message: string }>;

const testStream = (bizid: string) => `${bizid}_test_${randomStreamSuffix()}`;

export const UTIL_ACTIONS: Record<string, UtilAction> = {
  async get_login_info(c) {
    const config = c.get("config");
    const query = parse(Queries.loginInfo, readQuery(c, ["userID"]));
    const userID = query.userID || randomUserID();
    const userSig = await generateUserSig({
      identifier: userID,
      sdkAppId: Number(config.SDK_APP_ID),
      secretKey: config.TLS_SIG_SECRET_KEY,
      expireSeconds: config.USERSIG_TTL_SECONDS,
    });
    return ok({ sdkAppID: config.SDK_APP_ID, accType: config.ACCOUNT_TYPE, userID, userSig });
  },

  async get_test_pushurl(c) {
    const signer = signerFromConfig(c.get("config"));
    const stream = testStream(signer.bizid);
    const play = playUrls(signer, stream);
    return ok({
      url_push: await pushUrl(signer, stream),
      url_play_flv: play.flv,
      url_play_rtmp: play.rtmp,
      url_play_hls: play.hls,
      url_play_acc: await accPlayUrl(signer, stream),
    });
  },

  async get_test_rtmpaccurl(c) {
    const signer = signerFromConfig(c.get("config"));
    return ok({ url_rtmpacc: await accPlayUrl(signer, testStream(signer.bizid)) });
  },
};
