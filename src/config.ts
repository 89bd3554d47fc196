// Configuration: every var and secret of the contract (section 7), parsed once per isolate with valibot.
// A bad value fails loudly, naming the variable; a deployed environment with a missing or demo secret
// refuses to serve (see `assertServable`).
import * as v from "valibot";

/** Built-in demo credentials for local development only. Public values: never valid in a deployment. */
export const DEMO_SECRETS = {
  TLS_SIG_SECRET_KEY: "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e",
  TOKEN_SIGNING_KEY: "demo-token-signing-key-for-local-development-only-0000000000000000",
  LIVE_PUSH_KEY: "e12c46f2612d5106e2034781ab261ca3",
  LIVE_API_KEY: "40328529ca4381a80c6ecf2e6aa57438",
} as const;

export type SecretName = keyof typeof DEMO_SECRETS;
export const SECRET_NAMES = Object.keys(DEMO_SECRETS) as SecretName[];

/** Demo values for the non-secret vars, used when running locally. */
const DEMO_VARS = {
  SDK_APP_ID: "1400000000",
  ACCOUNT_TYPE: "36862",
  LIVE_APP_ID: "1250000001",
  LIVE_BIZID: "8888",
  LIVE_PUSH_HOST: "push.example.test",
  LIVE_PLAY_HOST: "play.example.test",
} as const;

// Vars arrive as strings from wrangler.toml / --var / the dashboard, or as JSON values; accept both.
const intVar = (min: number, max: number, fallback: number) =>
  v.optional(
    v.pipe(
      v.union([v.number(), v.pipe(v.string(), v.trim(), v.regex(/^-?\d+$/, "must be an integer"))]),
      v.transform(Number),
      v.integer("must be an integer"),
      v.minValue(min, `must be >= ${min}`),
      v.maxValue(max, `must be <= ${max}`),
    ),
    fallback,
  );
const boolVar = (fallback: boolean) =>
  v.optional(
    v.pipe(
      v.union([v.boolean(), v.picklist(["true", "false", "1", "0", "yes", "no"], "must be true or false")]),
      v.transform((x) => x === true || x === "true" || x === "1" || x === "yes"),
    ),
    fallback,
  );
const text = (pattern: RegExp, what: string) => v.pipe(v.string(), v.trim(), v.regex(pattern, what));
const host = text(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, "must be a host name");
const secret = v.optional(v.pipe(v.string(), v.minLength(16, "must be at least 16 characters")));

const ConfigSchema = v.object({
  ENVIRONMENT: v.optional(v.picklist(["development", "staging", "production"]), "production"),
  SDK_APP_ID: v.optional(text(/^\d{1,12}$/, "must be a number"), DEMO_VARS.SDK_APP_ID),
  ACCOUNT_TYPE: v.optional(text(/^\d{1,12}$/, "must be a number"), DEMO_VARS.ACCOUNT_TYPE),
  LIVE_APP_ID: v.optional(text(/^\d{1,12}$/, "must be a number"), DEMO_VARS.LIVE_APP_ID),
  LIVE_BIZID: v.optional(text(/^\d{1,12}$/, "must be a number"), DEMO_VARS.LIVE_BIZID),
  LIVE_PUSH_HOST: v.optional(host, DEMO_VARS.LIVE_PUSH_HOST),
  LIVE_PLAY_HOST: v.optional(host, DEMO_VARS.LIVE_PLAY_HOST),
  LIVE_API_URL: v.optional(
    v.pipe(v.string(), v.trim(), v.url("must be a URL")),
    "http://fcgi.video.qcloud.com/common_access",
  ),
  LIVE_API_TIMEOUT_MS: intVar(100, 30_000, 5_000),
  STREAM_STATUS_CHECK: boolVar(false),
  URL_VALID_SECONDS: intVar(60, 365 * 86400, 7 * 86400),
  USERSIG_TTL_SECONDS: intVar(60, 10 * 365 * 86400, 30 * 86400),
  TOKEN_TTL_SECONDS: intVar(60, 30 * 86400, 86400),
  HEARTBEAT_TIMEOUT_S: intVar(1, 3600, 20),
  ROOM_IDLE_TIMEOUT_S: intVar(1, 86400, 30),
  MAX_PUSHERS_LIVE: intVar(1, 100, 4),
  MAX_PUSHERS_DOUBLE: intVar(1, 100, 2),
  MAX_PUSHERS_MULTI: intVar(1, 100, 4),
  MAX_AUDIENCES: intVar(1, 10_000, 30),
  ROOM_LIST_MAX_CNT: intVar(1, 1000, 100),
  CREATOR_LEAVE_DESTROYS: boolVar(false),
  CORS_ORIGINS: v.optional(v.pipe(v.string(), v.trim()), ""),
  // The utils group is the original's demo kit: get_login_info mints a userSig for any userID and the
  // test URLs sign pushes to the CDN for anyone. An app that signs userSigs on its own server turns it off.
  UTILS_ENABLED: boolVar(true),
  TLS_SIG_SECRET_KEY: secret,
  TOKEN_SIGNING_KEY: v.optional(v.pipe(v.string(), v.minLength(32, "must be at least 32 characters"))),
  // Rotation: tokens signed with the previous key stay valid until they expire (see SECURITY.md).
  TOKEN_SIGNING_KEY_PREVIOUS: v.optional(v.pipe(v.string(), v.minLength(32, "must be at least 32 characters"))),
  TLS_SIG_SECRET_KEY_PREVIOUS: secret,
  LIVE_PUSH_KEY: secret,
  LIVE_API_KEY: secret,
});

type Parsed = v.InferOutput<typeof ConfigSchema>;
export type Config = Omit<Parsed, SecretName | "CORS_ORIGINS"> &
  Record<SecretName, string> & {
    CORS_ORIGINS: string[];
    /** Secrets that are missing or still the public demo values (empty when all are real). */
    insecureSecrets: SecretName[];
    /** App identity vars left unset, so running on the demo values (empty when all are set). */
    demoVars: string[];
  };

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses raw env vars into a Config. Throws ConfigError naming every bad variable. */
export function parseConfig(raw: Record<string, unknown>): Config {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.entries)) {
    const value = raw[key];
    // An empty string means "not set" (wrangler --var X: gives ""); let the default apply.
    if (value !== undefined && value !== "") input[key] = value;
  }
  const result = v.safeParse(ConfigSchema, input);
  if (!result.success) {
    const problems = result.issues.map((issue) => `${v.getDotPath(issue) ?? "?"} ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  }
  const parsed = result.output;
  const demoVars = Object.keys(DEMO_VARS).filter((name) => input[name] === undefined);
  const insecureSecrets = SECRET_NAMES.filter((name) => !parsed[name] || parsed[name] === DEMO_SECRETS[name]);
  const secrets = Object.fromEntries(SECRET_NAMES.map((n) => [n, parsed[n] ?? DEMO_SECRETS[n]])) as Record<
    SecretName,
    string
  >;
  return {
    ...parsed,
    ...secrets,
    CORS_ORIGINS: parsed.CORS_ORIGINS.split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    insecureSecrets,
    demoVars,
  };
}

/**
 * Why this config must not serve the given host, or null when it may. Development runs with demo
 * secrets, so it answers loopback hosts only: a top-level config deployed by mistake stays shut.
 */
export function refusalReason(config: Config, hostname: string): string | null {
  if (config.ENVIRONMENT === "development") {
    return isLoopback(hostname) ? null : "ENVIRONMENT=development serves loopback hosts only";
  }
  if (config.insecureSecrets.length > 0) {
    return `secrets missing or set to demo values: ${config.insecureSecrets.join(", ")}`;
  }
  // A deployment on the demo app identity would sign URLs and userSigs for someone else's app.
  if (config.demoVars.length > 0) return `vars not set: ${config.demoVars.join(", ")}`;
  return null;
}

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

// Parsed once per isolate: the env object is stable for the life of an isolate.
const cache = new WeakMap<object, Config | ConfigError>();

/** The config for this env, parsed on first use. Throws the same ConfigError on every call if invalid. */
export function configFor(env: object): Config {
  let entry = cache.get(env);
  if (!entry) {
    try {
      entry = parseConfig(env as Record<string, unknown>);
    } catch (err) {
      entry = err instanceof ConfigError ? err : new ConfigError(String(err));
    }
    cache.set(env, entry);
  }
  if (entry instanceof ConfigError) throw entry;
  return entry;
}
