// A small validator for the JSON Schema subset the OpenAPI document uses (draft 2020-12 keywords:
// $ref into the document, type, const, enum, properties, required, additionalProperties: false,
// items, anyOf, oneOf, pattern, minLength, maxLength, minimum, maximum). An unknown keyword fails
// loudly, so the document cannot grow a construct these tests silently ignore.
type Schema = Record<string, unknown>;

const KNOWN = new Set([
  "$ref",
  "type",
  "const",
  "enum",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "anyOf",
  "oneOf",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  // annotations
  "description",
  "x-maxUtf8Bytes",
]);

export function resolveRef(root: unknown, ref: string): Schema {
  if (!ref.startsWith("#/")) throw new Error(`not a local $ref: ${ref}`);
  let node: unknown = root;
  for (const part of ref.slice(2).split("/")) {
    node = (node as Record<string, unknown> | undefined)?.[part.replaceAll("~1", "/").replaceAll("~0", "~")];
  }
  if (node === undefined) throw new Error(`unresolved $ref: ${ref}`);
  return node as Schema;
}

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "boolean":
      return typeof value === "boolean";
    case "null":
      return value === null;
    default:
      throw new Error(`unknown type ${type}`);
  }
}

/**
 * The problems of `value` against `schema` (empty when it conforms). With `closed`, an object may hold
 * only the properties its schema names (an answer must not carry undocumented fields).
 */
export function validate(root: unknown, schema: Schema, value: unknown, path = "$", closed = false): string[] {
  const check = (s: Schema, v: unknown, p: string) => validate(root, s, v, p, closed);
  for (const key of Object.keys(schema)) if (!KNOWN.has(key)) throw new Error(`${path}: unsupported keyword ${key}`);
  if (typeof schema.$ref === "string") return check(resolveRef(root, schema.$ref), value, path);
  const errors: string[] = [];
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((t) => typeMatches(t, value)))
      return [`${path}: expected ${types.join("|")}, got ${JSON.stringify(value)}`];
  }
  if ("const" in schema && value !== schema.const) errors.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value))
    errors.push(`${path}: ${JSON.stringify(value)} not in enum`);
  if (Array.isArray(schema.anyOf)) {
    const ok = (schema.anyOf as Schema[]).some((s) => check(s, value, path).length === 0);
    if (!ok) errors.push(`${path}: matches none of anyOf`);
  }
  if (Array.isArray(schema.oneOf)) {
    const results = (schema.oneOf as Schema[]).map((s) => check(s, value, path));
    const matching = results.filter((r) => r.length === 0).length;
    if (matching !== 1) errors.push(`${path}: matches ${matching} of oneOf (${results.flat().join("; ")})`);
  }
  if (typeof value === "string") {
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value))
      errors.push(`${path}: does not match ${schema.pattern}`);
    if (typeof schema.minLength === "number" && [...value].length < schema.minLength)
      errors.push(`${path}: shorter than ${schema.minLength}`);
    if (typeof schema.maxLength === "number" && [...value].length > schema.maxLength)
      errors.push(`${path}: longer than ${schema.maxLength}`);
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) errors.push(`${path}: below ${schema.minimum}`);
    if (typeof schema.maximum === "number" && value > schema.maximum) errors.push(`${path}: above ${schema.maximum}`);
  }
  if (Array.isArray(value) && schema.items) {
    for (const [i, item] of value.entries()) errors.push(...check(schema.items as Schema, item, `${path}[${i}]`));
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const name of (schema.required ?? []) as string[])
      if (!(name in obj)) errors.push(`${path}.${name}: required`);
    for (const [name, property] of Object.entries(properties)) {
      if (name in obj) errors.push(...check(property, obj[name], `${path}.${name}`));
    }
    if (schema.additionalProperties === false || (closed && schema.properties)) {
      for (const name of Object.keys(obj)) if (!(name in properties)) errors.push(`${path}.${name}: not allowed`);
    }
  }
  return errors;
}

/** Every `$ref` string anywhere under `node`. */
export function refsIn(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) refsIn(item, out);
  else if (typeof node === "object" && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") out.push(value);
      else refsIn(value, out);
    }
  }
  return out;
}
