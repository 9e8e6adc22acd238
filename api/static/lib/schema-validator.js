// A small JSON Schema (draft 2020-12) validator for the keywords our published schemas use:
// type, const, enum, pattern, minLength, maxLength, minimum, maximum, properties, required,
// additionalProperties, items, minItems, maxItems, uniqueItems, $ref (local #/$defs), allOf, anyOf,
// oneOf, not, if/then. Returns the first violation as "path: message", or null.

const typeOf = (v) => {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
};

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const patterns = new Map();
const regex = (p) => {
  if (!patterns.has(p)) patterns.set(p, new RegExp(p, "u"));
  return patterns.get(p);
};

export function schemaError(root, value) {
  const resolve = (ref) => ref.replace(/^#\//, "").split("/").reduce((node, key) => node[key], root);
  const check = (schema, v, path) => {
    if (schema === true) return null;
    if (schema === false) return `${path}: not allowed`;
    if (schema.$ref) {
      const e = check(resolve(schema.$ref), v, path);
      if (e) return e;
    }
    if (schema.type !== undefined) {
      const t = typeOf(v);
      const ok = [].concat(schema.type).some((want) => want === t || (want === "number" && t === "integer"));
      if (!ok) return `${path}: ${JSON.stringify(v)} is not of type '${schema.type}'`;
    }
    if ("const" in schema && !same(schema.const, v)) return `${path}: ${JSON.stringify(schema.const)} was expected`;
    if (schema.enum && !schema.enum.some((x) => same(x, v))) return `${path}: ${JSON.stringify(v)} is not one of the allowed values`;
    if (typeof v === "string") {
      if (schema.pattern && !regex(schema.pattern).test(v)) return `${path}: does not match ${schema.pattern}`;
      const n = [...v].length;
      if (schema.minLength !== undefined && n < schema.minLength) return `${path}: is too short`;
      if (schema.maxLength !== undefined && n > schema.maxLength) return `${path}: is too long`;
    }
    if (typeof v === "number") {
      if (schema.minimum !== undefined && v < schema.minimum) return `${path}: is less than ${schema.minimum}`;
      if (schema.maximum !== undefined && v > schema.maximum) return `${path}: is greater than ${schema.maximum}`;
    }
    if (Array.isArray(v)) {
      if (schema.minItems !== undefined && v.length < schema.minItems) return `${path}: has too few items`;
      if (schema.maxItems !== undefined && v.length > schema.maxItems) return `${path}: has too many items`;
      if (schema.uniqueItems && new Set(v.map((x) => JSON.stringify(x))).size !== v.length) return `${path}: has non-unique elements`;
      if (schema.items) {
        for (let i = 0; i < v.length; i++) {
          const e = check(schema.items, v[i], `${path}/${i}`);
          if (e) return e;
        }
      }
    }
    if (typeOf(v) === "object") {
      for (const key of schema.required || []) if (!(key in v)) return `${path}: '${key}' is a required property`;
      for (const [key, sub] of Object.entries(v)) {
        const ps = schema.properties && schema.properties[key];
        if (ps !== undefined) {
          const e = check(ps, sub, `${path}/${key}`);
          if (e) return e;
        } else if (schema.additionalProperties !== undefined) {
          const e = check(schema.additionalProperties, sub, `${path}/${key}`);
          if (e) return schema.additionalProperties === false ? `${path}: additional property '${key}' is not allowed` : e;
        }
      }
    }
    for (const sub of schema.allOf || []) {
      const e = check(sub, v, path);
      if (e) return e;
    }
    if (schema.anyOf && !schema.anyOf.some((s) => check(s, v, path) === null)) return `${path}: matches none of anyOf`;
    if (schema.oneOf && schema.oneOf.filter((s) => check(s, v, path) === null).length !== 1) return `${path}: must match exactly one of oneOf`;
    if (schema.not && check(schema.not, v, path) === null) return `${path}: should not be valid under ${JSON.stringify(schema.not)}`;
    if (schema.if && check(schema.if, v, path) === null && schema.then) {
      const e = check(schema.then, v, path);
      if (e) return e;
    }
    return null;
  };
  return check(root, value, "");
}
