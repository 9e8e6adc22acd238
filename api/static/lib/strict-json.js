// JSON read by the lexical rules of docs/verification.md section 2.6, the same as ledger/strict_json.py:
// a member name twice in one object, a number not written as an integer (0 or -?[1-9][0-9]*; no fraction,
// exponent or -0), a lone surrogate (as an escape or a code unit) and, for bytes, malformed UTF-8 are refused.
// JSON.parse keeps the last duplicate and reads 1.0 as 1, so the text itself is scanned (after JSON.parse has
// accepted its syntax, which keeps this scanner small).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const INTEGER = /^-?(0|[1-9][0-9]*)$/;

export class JSONLexicalError extends Error {}

function scan(text) {
  const stack = []; // for each open object: { keys: Set, key: bool (the next string is a member name) }
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{") stack.push({ keys: new Set(), key: true });
    else if (c === "[") stack.push(null);
    else if (c === "}" || c === "]") stack.pop();
    else if (c === ",") { const top = stack[stack.length - 1]; if (top) top.key = true; }
    else if (c === ":") stack[stack.length - 1].key = false;
    else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top && top.key) {
        const name = JSON.parse(text.slice(i, j + 1));
        if (top.keys.has(name)) throw new JSONLexicalError(`member '${name.slice(0, 40)}' appears twice in one object`);
        top.keys.add(name);
      }
      i = j;
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      let j = i;
      while (j < text.length && "+-.eE0123456789".includes(text[j])) j++;
      const n = text.slice(i, j);
      if (!INTEGER.test(n) || n === "-0") {
        throw new JSONLexicalError(`number ${n.slice(0, 40)} is not written as an integer (no fraction, exponent or -0)`);
      }
      i = j - 1;
    }
  }
}

function hasLoneSurrogate(v) {
  if (typeof v === "string") return LONE_SURROGATE.test(v);
  if (Array.isArray(v)) return v.some(hasLoneSurrogate);
  if (v !== null && typeof v === "object") return Object.entries(v).some(([k, x]) => LONE_SURROGATE.test(k) || hasLoneSurrogate(x));
  return false;
}

/** Parse one JSON text (a string, or UTF-8 bytes) by these rules; throws JSONLexicalError or SyntaxError. */
export function parseStrictJSON(input) {
  let text = input;
  if (typeof input !== "string") {
    try { text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(input); } catch {
      throw new JSONLexicalError("not well-formed UTF-8");
    }
  }
  const value = JSON.parse(text);
  scan(text);
  if (hasLoneSurrogate(value)) throw new JSONLexicalError("a string holds a lone surrogate (\\uD800-\\uDFFF not in a pair)");
  return value;
}
