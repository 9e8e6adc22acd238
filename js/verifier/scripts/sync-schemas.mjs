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
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  writeFileSync(new URL("../src/schemas.js", import.meta.url), schemasModule());
}
