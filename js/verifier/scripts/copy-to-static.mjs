// Copies the @noble modules the verifier imports into api/static/vendor, so the /verify page runs them in the
// browser as ES modules, without a bundler (index.html's import map names them). The verifier itself is not
// copied: the service serves js/verifier/src at /verify/lib. The copies are committed (the service needs no
// node_modules at run time); tests/js checks they are current.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = new URL("../../../", import.meta.url);
export const FILES = [
  ...["secp256k1.js", "_shortw_utils.js", "abstract/modular.js", "abstract/weierstrass.js", "abstract/utils.js",
    "abstract/curve.js", "abstract/hash-to-curve.js"].map((f) =>
    [`node_modules/@noble/curves/esm/${f}`, `api/static/vendor/noble-curves/${f}`]),
  ...["sha3.js", "sha256.js", "hmac.js", "utils.js", "_assert.js", "_u64.js", "_sha2.js", "crypto.js"].map((f) =>
    [`node_modules/@noble/hashes/esm/${f}`, `api/static/vendor/noble-hashes/${f}`]),
];

export function stale() {
  return FILES.filter(([from, to]) => {
    try {
      return !readFileSync(new URL(from, root)).equals(readFileSync(new URL(to, root)));
    } catch {
      return true;
    }
  }).map(([, to]) => to);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [from, to] of FILES) {
    mkdirSync(dirname(fileURLToPath(new URL(to, root))), { recursive: true });
    copyFileSync(new URL(from, root), new URL(to, root));
  }
}
