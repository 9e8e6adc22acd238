// Offline verification in JavaScript (js/verifier: @noble/curves secp256k1 recovery, @noble/hashes keccak)
// on the golden certificates; prints {kind: {median_ms, p99_ms, runs}} as JSON. Usage: node ... [runs]
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { trustDescriptors, verifyCertificate } from "../js/verifier/src/index.js";

const runs = Number(process.argv[2] || 1000);
const golden = new URL("../tests/golden/certificates/", import.meta.url);
const pinned = JSON.parse(readFileSync(new URL("network.json", golden), "utf8"));
const trusted = trustDescriptors([pinned.descriptor], [pinned.governor_pinned]);
const document = new Uint8Array(readFileSync(new URL("document.bin", golden)));
const out = {};
for (const kind of ["judgment", "enforcement_case", "defaulter_status", "notarized_digest"]) {
  const text = readFileSync(new URL(`${kind}.json`, golden), "utf8");
  const options = { trusted, document: kind === "judgment" || kind === "notarized_digest" ? document : undefined };
  for (let i = 0; i < 50; i++) await verifyCertificate(text, options);
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await verifyCertificate(text, options);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  out[kind] = { median_ms: ms[Math.floor(ms.length / 2)], p99_ms: ms[Math.floor(ms.length * 0.99)], runs };
}
process.stdout.write(JSON.stringify(out));
