// Runs js/verifier online for tests/test_verify.py: reads {rpc, descriptor, governor, cases: [{name, certificate,
// at?}]} on stdin and prints, per case, the step that refused it or the two answers (JSON, one object).
import { readFileSync } from "node:fs";
import { VerificationError, trustDescriptors, verifyCertificate } from "../../js/verifier/src/index.js";

const input = JSON.parse(readFileSync(0, "utf8"));
const trusted = trustDescriptors([input.descriptor], [input.governor]);
const out = {};
for (const c of input.cases) {
  try {
    const r = await verifyCertificate(c.certificate, { trusted, rpc: input.rpc, at: c.at });
    out[c.name] = { authentic: r.authentic, in_force: r.in_force, state: r.state, steps: r.steps.map((s) => s.name),
      status: r.status, dossier: r.dossier, effect: r.effect };
  } catch (e) {
    out[c.name] = e instanceof VerificationError ? { step: e.step, reason: e.reason } : { error: String(e.stack || e) };
  }
}
process.stdout.write(JSON.stringify(out));
