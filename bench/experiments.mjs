// `--experiments`: the hot-path changes BENCHMARKS.md suggests, tried without touching src/. The bench
// worker is bundled a second time with these patches applied to the source text in memory (an esbuild
// plugin), served as a third worker ("exp") in the same workerd, and the same scenarios are measured on
// both: the "before" and a projected "after". Each patch appends code or replaces one exact snippet; if
// src/ has moved on and a snippet is gone, that experiment is reported as not applicable and skipped.
import fs from "node:fs";
import path from "node:path";
import * as esbuild from "esbuild";
import { ROOT, WORKER_BUILD } from "./lib.mjs";

export const EXPERIMENTS = [
  {
    id: "token-cache",
    file: "src/auth/tokens.ts",
    what: "verifyToken remembers the claims of tokens it verified (exact token string, until min(exp, 60 s), 10k entries): no jose work for a token seen moments ago",
    patch: (src) => {
      const head = "export async function verifyToken(";
      // Not applicable once src/ caches verified tokens itself (it does since this was measured).
      if (!src.includes(head) || src.includes("verifyTokenUncached")) return null;
      return `${src.replace(head, "async function verifyTokenUncached(")}
const verifiedTokens = new Map<string, { claims: TokenClaims; until: number; config: Config }>();
export async function verifyToken(config: Config, token: string, kind: RoomKind): Promise<TokenClaims | null> {
  const key = kind + " " + token;
  const now = Date.now();
  const hit = verifiedTokens.get(key);
  if (hit && hit.until > now && hit.config === config) return hit.claims;
  const claims = await verifyTokenUncached(config, token, kind);
  if (claims) {
    if (verifiedTokens.size >= 10_000) verifiedTokens.delete(verifiedTokens.keys().next().value!);
    verifiedTokens.set(key, { claims, until: Math.min(claims.exp * 1000, now + 60_000), config });
  }
  return claims;
}
`;
    },
  },
  {
    id: "lean-heartbeat",
    file: "src/rooms/room.ts",
    what: "Room.heartbeat: no alarm move (a heartbeat only pushes a deadline later, so the armed alarm stays valid; if it fires early it finds nothing due and re-arms), and the UPDATE ... RETURNING first (the room row is read only when it misses)",
    patch: (src) => {
      // Edits only the text of the heartbeat method, so the rest of room.ts may change freely.
      const m = /\n {2}async heartbeat\([\s\S]*?\n {2}\}\n/.exec(src);
      if (!m) return null;
      let body = m[0];
      if (!body.includes("await this.rearm();") || !src.includes("armedAt")) return null;
      body = body.replace(
        "await this.rearm();",
        "if (this.armedAt === undefined || this.armedAt === null) await this.rearm();",
      );
      const read = /if \(!this\.open\(false\) \|\| !(this\.\w+\([^)]*\))\) return fail\(Code\.NO_ROOM\);/.exec(body);
      const miss = "if (hit.length === 0) return fail(Code.NOT_PUSHER);";
      if (read && body.includes(miss)) {
        body = body
          .replace(read[0], "if (!this.open(false)) return fail(Code.NO_ROOM);")
          .replace(miss, `if (hit.length === 0) return ${read[1]} ? fail(Code.NOT_PUSHER) : fail(Code.NO_ROOM);`);
      }
      return src.replace(m[0], body);
    },
  },
  {
    id: "list-one-query",
    file: "src/rooms/directory.ts",
    what: "Directory.listText: one keyset range query on the (created_at, room_id) index from the page's first key, the stored JSON joined as one string (no per-row exec, no per-row JSON.parse, one string over RPC)",
    patch: (src) => {
      for (const needed of ["export class Directory", "this.order.page(", "MAX_PAGE"])
        if (!src.includes(needed)) return null;
      return `${src}
(Directory.prototype as any).listText = async function (this: any, index: number, cnt: number): Promise<string> {
  const keys = this.order.page(Number(index), Math.min(Number(cnt), MAX_PAGE));
  if (keys.length === 0) return "[]";
  const first = keys[0];
  const rows = this.ctx.storage.sql
    .exec(
      "SELECT view FROM rooms WHERE view IS NOT NULL AND (created_at, room_id) >= (?, ?) ORDER BY created_at, room_id LIMIT ?",
      first.createdAt,
      first.roomID,
      keys.length,
    )
    .toArray();
  let out = "[";
  for (let i = 0; i < rows.length; i++) out += (i ? "," : "") + rows[i].view;
  return out + "]";
};
`;
    },
  },
  {
    id: "list-one-query",
    file: "src/routes/room-actions.ts",
    what: "(its router half: get_room_list calls listText and parses the page once)",
    patch: (src) => {
      const call = ".list(body.index, cnt)";
      if (!src.includes(call)) return null;
      return src.replace(call, ".listText(body.index, cnt).then((text: string) => JSON.parse(text))");
    },
  },
];

/** Bundles the bench worker with every applicable experiment; returns the code and what applied. */
export async function bundleExperiments(outDir) {
  // An experiment applies only if every one of its patches does (checked against src/ as it is now).
  const skipped = new Set();
  for (const e of EXPERIMENTS) {
    if (e.patch(fs.readFileSync(path.join(ROOT, e.file), "utf8")) === null) skipped.add(e.id);
  }
  const active = EXPERIMENTS.filter((e) => !skipped.has(e.id));
  const plugin = {
    name: "bench-experiments",
    setup(build) {
      build.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, (args) => {
        const patches = active.filter((e) => path.join(ROOT, e.file) === args.path);
        if (patches.length === 0) return undefined;
        let src = fs.readFileSync(args.path, "utf8");
        for (const e of patches) src = e.patch(src);
        return { contents: src, loader: "ts" };
      });
    },
  };
  const result = await esbuild.build({ ...WORKER_BUILD, plugins: [plugin] });
  const code = result.outputFiles[0].text;
  fs.writeFileSync(path.join(outDir, "worker-exp.mjs"), code);
  const ids = (list) => [...new Set(list.map((e) => (typeof e === "string" ? e : e.id)))];
  return { code, applied: ids(active), skipped: ids([...skipped]) };
}
