// The API reference page (`/docs`), rendered on the server from the OpenAPI document: one
// self-contained HTML page (inline CSS, no script, nothing fetched from anywhere), so it works
// offline, behind strict CSPs, and in any browser or text client.
import type { OpenApiDocument } from "./document";

type JsonObject = Record<string, unknown>;

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);

/** Escaped text with `code` spans, as the document's descriptions write them. */
const inline = (s: string): string => escapeHtml(s).replace(/`([^`]+)`/g, "<code>$1</code>");

const anchor = (path: string) => `op${path.replace(/[^A-Za-z0-9]+/g, "-")}`;

function refName(schema: unknown): string | undefined {
  const r = (schema as { $ref?: unknown } | undefined)?.$ref;
  return typeof r === "string" ? r.split("/").pop() : undefined;
}

/** Follows a local `$ref` into components (schemas, responses). */
function resolve(doc: OpenApiDocument, node: unknown): JsonObject {
  const r = (node as { $ref?: unknown } | undefined)?.$ref;
  if (typeof r !== "string") return (node ?? {}) as JsonObject;
  const [, , section, name] = r.split("/");
  const table = (doc.components as unknown as Record<string, Record<string, unknown>>)[section ?? ""];
  return (table?.[name ?? ""] ?? {}) as JsonObject;
}

/** A short human reading of a JSON schema: its type and constraints. */
function typeOf(schema: JsonObject): string {
  const name = refName(schema);
  if (name) return `<a href="#schema-${escapeHtml(name)}">${escapeHtml(name)}</a>`;
  if ("const" in schema) return `<code>${escapeHtml(JSON.stringify(schema.const))}</code>`;
  if (Array.isArray(schema.enum))
    return schema.enum.map((e) => `<code>${escapeHtml(JSON.stringify(e))}</code>`).join(" | ");
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as JsonObject[]).map(typeOf).join(" or ");
  if (Array.isArray(schema.oneOf)) return (schema.oneOf as JsonObject[]).map(typeOf).join(" or ");
  const type = schema.type;
  if (type === "array") return `array of ${typeOf((schema.items ?? {}) as JsonObject)}`;
  if (typeof type !== "string") return "any JSON value";
  const limits: string[] = [];
  if (typeof schema.pattern === "string") limits.push(`matches <code>${escapeHtml(schema.pattern)}</code>`);
  if (typeof schema.minLength === "number") limits.push(`min length ${schema.minLength}`);
  if (typeof schema.maxLength === "number") limits.push(`max length ${schema.maxLength}`);
  if (typeof schema["x-maxUtf8Bytes"] === "number") limits.push(`max ${schema["x-maxUtf8Bytes"]} bytes`);
  if (typeof schema.minimum === "number") limits.push(`>= ${schema.minimum}`);
  return limits.length ? `${type} (${limits.join(", ")})` : type;
}

function fieldsTable(doc: OpenApiDocument, schemaNode: unknown, skip: string[] = []): string {
  const schema = resolve(doc, schemaNode);
  const properties = (schema.properties ?? {}) as Record<string, JsonObject>;
  const required = (schema.required ?? []) as string[];
  const rows = Object.entries(properties)
    .filter(([name]) => !skip.includes(name))
    .map(
      ([name, property]) =>
        `<tr><td><code>${escapeHtml(name)}</code>${required.includes(name) ? "" : ' <span class="opt">optional</span>'}</td>` +
        `<td>${typeOf(property)}</td><td>${inline(String(property.description ?? ""))}</td></tr>`,
    );
  if (rows.length === 0)
    return `<p class="none">${skip.length ? "Nothing besides code and message." : "No fields."}</p>`;
  return `<table><thead><tr><th>name</th><th>type</th><th>notes</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function parametersTable(parameters: JsonObject[]): string {
  if (parameters.length === 0) return '<p class="none">None.</p>';
  const rows = parameters.map(
    (p) =>
      `<tr><td><code>${escapeHtml(String(p.name))}</code>${p.required ? "" : ' <span class="opt">optional</span>'}</td>` +
      `<td>${typeOf((p.schema ?? {}) as JsonObject)}</td><td>${inline(String(p.description ?? ""))}</td></tr>`,
  );
  return `<table><thead><tr><th>name</th><th>type</th><th>notes</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function operationHtml(doc: OpenApiDocument, path: string, item: Record<string, unknown>, aliases: string[]): string {
  const methods = (["get", "post"] as const).filter((m) => item[m]);
  const op = item[methods[methods.length - 1]!] as JsonObject;
  const responses = (op.responses ?? {}) as Record<string, JsonObject>;
  const ok = responses["200"] ?? {};
  const okSchema = ((ok.content as JsonObject | undefined)?.["application/json"] as JsonObject | undefined)
    ?.schema as JsonObject;
  const variants = Array.isArray(okSchema?.oneOf) ? (okSchema.oneOf as JsonObject[]) : [okSchema];
  const success = variants[0];
  const failure = variants[1] ? resolve(doc, variants[1]) : undefined;
  const failureCodes = ((failure?.properties as JsonObject | undefined)?.code as JsonObject | undefined)?.enum as
    | number[]
    | undefined;
  const meanings = new Map(doc["x-codes"].map((c) => [c.code, c]));
  const statuses = Object.keys(responses).filter((s) => s !== "200");
  const body = op.requestBody as JsonObject | undefined;
  const bodySchema = ((body?.content as JsonObject | undefined)?.["application/json"] as JsonObject | undefined)
    ?.schema;

  return `<article id="${anchor(path)}" class="op">
<h3>${methods.map((m) => `<span class="method ${m}">${m.toUpperCase()}</span>`).join(" ")} <code class="path">${escapeHtml(path)}</code></h3>
<p class="summary">${inline(String(op.summary ?? ""))}${op["x-live-room-only"] ? ' <span class="tag">live_room only</span>' : ""}</p>
${op.description ? `<p>${inline(String(op.description))}</p>` : ""}
${aliases.map((a) => `<p class="alias">Also served at <code>${escapeHtml(a)}</code></p>`).join("")}
<h4>Query parameters</h4>
${parametersTable((op.parameters ?? []) as JsonObject[])}
${bodySchema ? `<h4>JSON body <span class="ref">${typeOf(bodySchema as JsonObject)}</span></h4>${fieldsTable(doc, bodySchema)}` : ""}
<h4>Answer (HTTP 200, <code>code</code> 0)</h4>
${fieldsTable(doc, success, ["code", "message"])}
<h4>Codes</h4>
<ul class="codes">${(failureCodes ?? [])
    .map((code) => `<li><code>${code}</code> ${escapeHtml(meanings.get(code)?.meaning ?? "")}</li>`)
    .join("")}${statuses
    .map(
      (s) =>
        `<li><code>HTTP ${escapeHtml(s)}</code> ${escapeHtml(String(resolve(doc, responses[s]).description ?? ""))}</li>`,
    )
    .join("")}</ul>
</article>`;
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1d1f23;--muted:#5d6370;--bg:#fff;--panel:#f5f6f8;--line:#dfe2e7;--accent:#2b59c3;--get:#1a7f37;--post:#9a4d00}
@media (prefers-color-scheme:dark){:root{--fg:#e6e6e6;--muted:#a0a6b0;--bg:#15171b;--panel:#1e2127;--line:#30343c;--accent:#8fb0ff;--get:#56d364;--post:#f0a35e}}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
.layout{display:grid;grid-template-columns:290px 1fr;min-height:100vh}
nav{position:sticky;top:0;height:100vh;overflow:auto;padding:18px 14px;border-right:1px solid var(--line);background:var(--panel);font-size:13px}
nav h2{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:16px 0 4px}
nav ul{list-style:none;margin:0;padding:0}nav a{color:var(--fg);text-decoration:none;display:block;padding:1px 4px;border-radius:4px}nav a:hover{background:var(--line)}
main{padding:24px 40px;max-width:1100px}h1{margin:0 0 4px;font-size:26px}h2{margin-top:40px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{margin:0 0 6px;font-size:17px}h4{margin:14px 0 4px;font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--panel);padding:1px 4px;border-radius:4px}
.op{border:1px solid var(--line);border-radius:8px;padding:16px 18px;margin:16px 0}
.method{font:700 11px/1 ui-monospace,monospace;padding:4px 6px;border-radius:4px;color:#fff;vertical-align:middle}.method.get{background:var(--get)}.method.post{background:var(--post)}
.path{font-size:15px;background:none}.summary{margin:4px 0;font-weight:500}.alias,.none{color:var(--muted);margin:2px 0;font-size:13px}
.tag{font-size:11px;border:1px solid var(--accent);color:var(--accent);border-radius:10px;padding:0 6px;margin-left:4px}.opt{font-size:11px;color:var(--muted)}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;vertical-align:top;border-bottom:1px solid var(--line);padding:4px 8px}th{color:var(--muted);font-weight:600}
ul.codes{margin:0;padding-left:18px;font-size:13px}a{color:var(--accent)}.intro li{margin:2px 0}.ref{text-transform:none;letter-spacing:0;font-weight:400}
@media (max-width:800px){.layout{grid-template-columns:1fr}nav{position:static;height:auto}main{padding:16px}}
`;

/** Renders the whole reference page from the document. */
export function renderDocsHtml(doc: OpenApiDocument): string {
  const info = doc.info as { title: string; version: string; summary?: string; description?: string };
  const entries = Object.entries(doc.paths);
  const aliasesOf = new Map<string, string[]>();
  for (const [path, item] of entries) {
    const of = item["x-alias-of"];
    if (typeof of === "string") aliasesOf.set(of, [...(aliasesOf.get(of) ?? []), path]);
  }
  const primary = entries.filter(([, item]) => item["x-alias-of"] === undefined);
  const tagOf = (item: Record<string, unknown>) => (((item.post ?? item.get) as JsonObject).tags as string[])[0];

  const intro = (info.description ?? "")
    .split(/\n(?=- )/)
    .map((block, i) =>
      i === 0 ? `<p>${inline(block)}</p>` : `<li>${inline(block.slice(2).replace(/\n\s*/g, " "))}</li>`,
    )
    .join("");

  const nav = doc.tags
    .map((tag) => {
      const links = primary
        .filter(([, item]) => tagOf(item) === tag.name)
        .map(([path]) => `<li><a href="#${anchor(path)}">${escapeHtml(path)}</a></li>`)
        .join("");
      return `<h2>${escapeHtml(String(tag.name))}</h2><ul>${links}</ul>`;
    })
    .join("");

  const sections = doc.tags
    .map((tag) => {
      const ops = primary
        .filter(([, item]) => tagOf(item) === tag.name)
        .map(([path, item]) => operationHtml(doc, path, item, aliasesOf.get(path) ?? []))
        .join("\n");
      return `<section id="tag-${escapeHtml(String(tag.name))}"><h2>${escapeHtml(String(tag.name))}</h2><p>${inline(String(tag.description ?? ""))}</p>${ops}</section>`;
    })
    .join("\n");

  const codes = doc["x-codes"]
    .map(
      (c) =>
        `<tr><td><code>${c.code}</code></td><td lang="zh-CN">${escapeHtml(c.message)}</td><td>${escapeHtml(c.meaning)}</td></tr>`,
    )
    .join("");
  const statuses = Object.entries(doc.components.responses)
    .map(
      ([name, r]) =>
        `<tr><td><code>${escapeHtml(name.replace("Http", "HTTP "))}</code></td><td>${escapeHtml(String(r.description))}</td></tr>`,
    )
    .join("");
  const shared = ["Envelope", "RoomView", "PusherView", "AudienceView", "MergeResult"]
    .map((name) => `<h3 id="schema-${name}">${name}</h3>${fieldsTable(doc, { $ref: `#/components/schemas/${name}` })}`)
    .join("");

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(info.title)}: API reference</title><style>${STYLE}</style></head>
<body><div class="layout">
<nav><strong>${escapeHtml(info.title)}</strong><div><a href="/openapi.json">openapi.json</a></div>
<h2>Overview</h2><ul><li><a href="#codes">Codes</a></li><li><a href="#schemas">Shared shapes</a></li></ul>${nav}</nav>
<main>
<h1>${escapeHtml(info.title)}</h1>
<p class="alias">API reference · version ${escapeHtml(info.version)} · OpenAPI ${escapeHtml(doc.openapi)} document: <a href="/openapi.json">/openapi.json</a></p>
<div class="intro">${intro.replace(/(<li>.*<\/li>)/s, "<ul>$1</ul>")}</div>
<h2 id="codes">Codes</h2>
<p>Business outcomes are HTTP 200 with <code>{code, message}</code>:</p>
<table><thead><tr><th>code</th><th>message</th><th>meaning</th></tr></thead><tbody>${codes}</tbody></table>
<p>Requests that are not protocol requests get another status, with <code>{code: status, message}</code>:</p>
<table><thead><tr><th>status</th><th>when</th></tr></thead><tbody>${statuses}</tbody></table>
${sections}
<section id="schemas"><h2>Shared shapes</h2>${shared}</section>
</main></div></body></html>`;
}
