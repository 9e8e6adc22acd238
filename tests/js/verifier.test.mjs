// js/verifier on the shared vectors: every golden certificate verifies offline with the same steps as the
// Python library, every offline forged vector is refused at the step it names, the pinned descriptor's
// RFC 8785 body recovers its governor, and the schema copy in the package is the published one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import {
  VerificationError, credential, jcs, normaliseCaseNumber, text, trustDescriptors, verifyCertificate,
} from "../../js/verifier/src/index.js";
import { messagesModule, schemasModule } from "../../js/verifier/scripts/sync-schemas.mjs";

const golden = new URL("../golden/certificates/", import.meta.url);
const forged = new URL("../golden/forged/", import.meta.url);
const read = (dir, name) => readFileSync(new URL(name, dir), "utf8");
const document = new Uint8Array(readFileSync(new URL("document.bin", golden)));
const pinned = JSON.parse(read(golden, "network.json"));
const trusted = trustDescriptors([pinned.descriptor], [pinned.governor_pinned]);
const KINDS = ["judgment", "enforcement_case", "defaulter_status", "notarized_digest", "judgment_with_dossier"];
const EXPECTED_STEPS = {
  judgment: ["format", "network", "signature", "case_number", "document"],
  judgment_with_dossier: ["format", "network", "signature", "case_number", "dossier", "document"],
  enforcement_case: ["format", "network", "signature"],
  defaulter_status: ["format", "network", "signature"],
  notarized_digest: ["format", "network", "signature", "proof", "document"],
};

for (const kind of KINDS) {
  test(`golden ${kind} verifies offline, saying what it does not prove`, async () => {
    const withDocument = kind !== "enforcement_case" && kind !== "defaulter_status";
    const result = await verifyCertificate(read(golden, `${kind}.json`), { trusted, document: withDocument ? document : undefined });
    assert.deepEqual(result.steps.map((s) => s.name), EXPECTED_STEPS[kind]);
    assert.equal(result.authentic, null);
    assert.equal(result.in_force, null);
    assert.equal(result.exit_code, 4);
    assert.ok(result.does_not_prove.some((claim) => claim.includes("signer")));
  });
}

const vectors = readdirSync(forged).filter((f) => f.endsWith(".json") && f !== "online.json");
assert.ok(vectors.length >= 15, "the forged vectors are missing");
for (const file of vectors) {
  const vector = JSON.parse(read(forged, file));
  test(`forged ${file}: refused at step ${vector.step}`, async () => {
    await assert.rejects(
      verifyCertificate(vector.certificate_text ?? JSON.stringify(vector.certificate), { trusted, document: vector.document ? document : undefined }),
      (err) => err instanceof VerificationError && err.step === vector.step,
    );
  });
}

test("the golden dossier is reported as the Python library reports it", async () => {
  const result = await verifyCertificate(read(golden, "judgment_with_dossier.json"), { trusted, lang: "zh" });
  assert.equal(result.dossier.sequence, 1);
  assert.deepEqual(result.dossier.proof_of_service.required, true);
  assert.deepEqual(result.dossier.translations.map((t) => t.language), ["en", "fr"]);
  assert.match(result.steps.find((s) => s.name === "dossier").detail, /送达证明/);
});

test("a big amount survives as a decimal string (beyond 2^53)", async () => {
  const cert = JSON.parse(read(golden, "judgment.json"));
  assert.equal(cert.record.amount, "123456789012345678901");
  await verifyCertificate(cert, { trusted });
});

test("the descriptor is signed over RFC 8785 JSON with UTF-8, not \\u escapes", () => {
  const body = new TextDecoder().decode(jcs({ b: 1, a: "中国法院网络" }));
  assert.equal(body, '{"a":"中国法院网络","b":1}');
  assert.throws(() => trustDescriptors([{ ...pinned.descriptor, name: pinned.descriptor.name + "!" }],
    [pinned.governor_pinned]), /not signed by a pinned governance key/);
});

test("case-number normal form: NFKC, White_Space deleted, invisible characters refused", () => {
  assert.equal(normaliseCaseNumber("（2016）京0102\u3000民初 1234号\u0085"), "(2016)京0102民初1234号");
  for (const refused of ["\u001c", "\ufeff", "\u200b"]) {
    assert.throws(() => normaliseCaseNumber(`(2016)${refused}1号`), /invisible or unassigned/);
  }
});

const caseNumbers = JSON.parse(readFileSync(new URL("../golden/case_numbers.json", import.meta.url), "utf8"));
for (const vector of caseNumbers) {
  test(`case-number vector: ${vector.case}`, () => {
    if (vector.refused) assert.throws(() => normaliseCaseNumber(vector.input), /invisible or unassigned|empty/);
    else {
      assert.equal(normaliseCaseNumber(vector.input), vector.normal);
      assert.equal(normaliseCaseNumber(vector.normal), vector.normal, "the normal form is idempotent");
    }
  });
}

const descriptorVectors = new URL("../golden/descriptors/", import.meta.url);
for (const file of readdirSync(descriptorVectors).filter((f) => f.endsWith(".json"))) {
  const vector = JSON.parse(read(descriptorVectors, file));
  test(`descriptor vector ${file}: ${vector.trusted ? "trusted" : "refused"}`, () => {
    const run = () => trustDescriptors([vector.descriptor], [vector.governor_pinned]);
    if (vector.trusted) assert.equal(run().length, 1);
    else assert.throws(run);
  });
}

test("a certificate given as bytes must be well-formed UTF-8", async () => {
  const bytes = new Uint8Array(readFileSync(new URL("judgment.json", golden)));
  assert.equal((await verifyCertificate(bytes, { trusted })).kind, "judgment");
  const i = bytes.indexOf(0xe4); // the first byte of 京
  const broken = bytes.slice();
  broken[i] = 0xff;
  await assert.rejects(verifyCertificate(broken, { trusted }), (err) => err.step === "format" && /UTF-8/.test(err.reason));
});

test("the package's schema copy is the published one (docs/schemas)", () => {
  assert.equal(readFileSync(new URL("../../js/verifier/src/schemas.js", import.meta.url), "utf8"), schemasModule());
});

test("the /verify page serves the same verifier and @noble modules (api/static is current)", async () => {
  const { stale } = await import("../../js/verifier/scripts/copy-to-static.mjs");
  assert.deepEqual(stale(), [], "run: node js/verifier/scripts/copy-to-static.mjs");
});

// -- Verifiable Credentials (tests/golden/credentials, made by tests/test_vc.py) ------------------
const credentials = new URL("../golden/credentials/", import.meta.url);
const forgedCredentials = new URL("../golden/credentials/forged/", import.meta.url);

for (const kind of KINDS) {
  test(`golden ${kind} credential is rebuilt byte for byte and verifies like its certificate`, async () => {
    const vc = JSON.parse(read(credentials, `${kind}.json`));
    const cert = vc.evidence[0].certificate;
    assert.deepEqual(credential(cert, vc.credentialStatus), vc);
    const withDocument = kind !== "enforcement_case" && kind !== "defaulter_status";
    const result = await verifyCertificate(JSON.stringify(vc), { trusted, document: withDocument ? document : undefined });
    assert.deepEqual(result.steps.map((s) => s.name), EXPECTED_STEPS[kind]);
    assert.match(result.steps[0].detail, /Verifiable Credential/);
  });
}

const credentialVectors = readdirSync(forgedCredentials).filter((f) => f.endsWith(".json"));
assert.ok(credentialVectors.length >= 10, "the forged credential vectors are missing");
for (const file of credentialVectors) {
  const vector = JSON.parse(read(forgedCredentials, file));
  test(`forged credential ${file}: refused at step ${vector.step}`, async () => {
    await assert.rejects(
      verifyCertificate(JSON.stringify(vector.credential), { trusted, document }),
      (err) => err instanceof VerificationError && err.step === vector.step && err.steps.length === 0,
    );
  });
}

test("the message catalog in the package is ledger/messages.json, in three languages", () => {
  assert.equal(readFileSync(new URL("../../js/verifier/src/messages.js", import.meta.url), "utf8"), messagesModule());
  assert.equal(text("status.judgment", "zh", { state: "set_aside" }), "判决已撤销");
  assert.equal(text("status.judgment", "fr", { state: "set_aside" }), "le jugement est annulé");
  assert.equal(text("format.v1", "de"), text("format.v1", "en"));
});

test("steps, refusals and what offline does not prove come in the asked language", async () => {
  const result = await verifyCertificate(read(golden, "judgment.json"), { trusted, document, lang: "zh" });
  assert.equal(result.steps[0].detail, "证书格式 2，判决");
  assert.equal(result.steps[0].key, "format.ok");
  assert.ok(result.does_not_prove.every((claim) => /[\u4e00-\u9fff]/.test(claim)));
  const vector = JSON.parse(read(forged, "high_s_twin.json"));
  await assert.rejects(verifyCertificate(JSON.stringify(vector.certificate), { trusted, lang: "fr" }),
    (err) => err.step === "signature" && err.reason.startsWith("la signature n'est pas canonique") &&
      err.message.startsWith("la vérification a échoué à l'étape") && err.steps[0].detail.startsWith("certificat au format 2"));
});
