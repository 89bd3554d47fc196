// The OpenAPI 3.1 document of the protocol, generated from what the router itself uses: the route
// table (ROOM_ACTIONS, UTIL_ACTIONS, ROOM_KINDS and KIND_TRAITS), the valibot schemas that validate
// requests (src/protocol/schemas.ts) and the response table (./responses.ts). Every route is listed
// under `/` and again under `/weapp` (what the mini-program clients are configured with).
import { type ConversionConfig, type JsonSchema, toJsonSchema, toJsonSchemaDefs } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { type Code, DefaultMessage } from "../protocol/codes";
import { Bodies, LIMITS, Queries } from "../protocol/schemas";
import { KIND_TRAITS } from "../rooms/policy";
import { ROOM_KINDS, type RoomKind } from "../rooms/types";
import { ROOM_ACTIONS } from "../routes/room-actions";
import { UTIL_ACTIONS } from "../routes/utils";
import {
  type ActionDoc,
  AudienceViewSchema,
  Envelope,
  failureSchema,
  HTTP_ERRORS,
  HttpErrorSchema,
  type HttpErrorStatus,
  MergeResultSchema,
  PusherViewSchema,
  ROOM_BODIES,
  ROOM_RESPONSES,
  RoomViewSchema,
  UTIL_RESPONSES,
} from "./responses";

export const PREFIXES = ["", "/weapp"] as const;
export type Prefix = (typeof PREFIXES)[number];
export type Group = "utils" | RoomKind;
export type Method = "get" | "post";

/** One route the router serves. */
export interface ServedRoute {
  path: string;
  prefix: Prefix;
  group: Group;
  action: string;
  methods: readonly Method[];
}

/** Every route the router serves, derived from the same tables the router is built from. */
export function servedRoutes(): ServedRoute[] {
  const routes: ServedRoute[] = [];
  for (const prefix of PREFIXES) {
    for (const action of Object.keys(UTIL_ACTIONS)) {
      routes.push({ path: `${prefix}/utils/${action}`, prefix, group: "utils", action, methods: ["get", "post"] });
    }
    for (const kind of ROOM_KINDS) {
      for (const [action, def] of Object.entries(ROOM_ACTIONS)) {
        if (def.liveOnly && !KIND_TRAITS[kind].hasLiveExtras) continue;
        routes.push({ path: `${prefix}/${kind}/${action}`, prefix, group: kind, action, methods: ["post"] });
      }
    }
  }
  return routes;
}

/** What each business code means (contract section 2), beside the original's Chinese message. */
export const CODE_MEANINGS: Record<Code, string> = {
  0: "Success",
  1: "get_pushers: the room does not exist",
  2: "A parameter is missing, has the wrong type, or is malformed (the message names it)",
  3: "The room does not exist, or the caller is not its creator (destroy_room, merge_stream)",
  4: "login: a login parameter is missing or the userSig cannot be decoded",
  5: "The caller is not a pusher of the room (delete_pusher, pusher_heartbeat)",
  6: "An upstream cloud API call failed (mixing, stream status)",
  7: "Authentication failed: bad/expired/revoked token, bad/expired userSig, wrong sdkAppID, userID mismatch",
  11: "roomInfo longer than 1024 bytes, or create_room with a roomID that exists",
  5001: "The room is full (pushers), or the audience list is full",
};

// Notes on request fields, by name: what a schema cannot say (where a value must come from).
const BODY_NOTES: Record<string, string> = {
  userID: "Optional (old clients send it); when present it must equal the token's user, else code 7.",
  roomID: "1-64 characters of A-Z a-z 0-9 _ -; rooms of each kind are a separate namespace.",
  roomInfo: "Free text; over its bound it is code 11 (not 2).",
  userName: "Display name of the pusher.",
  userAvatar: "Avatar URL of the pusher.",
  userInfo: "Free text describing the audience member.",
  pushURL: "A push URL this service issued (get_push_url) for the caller's stream, still valid; else code 2.",
  cnt: "Integer, as a JSON number or a numeric string. At most ROOM_LIST_MAX_CNT rooms are answered.",
  index: "Integer >= 0, as a JSON number or a numeric string: how many rooms to skip.",
  fieldName: `Name of the custom field (at most ${LIMITS.fieldName} bytes; at most ${LIMITS.customFields} fields per room).`,
  operation: "inc, dec or set.",
  value:
    "Integer, as a JSON number or a numeric string: the step of inc/dec (>= 0, default 1), the value of set (required).",
  mergeParams:
    "The mixing request of mix_streamv2.start_mix_stream_advanced, as a JSON string or object (at most 16 KiB).",
};
const QUERY_NOTES: Record<string, string> = {
  userID: "The acting user: 1-32 characters of A-Z a-z 0-9 _ -.",
  token: "The token answered by this group's login (a live_room token is refused by the other groups).",
  sdkAppID: "The service's SDK app id (as answered by get_login_info), a number or numeric string.",
  accountType: "The account type (as answered by get_login_info as accType).",
  userSig: "A TLSSigAPIv2 userSig for userID (e.g. from get_login_info).",
};
const LOGIN_INFO_NOTES: Record<string, string> = {
  userID: "The user to issue a userSig for; empty or absent gives a random user_xxxxxxxx_xxxx.",
};

function appendDescription(schema: JsonSchema, note: string): JsonSchema {
  const current = (schema as { description?: string }).description;
  return { ...schema, description: current ? `${current} ${note}` : note } as JsonSchema;
}

// `check` actions (byte bounds, clean text) have no JSON Schema keyword: say them in the description,
// and keep the byte bound machine-readable as `x-maxUtf8Bytes`. Anything else unconvertible throws,
// so a new kind of validation cannot silently vanish from the document.
const overrideAction: ConversionConfig["overrideAction"] = ({ valibotAction, jsonSchema }) => {
  if (valibotAction.type !== "check") return undefined;
  const message = String((valibotAction as { message?: unknown }).message ?? "");
  const bytes = /longer than (\d+) bytes/.exec(message);
  if (bytes) {
    return appendDescription(
      { ...jsonSchema, "x-maxUtf8Bytes": Number(bytes[1]) } as JsonSchema,
      `At most ${bytes[1]} UTF-8 bytes.`,
    );
  }
  if (message.startsWith("contains control characters")) {
    return appendDescription(jsonSchema, "No control characters (tab, CR, LF allowed).");
  }
  return appendDescription(jsonSchema, `Checked: ${message}.`);
};

const CONVERSION: ConversionConfig = {
  target: "draft-2020-12",
  // Requests are documented as clients send them: numbers may be numeric strings (before transforms).
  typeMode: "input",
  errorMode: "throw",
  overrideAction,
  overrideRef: ({ referenceId }) => `#/components/schemas/${referenceId}`,
};

const pascal = (name: string) =>
  name
    .split("_")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

type JsonObject = Record<string, unknown>;

function withNotes(schema: JsonSchema, notes: Record<string, string>): JsonSchema {
  const properties = (schema as { properties?: Record<string, JsonSchema> }).properties;
  if (!properties) return schema;
  const annotated: Record<string, JsonSchema> = {};
  for (const [name, property] of Object.entries(properties)) {
    const note = notes[name];
    annotated[name] = note ? prependDescription(property, note) : property;
  }
  return { ...schema, properties: annotated } as JsonSchema;
}

function prependDescription(schema: JsonSchema, note: string): JsonSchema {
  const current = (schema as { description?: string }).description;
  return { ...schema, description: current ? `${note} ${current}` : note } as JsonSchema;
}

/** Query parameters of an object schema, one per property. */
function queryParameters(schema: v.GenericSchema, notes: Record<string, string>): JsonObject[] {
  const json = toJsonSchema(schema, CONVERSION) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: "query",
    required: (json.required ?? []).includes(name),
    description: notes[name],
    schema: property,
  }));
}

const REQUEST_ID_HEADER = {
  "x-request-id": { description: "The request's id (also in the service's logs)", schema: { type: "string" } },
};

function httpErrorResponses(statuses: readonly HttpErrorStatus[]): JsonObject {
  return Object.fromEntries(
    statuses.map((status) => [String(status), { $ref: `#/components/responses/Http${status}` }]),
  );
}

/** The components and per-action schema names, from the response table and the request schemas. */
function schemaDefinitions() {
  const bodyNames = new Map<v.GenericSchema, string>();
  const defs: Record<string, v.GenericSchema> = {
    Envelope,
    PusherView: PusherViewSchema,
    RoomView: RoomViewSchema,
    AudienceView: AudienceViewSchema,
    MergeResult: MergeResultSchema,
  };
  for (const [key, schema] of Object.entries(Bodies)) {
    const name = `${pascal(key.replace(/([A-Z])/g, "_$1").toLowerCase())}Body`;
    bodyNames.set(schema, name);
    defs[name] = schema;
  }
  const actionDocs: [string, ActionDoc][] = [...Object.entries(UTIL_RESPONSES), ...Object.entries(ROOM_RESPONSES)];
  for (const [action, doc] of actionDocs) {
    defs[`${pascal(action)}Success`] = doc.success;
    if (doc.failures.length > 0) defs[`${pascal(action)}Failure`] = failureSchema(doc.failures);
  }
  for (const status of Object.keys(HTTP_ERRORS)) {
    defs[`HttpError${status}`] = HttpErrorSchema(Number(status) as HttpErrorStatus);
  }
  const schemas = toJsonSchemaDefs(defs, CONVERSION) as Record<string, JsonSchema>;
  for (const name of bodyNames.values()) {
    schemas[name] = withNotes(schemas[name]!, BODY_NOTES);
  }
  return { schemas, bodyNames };
}

function answerSchema(action: string, doc: ActionDoc): JsonObject {
  const success = ref(`${pascal(action)}Success`);
  return doc.failures.length > 0 ? { oneOf: [success, ref(`${pascal(action)}Failure`)] } : success;
}

function okResponse(action: string, doc: ActionDoc): JsonObject {
  const codes = doc.failures.map((code) => `${code} (${CODE_MEANINGS[code]})`).join("; ");
  return {
    description: codes
      ? `A protocol answer: code 0 with the action's fields, or a business failure: ${codes}.`
      : "A protocol answer: code 0 with the action's fields.",
    headers: REQUEST_ID_HEADER,
    content: { "application/json": { schema: answerSchema(action, doc) } },
  };
}

export interface OpenApiDocument {
  openapi: "3.1.0";
  info: JsonObject;
  servers?: JsonObject[];
  tags: JsonObject[];
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema>; responses: Record<string, JsonObject> };
  "x-codes": { code: number; message: string; meaning: string }[];
}

const INFO_DESCRIPTION = `The room service of Tencent's mobile live-streaming SDK (2018 "RoomService"), at the edge.

- Routes are \`/{group}/{action}\` and the same again under \`/weapp/\` (what the mini-program
  clients are configured with). \`utils\` answer GET and POST; every room action answers POST with a
  JSON body (which may be empty).
- \`userID\` and \`token\` always come from the query string (login: \`sdkAppID\`, \`accountType\`,
  \`userID\`, \`userSig\`); everything else from the JSON body. Numbers may be JSON numbers or numeric strings.
- Every answer is JSON \`{code, message, ...}\`. Business outcomes, success or failure, are HTTP 200
  (clients read \`code\`); only requests that are not requests of this protocol get another status
  (404 unknown route, 405 wrong method, 400 body not JSON, 413 body too large, 429 rate limited,
  500 server fault, 503 service not configured), still with a JSON \`{code, message}\` body whose
  \`code\` is the status.
- A session belongs to one group: log in to each room group you use. Sessions live in Workers KV,
  which is eventually consistent across locations: a revoked token may still work elsewhere for up
  to KV's cache time (about 60 s).`;

/** Builds the whole document (no servers: the caller adds the origin it is served from). */
export function buildOpenApiDocument(): OpenApiDocument {
  const { schemas, bodyNames } = schemaDefinitions();
  const paths: OpenApiDocument["paths"] = {};
  const authParameters = queryParameters(Queries.auth, QUERY_NOTES);
  const loginParameters = queryParameters(Queries.login, QUERY_NOTES);
  const utilParameters: Record<string, JsonObject[]> = {
    get_login_info: queryParameters(Queries.loginInfo, LOGIN_INFO_NOTES),
  };

  for (const route of servedRoutes()) {
    const alias = route.prefix === "" ? undefined : route.path.slice(route.prefix.length);
    const idPrefix = route.prefix === "" ? "" : "weapp.";
    const item: Record<string, unknown> = {};
    if (alias) item["x-alias-of"] = alias;
    if (route.group === "utils") {
      const doc = (UTIL_RESPONSES as Record<string, ActionDoc>)[route.action];
      if (!doc) throw new Error(`utils/${route.action} has no entry in UTIL_RESPONSES`);
      for (const method of route.methods) {
        item[method] = {
          operationId: `${idPrefix}utils.${route.action}${method === "get" ? "" : `.${method}`}`,
          tags: ["utils"],
          summary: doc.summary,
          description: doc.description,
          parameters: utilParameters[route.action] ?? [],
          responses: { "200": okResponse(route.action, doc), ...httpErrorResponses(doc.http) },
        };
      }
    } else {
      const doc = (ROOM_RESPONSES as Record<string, ActionDoc>)[route.action];
      const def = ROOM_ACTIONS[route.action];
      if (!doc || !def) throw new Error(`${route.group}/${route.action} has no entry in ROOM_RESPONSES`);
      if ((ROOM_BODIES as Record<string, v.GenericSchema>)[route.action] !== def.body) {
        throw new Error(`${route.action}: ROOM_BODIES does not name the body schema ROOM_ACTIONS validates with`);
      }
      const bodyName = bodyNames.get(def.body);
      if (!bodyName) throw new Error(`${route.action}: its body schema is not one of Bodies`);
      item.post = {
        operationId: `${idPrefix}${route.group}.${route.action}`,
        tags: [route.group],
        summary: doc.summary,
        description: doc.description,
        parameters: def.auth ? authParameters : loginParameters,
        requestBody: {
          required: false,
          description: "JSON object; an empty body is {}.",
          content: { "application/json": { schema: ref(bodyName) } },
        },
        responses: { "200": okResponse(route.action, doc), ...httpErrorResponses(doc.http) },
        ...(def.liveOnly ? { "x-live-room-only": true } : {}),
      };
    }
    paths[route.path] = item;
  }

  const responses: Record<string, JsonObject> = {};
  for (const [status, description] of Object.entries(HTTP_ERRORS)) {
    const headers: JsonObject = { ...REQUEST_ID_HEADER };
    if (status === "405") headers.allow = { description: "The methods this route answers", schema: { type: "string" } };
    if (status === "429") headers["retry-after"] = { description: "Seconds to wait", schema: { type: "string" } };
    responses[`Http${status}`] = {
      description,
      headers,
      content: { "application/json": { schema: ref(`HttpError${status}`) } },
    };
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "RoomService at the edge",
      version: "1.0.0",
      summary: "Live-streaming room backend (Tencent RoomService protocol) on Cloudflare Workers",
      description: INFO_DESCRIPTION,
    },
    tags: [
      { name: "utils", description: "Demo login material and signed test stream URLs (GET or POST)" },
      { name: "live_room", description: "One host, co-anchors, an audience, custom fields, stream mixing" },
      { name: "double_room", description: "Two-party rooms" },
      { name: "multi_room", description: "Multi-party rooms" },
    ],
    paths,
    components: { schemas, responses },
    "x-codes": (Object.keys(DefaultMessage).map(Number) as Code[]).map((code) => ({
      code,
      message: DefaultMessage[code],
      meaning: CODE_MEANINGS[code],
    })),
  };
}

let cached: OpenApiDocument | undefined;

/** The document, built once per isolate. */
export function openApiDocument(): OpenApiDocument {
  cached ??= buildOpenApiDocument();
  return cached;
}
