// Copies docs/schemas/*.json into src/schemas.js (an ES module, so browsers import it without a bundler).
// tests/js checks that the copy is current.
import { readFileSync, writeFileSync } from "node:fs";

const docs = new URL("../../../docs/schemas/", import.meta.url);
const read = (name) => JSON.parse(readFileSync(new URL(name, docs), "utf8"));
export function schemasModule() {
  return "// Generated from docs/schemas by scripts/sync-schemas.mjs: do not edit.\n" +
    `export const certificateSchema = ${JSON.stringify(read("certificate-v2.schema.json"))};\n` +
    `export const descriptorSchema = ${JSON.stringify(read("network-descriptor.schema.json"))};\n`;
}
// The verification message catalog (ledger/messages.json: en, zh, fr), one source for Python, JS and the page.
export function messagesModule() {
  const catalog = JSON.parse(readFileSync(new URL("../../../ledger/messages.json", import.meta.url), "utf8"));
  return "// Generated from ledger/messages.json by scripts/sync-schemas.mjs: do not edit.\n" +
    `export const messages = ${JSON.stringify(catalog)};\n` +
    "const TRANSLATED = [\"state\", \"kind\"];\n" +
    "/** The message `key` in `lang` (en, zh, fr; else en); `state` and `kind` values are translated too. */\n" +
    "export function text(key, lang = \"en\", params = {}) {\n" +
    "  const l = [\"en\", \"zh\", \"fr\"].includes(lang) ? lang : \"en\";\n" +
    "  return messages[key][l].replace(/\\{(\\w+)\\}/g, (_, name) => {\n" +
    "    const v = params[name];\n" +
    "    return TRANSLATED.includes(name) && messages[`${name}.${v}`] ? messages[`${name}.${v}`][l] : String(v);\n" +
    "  });\n}\n";
}
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  writeFileSync(new URL("../src/schemas.js", import.meta.url), schemasModule());
  writeFileSync(new URL("../src/messages.js", import.meta.url), messagesModule());
}
