// The protocol's business codes (contract section 2), with the original service's Chinese messages.
// A business outcome is always HTTP 200 with {code, message}: the SDK clients read `code`.

export const Code = {
  OK: 0,
  /** get_pushers: the room does not exist. */
  PUSHERS_NO_ROOM: 1,
  BAD_PARAM: 2,
  /** Room does not exist, or the caller is not its creator (destroy_room, merge_stream). */
  NO_ROOM: 3,
  LOGIN_PARAM: 4,
  NOT_PUSHER: 5,
  UPSTREAM: 6,
  AUTH: 7,
  /** roomInfo over 1024 bytes, or create_room with a roomID that exists. */
  ROOM_INFO: 11,
  FULL: 5001,
} as const;

export type Code = (typeof Code)[keyof typeof Code];

export const DefaultMessage: Record<Code, string> = {
  0: "请求成功",
  1: "房间不存在",
  2: "参数错误",
  3: "房间不存在",
  4: "登录参数错误",
  5: "不是房间的推流者",
  6: "云直播接口调用失败",
  7: "鉴权失败",
  11: "房间信息过长",
  5001: "房间已满",
};

/** A protocol outcome: what every handler and every Durable Object RPC method returns. */
export type Outcome<T extends object = object> = ({ code: 0; message: string } & T) | Failure;
export type Failure = { code: Exclude<Code, 0>; message: string };

export function ok<T extends object>(fields: T): { code: 0; message: string } & T {
  return { code: Code.OK, message: DefaultMessage[0], ...fields };
}

export function fail(code: Exclude<Code, 0>, detail?: string): Failure {
  return { code, message: detail ? `${DefaultMessage[code]}: ${detail}` : DefaultMessage[code] };
}

/**
 * Thrown inside the Worker (never across RPC: only `message` survives there) to end a request with a
 * business code. The error handler turns it into HTTP 200 {code, message}.
 */
export class ProtocolError extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
  static of(code: Exclude<Code, 0>, detail?: string): ProtocolError {
    return new ProtocolError(fail(code, detail));
  }
}

/** Requests that are not requests of this protocol: a non-200 status, still JSON {code, message}. */
export class HttpError extends Error {
  constructor(
    readonly status: 400 | 404 | 405 | 413 | 429 | 500 | 503,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}
