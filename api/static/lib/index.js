// Verifier of ledger certificates, format 2 (docs/verification.md), offline and online (JSON-RPC over fetch).
// Same steps, in the same order, as the Python library: format, network, signature, case_number, dossier, proof,
// document, chain, signer, record, dossier_chain, status. Runtime dependencies: @noble/curves and @noble/hashes only.
import { secp256k1 } from "@noble/curves/secp256k1";
import { keccak_256 } from "@noble/hashes/sha3";
import { sha256 } from "@noble/hashes/sha256";
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from "@noble/hashes/utils";
import { schemaError } from "./schema-validator.js";
import { certificateSchema, descriptorSchema } from "./schemas.js";
import { normaliseCaseNumber } from "./normalise.js";
import { JSONLexicalError, parseStrictJSON } from "./strict-json.js";
import { credential, embeddedCertificate, firstDifference, isCredential, statusProblem } from "./credential.js";
import { messages, text } from "./messages.js";

export { normaliseCaseNumber, certificateSchema, descriptorSchema, credential, isCredential, messages, text };

/** A message to render in the reader's language: a key of ledger/messages.json and its parameters. */
const M = (key, params = {}) => ({ key, params });
/** A message (or plain text) in `lang` (en, zh, fr); nested messages are rendered in the same language. */
export function render(message, lang = "en") {
  if (typeof message === "string") return message;
  const params = Object.fromEntries(Object.entries(message.params).map(([k, v]) =>
    [k, v && typeof v === "object" && "key" in v ? render(v, lang) : v]));
  return text(message.key, lang, params);
}

export class VerificationError extends Error {
  /** `message`: the reason as a catalog message (or text); `lang`: the language it is said in. */
  constructor(step, message, steps = [], lang = "en") {
    const reason = render(message, lang);
    super(text("error.failed", lang, { step, reason }));
    this.step = step;
    this.reason = reason;
    this.steps = steps;
    this.reasonMessage = message;
  }
}

// -- bytes ---------------------------------------------------------------------------------------
const hex = (b) => "0x" + bytesToHex(b);
const unhex = (s) => hexToBytes(s.startsWith("0x") ? s.slice(2) : s);
const keccak = (b) => keccak_256(b);
const word = (n) => { // uint256 big-endian
  const out = new Uint8Array(32);
  let v = BigInt(n);
  for (let i = 31; i >= 0 && v > 0n; i--) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
};
const bytesEq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const toBig = (b) => (b.length ? BigInt(hex(b)) : 0n);

export function checksumAddress(address) {
  const lower = address.toLowerCase().replace(/^0x/, "");
  const h = bytesToHex(keccak(utf8ToBytes(lower)));
  return "0x" + [...lower].map((c, i) => (parseInt(h[i], 16) >= 8 ? c.toUpperCase() : c)).join("");
}

// -- records (EIP-712) ---------------------------------------------------------------------------
const ACTION_KINDS = ["notice", "property_report_order", "asset_inquiry", "freeze", "seal", "seize", "deduction",
  "valuation", "auction_listed", "auction_sold", "auction_failed", "payment_received", "disbursement", "settlement",
  "consumption_restriction", "defaulter_listing", "termination_no_assets", "resumption", "conclusion"];
const GROUNDS = ["none", "able_but_refuses", "obstructs_by_forgery_or_violence",
  "evades_by_false_litigation_or_hiding_assets", "violates_property_report", "violates_consumption_restriction",
  "refuses_settlement"];
const RESTRICTIONS = { flights: 1, rail: 2, high_consumption: 4, property_and_cars: 8, loans_and_cards: 16,
  company_office: 32, public_office: 64, public_bidding: 128 };
const JUDGMENT_STATUS = ["none", "effective", "under_appeal", "set_aside", "superseded", "satisfied", "stayed"];
const CASE_STATE = ["none", "open", "terminated", "concluded"];
const REMOVAL_REASON = ["none", "performed", "settlement_fulfilled", "applicant_agreed", "case_ended",
  "corrected_wrongly_listed", "period_expired"];
const UINT64 = 2n ** 64n - 1n;
const UINT128 = 2n ** 128n - 1n;
const TWO_YEARS = 730 * 86400;

const fail = (key, params) => { throw new VerificationError("format", M(key, params)); };
function isoDate(s, where) {
  const t = Date.parse(`${s}T00:00:00Z`);
  if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== s) fail("format.date_invalid", { where });
  if (t < 0) fail("format.date_before_1970", { where });
  return t / 1000;
}
function uint(s, max, where) {
  const v = BigInt(s);
  if (v > max) fail("format.out_of_range", { where });
  return v;
}

const TYPES = {
  Judgment: "Judgment(uint32 court,bytes32 caseNumberDigest,bytes32 documentDigest,bytes32 partiesCommitment,uint128 amount,bytes3 currency,uint40 judgmentDate,uint40 effectiveDate)",
  Filing: "Filing(uint32 court,bytes32 judgmentId,bytes32 caseNumberDigest,uint128 amountDue,uint40 filedAt)",
  Action: "Action(bytes32 caseId,uint32 sequence,uint8 kind,uint128 amount,uint64 detail,bytes32 documentDigest,uint8 flags)",
  Listing: "Listing(uint32 court,bytes32 subject,bytes32 caseId,uint8 ground,uint16 restrictions,uint40 listedAt,uint40 until)",
  Anchor: "Anchor(uint32 court,bytes32 root,uint32 size,bytes32 metadataDigest)",
  Dossier: "Dossier(bytes32 judgmentId,bool byDefault,bytes32 completeCopy,bytes32 proofOfService,bytes32 translationsRoot,uint32 sequence)",
};
const TYPE_HASH = Object.fromEntries(Object.entries(TYPES).map(([k, v]) => [k, keccak(utf8ToBytes(v))]));
const hashStruct = (type, words) => keccak(concatBytes(TYPE_HASH[type], ...words));

function recordWords(kind, r) {
  if (kind === "judgment") {
    const jd = isoDate(r.judgment_date, "record/judgment_date");
    const ed = isoDate(r.effective_date, "record/effective_date");
    if (ed < jd) fail("format.effective_before");
    const currency = new Uint8Array(32);
    currency.set(utf8ToBytes(r.currency));
    return ["Judgment", [word(r.court), unhex(r.case_number_digest), unhex(r.document_digest),
      unhex(r.parties_commitment), word(uint(r.amount, UINT128, "record/amount")), currency, word(jd), word(ed)]];
  }
  if (kind === "enforcement_case") {
    const due = uint(r.amount_due, UINT128, "record/amount_due");
    if (due === 0n) fail("format.amount_due_zero");
    return ["Filing", [word(r.court), unhex(r.judgment_id), unhex(r.case_number_digest), word(due),
      word(isoDate(r.filed_at, "record/filed_at"))]];
  }
  if (kind === "defaulter_status") {
    if (r.listed_at <= 0 || r.until <= 0) fail("format.listing_epoch");
    if (!(r.until - r.listed_at > 0 && r.until - r.listed_at <= TWO_YEARS)) {
      fail("format.listing_period");
    }
    const mask = r.restrictions.reduce((acc, n) => acc | RESTRICTIONS[n], 0);
    return ["Listing", [word(r.court), unhex(r.subject), unhex(r.case_id), word(GROUNDS.indexOf(r.ground)), word(mask),
      word(r.listed_at), word(r.until)]];
  }
  return ["Anchor", [word(r.court), unhex(r.root), word(r.size), unhex(r.metadata_digest)]];
}

const ZERO32 = new Uint8Array(32);
/** A dossier's translationsRoot (docs/verification.md 2.7): zero for none, else keccak256 of
 * keccak256(utf8(language)) ‖ digest per translation, in the (already checked) ascending language order. */
export function translationsRoot(translations) {
  if (!translations.length) return ZERO32;
  return keccak(concatBytes(...translations.flatMap((t) => [keccak(utf8ToBytes(t.language)), unhex(t.digest)])));
}

/** The dossier block's offline rules (step format), its EIP-712 struct hash and its DossierFiled event data. */
function dossierStruct(cert, recordId) {
  const d = cert.dossier;
  const languages = d.translations.map((t) => t.language);
  if (languages.some((l, i) => i > 0 && !(languages[i - 1] < l))) fail("format.translations_order");
  if (d.by_default && d.proof_of_service === undefined) fail("format.dossier_no_service");
  if (d.transaction.block_number < cert.transaction.block_number) fail("format.dossier_before_judgment");
  if (d.as_of.block_number < d.transaction.block_number) fail("format.dossier_as_of_before");
  const fields = [word(d.by_default ? 1 : 0), unhex(d.complete_copy),
    d.proof_of_service === undefined ? ZERO32 : unhex(d.proof_of_service), translationsRoot(d.translations),
    word(d.sequence)];
  return { hash: hashStruct("Dossier", [recordId, ...fields]), eventData: hex(concatBytes(...fields)) };
}

/** What the dossier says, for the result (the same object as the Python library's). */
const dossierSummary = (d, hash) => ({ sequence: d.sequence, court: d.court, by_default: d.by_default,
  complete_copy: d.complete_copy,
  proof_of_service: { required: d.by_default, present: d.proof_of_service !== undefined,
    digest: d.proof_of_service ?? null },
  translations: d.translations.map((t) => ({ language: t.language, digest: t.digest })), dossier_hash: hex(hash) });

function actionId(a) {
  return hashStruct("Action", [unhex(a.case_id), word(a.sequence), word(ACTION_KINDS.indexOf(a.kind)),
    word(uint(a.amount, UINT128, "action amount")), word(uint(a.detail, UINT64, "action detail")),
    unhex(a.document_digest), word(a.flags)]);
}

export function caseReplay(actions) {
  let state = "open";
  let recovered = 0n;
  for (const a of actions) {
    if (a.kind === "deduction" || a.kind === "payment_received") recovered += BigInt(a.amount);
    else if (a.kind === "termination_no_assets") state = "terminated";
    else if (a.kind === "resumption") state = "open";
    else if (a.kind === "conclusion") state = "concluded";
  }
  return [state, recovered];
}

export const listingRestricted = (listing, at, until, removedAt) =>
  listing.listed_at <= at && at < (removedAt == null ? until : Math.min(until, removedAt));

const CONTRACT_OF_KIND = { judgment: "JudgmentRegistry", enforcement_case: "EnforcementRegistry",
  defaulter_status: "DefaulterRegistry", notarized_digest: "NotaryAnchor" };

/** A credential's certificate, once the credential is shown to be exactly the one it determines (step format). */
export function certificateFromCredential(vc) {
  const certificate = embeddedCertificate(vc);
  if (!certificate) fail("format.vc_evidence");
  const { cert } = parseCertificate(certificate);
  const purposes = { judgment: ["revocation", "suspension"], defaulter_status: ["revocation"] }[cert.kind] || [];
  if (statusProblem(cert.kind, vc.credentialStatus)) {
    fail("format.vc_status", { purposes: JSON.stringify(purposes) });
  }
  const difference = firstDifference(vc, credential(cert, vc.credentialStatus));
  if (difference) fail("format.vc_claim", { path: difference });
  return cert;
}

/** Parse and check a certificate, or a Verifiable Credential carrying one (step format); returns
 * { cert, recordId, credential } (credential: whether the input was a credential). */
export function parseCertificate(input) {
  let cert = input;
  if (typeof input === "string" || input instanceof Uint8Array) {
    try { cert = parseStrictJSON(input); } catch (e) {
      if (e instanceof JSONLexicalError) fail("format.lexical", { error: e.message });
      fail("format.not_json", { error: e.message });
    }
  }
  if (isCredential(cert)) return { ...parseCertificate(certificateFromCredential(cert)), credential: true };
  if (cert === null || typeof cert !== "object" || Array.isArray(cert)) fail("format.not_object");
  if (cert.version === 1) fail("format.v1");
  const problem = schemaError(certificateSchema, cert);
  if (problem) fail("format.schema", { problem });
  const addresses = [["network.contract", cert.network.contract], ["signature.signer", cert.signature.signer]];
  if (cert.dossier) addresses.push(["dossier.signature.signer", cert.dossier.signature.signer]);
  for (const [where, a] of addresses) {
    if (checksumAddress(a) !== a) fail("format.not_checksummed", { where });
  }
  if (CONTRACT_OF_KIND[cert.kind] !== cert.network.contract_name) fail("format.contract_name");
  const r = cert.record;
  if (r.restrictions && JSON.stringify(r.restrictions) !== JSON.stringify([...r.restrictions].sort())) {
    fail("format.unsorted");
  }
  const [type, words] = recordWords(cert.kind, r);
  const recordId = hashStruct(type, words);
  if (hex(recordId) !== cert.record_id) fail("format.record_id");
  if (cert.case) {
    let history = recordId;
    cert.case.actions.forEach((a, i) => {
      if (a.case_id !== cert.record_id || a.sequence !== i) fail("format.action_foreign", { i });
      history = keccak(concatBytes(history, actionId(a)));
    });
    if (hex(history) !== cert.case.history_hash) fail("format.history");
    const [state, recovered] = caseReplay(cert.case.actions);
    if (state !== cert.case.state || String(recovered) !== cert.case.amount_recovered) {
      fail("format.replay", { state, recovered, claimed_state: cert.case.state, claimed: cert.case.amount_recovered });
    }
  }
  if (cert.as_of && cert.as_of.block_number < cert.transaction.block_number) fail("format.as_of_before");
  if (cert.defaulter) checkListing(cert);
  const dossier = cert.dossier ? dossierStruct(cert, recordId) : null;
  return { cert, recordId, dossier };
}

// DefaulterRegistry.MIN_EXTENSION and MAX_EXTENSION: an extension moves until by 365 to 1,095 days.
const MIN_EXTENSION = 365 * 86400;
const MAX_EXTENSION = 1095 * 86400;
/** The listing block's offline consistency (docs/verification.md 2.4). */
function checkListing(cert) {
  const r = cert.record;
  const d = cert.defaulter;
  const written = cert.transaction.block_time;
  if (d.until !== r.until && !(r.until + MIN_EXTENSION <= d.until && d.until <= r.until + MAX_EXTENSION)) {
    fail("format.until_extension");
  }
  if (d.at < written) fail("format.at_before");
  if (d.removed_at !== undefined && !(written <= d.removed_at && d.removed_at <= d.at)) {
    fail("format.removed_between");
  }
  if (listingRestricted(r, d.at, d.until, d.removed_at) !== d.restricted) {
    fail("format.restricted");
  }
}

// -- signatures and the descriptor ---------------------------------------------------------------
const N = secp256k1.CURVE.n;

/** Why a 65-byte r||s||v signature is not canonical (low s, v 27/28), or null. */
export function canonicalSignatureProblem(sig) {
  if (sig.length !== 65) return `a signature is 65 bytes, not ${sig.length}`;
  const r = toBig(sig.slice(0, 32));
  const s = toBig(sig.slice(32, 64));
  if (sig[64] !== 27 && sig[64] !== 28) return `v is ${sig[64]}; only 27 and 28 are accepted`;
  if (!(r > 0n && r < N)) return "r is out of range";
  if (!(s > 0n && s <= N / 2n)) return "s is in the upper half of the curve order (the malleable twin of a signature)";
  return null;
}

export function recoverAddress(digest, sig) {
  const point = secp256k1.Signature.fromCompact(sig.slice(0, 64)).addRecoveryBit(sig[64] - 27).recoverPublicKey(digest);
  return checksumAddress(hex(keccak(point.toRawBytes(false).slice(1)).slice(-20)));
}

/** RFC 8785 canonical JSON of objects, arrays, strings, integers, booleans and null (UTF-8 bytes). */
export function jcs(value) {
  const enc = (v) => {
    if (Array.isArray(v)) return "[" + v.map(enc).join(",") + "]";
    if (v !== null && typeof v === "object") {
      const keys = Object.keys(v).sort(); // UTF-16 code unit order, as JavaScript sorts strings
      return "{" + keys.map((k) => JSON.stringify(k) + ":" + enc(v[k])).join(",") + "}";
    }
    if (typeof v === "number" && !Number.isInteger(v)) throw new Error("a network descriptor has no floating-point numbers");
    return JSON.stringify(v);
  };
  return utf8ToBytes(enc(value));
}

const DOMAIN_TYPE_HASH = keccak(utf8ToBytes("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"));
const separators = new Map();
function domainSeparator(name, chainId, contract) {
  const key = `${name}|${chainId}|${contract}`;
  if (!separators.has(key)) {
    separators.set(key, keccak(concatBytes(DOMAIN_TYPE_HASH, keccak(utf8ToBytes(name)), keccak(utf8ToBytes("1")),
      word(chainId), concatBytes(new Uint8Array(12), unhex(contract)))));
  }
  return separators.get(key);
}

/** The descriptor's body (what the governor signs): every field but `signature`, addresses EIP-55. */
export function descriptorBody(d) {
  const contracts = Object.fromEntries(Object.entries(d.contracts).map(([k, c]) =>
    [k, { address: checksumAddress(c.address), artifact_digest: c.artifact_digest.toLowerCase() }]));
  return jcs({ name: d.name, chain_id: d.chain_id, genesis_hash: d.genesis_hash.toLowerCase(), contracts,
    governor: checksumAddress(d.governor) });
}

/** Accept descriptors signed (EIP-191) by a pinned governor; throws otherwise. */
export function trustDescriptors(descriptors, governors) {
  const pinned = new Set(governors.map(checksumAddress));
  return descriptors.map((d) => {
    const problem = schemaError(descriptorSchema, d);
    if (problem) throw new Error(`network descriptor does not follow its schema: ${problem}`);
    for (const a of [d.governor, ...Object.values(d.contracts).map((c) => c.address)]) {
      if (checksumAddress(a) !== a) throw new Error(`network descriptor '${d.name}': ${a} is not an EIP-55 checksummed address`);
    }
    const sig = unhex(d.signature);
    const bad = canonicalSignatureProblem(sig);
    if (bad) throw new Error(`network descriptor signature is not canonical: ${bad}`);
    const body = descriptorBody(d);
    const digest = keccak(concatBytes(utf8ToBytes(`\x19Ethereum Signed Message:\n${body.length}`), body));
    const signer = recoverAddress(digest, sig);
    if (!pinned.has(signer) || checksumAddress(d.governor) !== signer) {
      throw new Error(`network descriptor '${d.name}' is not signed by a pinned governance key`);
    }
    return d;
  });
}

// -- verification --------------------------------------------------------------------------------
export const EXIT_CODES = { in_force: 0, not_authentic: 1, not_in_force: 3, offline: 4 };
const PROVES = Object.fromEntries(["signature", "case_number", "history", "listing", "proof", "document", "dossier"]
  .map((name) => [name, M(`proves.${name}`)]));
const DOES_NOT_PROVE = ["signer", "record", "state", "in_force"].map((name) => M(`not_proved.${name}`));

function notaryLeaf(digest, nonce) {
  return keccak(keccak(concatBytes(digest, nonce)));
}
function processProof(leaf, proof) {
  return proof.reduce((node, sibling) => {
    const [a, b] = bytesToHex(node) < bytesToHex(sibling) ? [node, sibling] : [sibling, node];
    return keccak(concatBytes(a, b));
  }, leaf);
}

/**
 * Verify a certificate. options: { trusted: descriptors already accepted by trustDescriptors,
 * rpc?: URL string or a function(method, params) => result, document?: Uint8Array, documentDigest?: hex string,
 * at?: unix seconds }. Resolves to the result; rejects with VerificationError naming the failed step.
 */
export async function verifyCertificate(input, options) {
  const done = [];
  const lang = options.lang || "en";
  const ok = (name, key, params) => done.push({ name, ok: true, detail: render(M(key, params), lang), key, params });
  const failAt = (name, key, params) => { throw new VerificationError(name, key && typeof key === "object" ? key : M(key, params), [...done], lang); };
  let parsed;
  try { parsed = parseCertificate(input); } catch (e) {
    if (e instanceof VerificationError) failAt("format", e.reasonMessage);
    failAt("format", "format.not_json", { error: String(e.message || e) });
  }
  const { cert, recordId, dossier } = parsed;
  ok("format", parsed.credential ? "format.ok_credential" : "format.ok", { version: cert.version, kind: cert.kind });
  const proves = [PROVES.signature];

  const network = (options.trusted || []).find((d) => d.chain_id === cert.network.chain_id &&
    d.contracts[cert.network.contract_name] &&
    checksumAddress(d.contracts[cert.network.contract_name].address) === cert.network.contract);
  if (!network) failAt("network", "network.untrusted", { contract_name: cert.network.contract_name, contract: cert.network.contract, chain_id: cert.network.chain_id });
  ok("network", "network.ok", { contract_name: cert.network.contract_name, contract: cert.network.contract, network: network.name });

  const sig = unhex(cert.signature.value);
  const bad = canonicalSignatureProblem(sig);
  if (bad) failAt("signature", "signature.not_canonical", { problem: bad });
  const separator = domainSeparator(cert.network.contract_name, cert.network.chain_id, cert.network.contract);
  const digest = keccak(concatBytes(new Uint8Array([0x19, 0x01]), separator, recordId));
  let recovered;
  try { recovered = recoverAddress(digest, sig); } catch (e) { failAt("signature", "signature.unrecoverable", { error: e.message }); }
  if (recovered !== cert.signature.signer) failAt("signature", "signature.mismatch", { recovered, signer: cert.signature.signer });
  ok("signature", "signature.ok", { signer: recovered, court: cert.record.court });

  if (cert.case_number) {
    let normal;
    try { normal = normaliseCaseNumber(cert.case_number.text); } catch (e) { failAt("case_number", "case_number.invalid", { error: e.message }); }
    if (normal !== cert.case_number.text) failAt("case_number", "case_number.not_normal");
    const opened = keccak(concatBytes(unhex(cert.case_number.salt), utf8ToBytes(normal)));
    if (hex(opened) !== cert.record.case_number_digest) failAt("case_number", "case_number.mismatch");
    ok("case_number", "case_number.ok");
    proves.push(PROVES.case_number);
  }
  let dossierResult;
  if (dossier) {
    const d = cert.dossier;
    const dsig = unhex(d.signature.value);
    const dbad = canonicalSignatureProblem(dsig);
    if (dbad) failAt("dossier", "dossier.not_canonical", { problem: dbad });
    let signer;
    try { signer = recoverAddress(keccak(concatBytes(new Uint8Array([0x19, 0x01]), separator, dossier.hash)), dsig); } catch (e) {
      failAt("dossier", "signature.unrecoverable", { error: e.message });
    }
    if (signer !== d.signature.signer) failAt("dossier", "dossier.mismatch", { recovered: signer, signer: d.signature.signer });
    ok("dossier", "dossier.ok", { sequence: d.sequence, court: d.court, translations: d.translations.length,
      service: M(d.proof_of_service !== undefined ? "dossier.service_present" : "dossier.service_not_required") });
    proves.push(PROVES.dossier);
    dossierResult = dossierSummary(d, dossier.hash);
  }
  if (cert.case) proves.push(PROVES.history);
  if (cert.defaulter) proves.push(PROVES.listing);
  if (cert.notary) {
    const leaf = notaryLeaf(unhex(cert.notary.digest), unhex(cert.notary.nonce));
    if (hex(processProof(leaf, cert.notary.proof.map(unhex))) !== cert.record.root) {
      failAt("proof", "proof.mismatch");
    }
    ok("proof", "proof.ok", { root: cert.record.root, count: cert.notary.proof.length });
    proves.push(PROVES.proof);
  }
  let documentDigest = options.documentDigest ? options.documentDigest.toLowerCase() : undefined;
  if (options.document) documentDigest = hex(sha256(options.document));
  if (documentDigest !== undefined) {
    const expected = cert.kind === "judgment" ? cert.record.document_digest : cert.notary ? cert.notary.digest : null;
    if (expected === null) failAt("document", "document.none", { kind: cert.kind });
    if (documentDigest !== expected) failAt("document", "document.mismatch", { digest: documentDigest, expected });
    ok("document", "document.ok");
    proves.push(PROVES.document);
  }
  if (!options.rpc) {
    return { verified: true, authentic: null, in_force: null, state: null, at: null, kind: cert.kind,
      record_id: cert.record_id, online: false, network: network.name, steps: done, status: {},
      proves: proves.map((m) => render(m, lang)), does_not_prove: DOES_NOT_PROVE.map((m) => render(m, lang)), exit_code: EXIT_CODES.offline,
      ...(dossierResult ? { dossier: dossierResult } : {}) };
  }
  const { state, inForce, status } = await verifyOnline(cert, recordId, dossier, network, options, ok, failAt);
  const effect = effectMessage(status, options.at ?? null);
  return { verified: true, authentic: true, in_force: inForce, state, at: options.at ?? null, kind: cert.kind,
    record_id: cert.record_id, online: true, network: network.name, steps: done, status,
    proves: proves.map((m) => render(m, lang)), does_not_prove: [],
    exit_code: inForce ? EXIT_CODES.in_force : EXIT_CODES.not_in_force,
    ...(dossierResult ? { dossier: dossierResult } : {}), ...(effect ? { effect: render(effect, lang) } : {}) };
}

/** A judgment's effect and enforceability in the State of origin (online), as one message. */
function effectMessage(s, at) {
  if (!("enforceable" in s)) return null;
  const when = at === null ? M("when.now") : M("when.at", { at });
  return M("effect.summary", { since: s.effective_since,
    appeal: M(s.appeal_pending ? "effect.appeal_pending" : "effect.no_appeal"),
    stay: M(s.stayed ? "effect.stayed" : "effect.not_stayed"),
    enforceable: M(s.enforceable ? "effect.enforceable" : "effect.not_enforceable", { when }) });
}

// -- online (standard eth_* JSON-RPC only) ------------------------------------------------------
function rpcClient(rpc) {
  if (typeof rpc === "function") return rpc;
  let id = 0;
  return async (method, params) => {
    const res = await fetch(rpc, { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }) });
    const body = await res.json();
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result;
  };
}
const topic = (sig) => keccak(utf8ToBytes(sig));
const CREATION = {
  judgment: "JudgmentRecorded(bytes32,uint32,bytes32,bytes32,bytes32,uint128,bytes3,uint40,uint40)",
  enforcement_case: "CaseOpened(bytes32,uint32,bytes32,bytes32,uint128,uint40)",
  defaulter_status: "DefaulterListed(bytes32,bytes32,uint32,bytes32,uint8,uint16,uint40,uint40)",
  notarized_digest: "RootAnchored(bytes32,uint32,uint32,bytes32)",
};
const ACTION_RECORDED = topic("ActionRecorded(bytes32,uint32,uint8,uint128,uint64,bytes32,uint8,uint8,uint128,bytes32)");
const STATUS_CHANGED = topic("JudgmentStatusChanged(bytes32,uint32,uint8,uint8,bytes32,uint32)");
const LISTING_EXTENDED = topic("ListingExtended(bytes32,bytes32,uint32,uint40)");
const DEFAULTER_REMOVED = topic("DefaulterRemoved(bytes32,bytes32,uint32,uint8,uint40)");
const DOSSIER_FILED = topic("DossierFiled(bytes32,uint32,bool,bytes32,bytes32,bytes32,uint32)");
const selector = (sig) => keccak(utf8ToBytes(sig)).slice(0, 4);
const words = (data) => { const b = unhex(data); return Array.from({ length: b.length / 32 }, (_, i) => b.slice(32 * i, 32 * i + 32)); };
const num = (w) => Number(toBig(w));
const qty = (n) => "0x" + BigInt(n).toString(16);
const LOG_CHUNK = 5000;

/** Step dossier_chain: the dossier's block, its signer for the filing court then, exactly its DossierFiled event
 * in its receipt, and no later version filed by its as_of block (docs/verification.md 2.7). */
async function checkDossierChain(cert, dossier, { call, logs, registryAddress }, ok, failAt) {
  const d = cert.dossier;
  const t = d.transaction;
  const block = await call("eth_getBlockByHash", [t.block_hash, false]);
  if (!block) failAt("dossier_chain", "block.missing", { block: t.block_hash });
  if (Number(block.number) !== t.block_number || Number(block.timestamp) !== t.block_time) {
    failAt("dossier_chain", "signer.block_mismatch", { block: t.block_hash, number: Number(block.number),
      time: Number(block.timestamp), claimed_number: t.block_number, claimed_time: t.block_time });
  }
  const valid = words(await call("eth_call", [{ to: registryAddress, data: hex(concatBytes(
    selector("isSignerValidAt(address,uint32,uint64)"), concatBytes(new Uint8Array(12), unhex(d.signature.signer)),
    word(d.court), word(t.block_time))) }, "latest"]));
  if (num(valid[0]) !== 1) failAt("dossier_chain", "signer.invalid", { signer: d.signature.signer, court: d.court, time: t.block_time });
  const receipt = await call("eth_getTransactionReceipt", [t.hash]);
  if (!receipt) failAt("dossier_chain", "record.missing", { tx: t.hash });
  if (Number(receipt.status) !== 1 || Number(receipt.blockNumber) !== t.block_number || receipt.blockHash !== t.block_hash) {
    failAt("dossier_chain", "record.failed", { tx: t.hash, number: t.block_number, block: t.block_hash });
  }
  const topics = [hex(DOSSIER_FILED), cert.record_id, hex(word(d.court))];
  const filed = receipt.logs.some((log) => checksumAddress(log.address) === cert.network.contract &&
    log.topics.length === 3 && log.topics.every((x, i) => x === topics[i]) && log.data === dossier.eventData);
  if (!filed) failAt("dossier_chain", "dossier.no_event", { tx: t.hash, sequence: d.sequence });
  const asOf = await call("eth_getBlockByHash", [d.as_of.block_hash, false]);
  if (!asOf) failAt("dossier_chain", "block.missing", { block: d.as_of.block_hash });
  if (Number(asOf.number) !== d.as_of.block_number) {
    failAt("dossier_chain", "status.as_of_mismatch", { block: d.as_of.block_hash, number: d.as_of.block_number });
  }
  for (const log of await logs([hex(DOSSIER_FILED), cert.record_id], t.block_number, d.as_of.block_number)) {
    const later = num(words(log.data)[4]);
    if (later > d.sequence) {
      failAt("dossier_chain", "dossier.superseded", { sequence: d.sequence, later, block: Number(log.blockNumber), as_of: d.as_of.block_number });
    }
  }
  ok("dossier_chain", "dossier.chain_ok", { sequence: d.sequence, court: d.court, block: t.block_number, as_of: d.as_of.block_number });
}

export function listingState(listedAt, until, removedAt, at) {
  if (removedAt != null && removedAt <= at) return "removed";
  if (at < listedAt) return "pending";
  return at < until ? "active" : "expired";
}

async function verifyOnline(cert, recordId, dossier, network, options, ok, failAt) {
  const call = rpcClient(options.rpc);
  const ethCall = async (to, sig, ...args) => words(await call("eth_call",
    [{ to, data: hex(concatBytes(selector(sig), ...args)) }, "latest"]));
  const logs = async (topics, from, to) => {
    const out = [];
    for (let start = from; start <= to; start += LOG_CHUNK) {
      const batch = await call("eth_getLogs", [{ address: cert.network.contract, fromBlock: qty(start),
        toBlock: qty(Math.min(to, start + LOG_CHUNK - 1)), topics }]);
      out.push(...batch.filter((l) => !l.removed));
    }
    return out;
  };
  const times = new Map();
  const blockTime = async (hash) => {
    if (!times.has(hash)) times.set(hash, Number((await call("eth_getBlockByHash", [hash, false])).timestamp));
    return times.get(hash);
  };

  const chainId = Number(await call("eth_chainId", []));
  const genesis = (await call("eth_getBlockByNumber", ["0x0", false])).hash;
  if (chainId !== cert.network.chain_id) failAt("chain", "chain.other_chain", { node: chainId, chain_id: cert.network.chain_id });
  if (network.genesis_hash && genesis !== network.genesis_hash.toLowerCase()) failAt("chain", "chain.other_genesis", { genesis });
  ok("chain", "chain.ok", { chain_id: chainId, genesis: genesis.slice(0, 18) });

  const t = cert.transaction;
  const block = await call("eth_getBlockByHash", [t.block_hash, false]);
  if (!block) failAt("signer", "block.missing", { block: t.block_hash });
  const time = Number(block.timestamp);
  if (Number(block.number) !== t.block_number || time !== t.block_time) {
    failAt("signer", "signer.block_mismatch", { block: t.block_hash, number: Number(block.number), time, claimed_number: t.block_number, claimed_time: t.block_time });
  }
  const registryAddress = checksumAddress(hex((await ethCall(cert.network.contract, "courtRegistry()"))[0].slice(12)));
  const trustedRegistry = network.contracts.CourtRegistry;
  if (trustedRegistry && checksumAddress(trustedRegistry.address) !== registryAddress) failAt("signer", "signer.foreign_registry");
  const court = cert.record.court;
  const valid = await ethCall(registryAddress, "isSignerValidAt(address,uint32,uint64)",
    concatBytes(new Uint8Array(12), unhex(cert.signature.signer)), word(court), word(time));
  if (num(valid[0]) !== 1) failAt("signer", "signer.invalid", { signer: cert.signature.signer, court, time });
  ok("signer", "signer.ok", { court, time, block: t.block_number });

  const receipt = await call("eth_getTransactionReceipt", [t.hash]);
  if (!receipt) failAt("record", "record.missing", { tx: t.hash });
  if (Number(receipt.status) !== 1 || Number(receipt.blockNumber) !== t.block_number || receipt.blockHash !== t.block_hash) {
    failAt("record", "record.failed", { tx: t.hash, number: t.block_number, block: t.block_hash });
  }
  const t0 = hex(topic(CREATION[cert.kind]));
  const key = cert.kind === "notarized_digest" ? cert.record.root : cert.record_id;
  const created = receipt.logs.find((log) => {
    if (checksumAddress(log.address) !== cert.network.contract || log.topics.length < 3) return false;
    if (log.topics[0] !== t0 || log.topics[1] !== key) return false;
    if (cert.kind !== "notarized_digest") return true;
    const d = words(log.data);
    return num(unhex(log.topics[2])) === court && num(d[0]) === cert.record.size && hex(d[1]) === cert.record.metadata_digest;
  });
  const eventName = CREATION[cert.kind].split("(")[0];
  if (!created) failAt("record", "record.no_event", { tx: t.hash, event: eventName, id: key, contract: cert.network.contract_name });
  ok("record", "record.ok", { event: eventName, number: t.block_number, tx: t.hash });
  if (dossier) await checkDossierChain(cert, dossier, { call, logs, registryAddress }, ok, failAt);

  const at = options.at ?? null;
  const asOf = async () => {
    const b = await call("eth_getBlockByHash", [cert.as_of.block_hash, false]);
    if (!b) failAt("status", "block.missing", { block: cert.as_of.block_hash });
    if (Number(b.number) !== cert.as_of.block_number || cert.as_of.block_number < t.block_number) {
      failAt("status", "status.as_of_mismatch", { block: cert.as_of.block_hash, number: cert.as_of.block_number });
    }
    return Number(b.timestamp);
  };
  const head = async () => Number(await call("eth_blockNumber", []));

  if (cert.kind === "judgment") {
    const rec = await ethCall(cert.network.contract, "judgmentRecord(bytes32)", recordId);
    let state = JUDGMENT_STATUS[num(rec[1])];
    const changedAt = num(rec[3]);
    const changes = num(rec[4]);
    const status = { status_now: state, status_changed_at: changedAt, changes };
    if (state === "superseded") status.superseded_by = hex((await ethCall(cert.network.contract, "supersededBy(bytes32)", recordId))[0]);
    if (at !== null && at < t.block_time) state = "not_yet_recorded";
    else if (at !== null && changes && at < changedAt) {
      state = "effective";
      for (const log of await logs([hex(STATUS_CHANGED), cert.record_id], t.block_number, await head())) {
        if (await blockTime(log.blockHash) > at) break;
        state = JUDGMENT_STATUS[num(words(log.data)[1])];
      }
    }
    status.status = state;
    const when = at ?? Number((await call("eth_getBlockByNumber", ["latest", false])).timestamp);
    Object.assign(status, { effective_since: cert.record.effective_date, appeal_pending: state === "under_appeal",
      stayed: state === "stayed",
      enforceable: state === "effective" && isoDate(cert.record.effective_date, "record/effective_date") <= when });
    let detail = at === null ? M("status.judgment", { state }) : M("status.judgment_at", { state, at });
    if (state === "superseded" && status.superseded_by) detail = M("status.superseded_by", { status: detail, successor: status.superseded_by });
    if (dossier) {
      const [versions, latest] = await ethCall(cert.network.contract, "dossierOf(bytes32)", recordId);
      const later = num(versions) - cert.dossier.sequence - 1;
      status.dossier = { versions: num(versions), later_versions: later, latest: hex(latest) };
      if (later) detail = M("status.dossier_later", { status: detail, later, versions: num(versions) });
    }
    ok("status", detail.key, detail.params);
    return { state, inForce: state === "effective", status };
  }
  if (cert.kind === "enforcement_case") {
    await asOf();
    const found = await logs([hex(ACTION_RECORDED), cert.record_id], t.block_number, cert.as_of.block_number);
    const certified = cert.case.actions.length;
    if (found.length !== certified) failAt("status", "status.case_actions", { count: found.length, block: cert.as_of.block_number, certified });
    if (found.length) {
      const last = found[found.length - 1];
      const d = words(last.data);
      if (num(unhex(last.topics[2])) !== certified - 1 || hex(d[6]) !== cert.case.history_hash) {
        failAt("status", "status.case_history", { i: certified - 1 });
      }
      if (CASE_STATE[num(d[4])] !== cert.case.state || String(toBig(d[5])) !== cert.case.amount_recovered) {
        failAt("status", "status.case_state");
      }
    }
    const rec = await ethCall(cert.network.contract, "caseRecord(bytes32)", recordId);
    const now = CASE_STATE[num(rec[1])];
    const actionsNow = num(rec[2]);
    const updatedAt = num(rec[4]);
    let state = now;
    if (at !== null && at < t.block_time) state = "not_yet_filed";
    else if (at !== null && at < updatedAt) {
      state = "open";
      for (const log of await logs([hex(ACTION_RECORDED), cert.record_id], t.block_number, await head())) {
        if (await blockTime(log.blockHash) > at) break;
        state = CASE_STATE[num(words(log.data)[4])];
      }
    }
    const later = actionsNow - certified;
    {
      const where = { certified, block: cert.as_of.block_number, state };
      const detail = at === null ? M("status.case", where) : M("status.case_at", { ...where, at });
      if (later) ok("status", "status.later_actions", { status: detail, later });
      else ok("status", detail.key, detail.params);
    };
    return { state, inForce: state === "open", status: { state, actions: actionsNow, actions_after_certificate: later, amount_recovered: String(toBig(rec[8])) } };
  }
  if (cert.kind === "defaulter_status") {
    const asOfTime = await asOf();
    let until = cert.record.until;
    let removedAt = null;
    for (const log of await logs([[hex(LISTING_EXTENDED), hex(DEFAULTER_REMOVED)], cert.record_id], t.block_number, cert.as_of.block_number)) {
      const d = words(log.data);
      if (log.topics[0] === hex(LISTING_EXTENDED)) until = num(d[0]); else removedAt = num(d[1]);
    }
    const c = cert.defaulter;
    if (c.at !== asOfTime) failAt("status", "status.listing_at", { at: c.at, block: cert.as_of.block_number, time: asOfTime });
    if (c.until !== until || (c.removed_at ?? null) !== removedAt) {
      failAt("status", "status.listing_chain", { block: cert.as_of.block_number, until, removed_at: removedAt, claimed_until: c.until, claimed_removed_at: c.removed_at ?? null });
    }
    const rec = await ethCall(cert.network.contract, "listingRecord(bytes32)", recordId);
    const untilNow = num(rec[4]);
    const removedNow = num(rec[5]) || null;
    const when = at ?? Number((await call("eth_getBlockByNumber", ["latest", false])).timestamp);
    const state = listingState(cert.record.listed_at, untilNow, removedNow, when);
    ok("status", at === null ? "status.listing" : "status.listing_at_time",
      { block: cert.as_of.block_number, restricted: c.restricted, at: c.at, state, when: at });
    return { state, inForce: state === "active", status: { state, restricted: listingRestricted(cert.record, when, untilNow, removedNow),
      at: when, until: untilNow, removed_at: removedNow, removal_reason: REMOVAL_REASON[num(rec[6])] } };
  }
  ok("status", "status.anchor", { block: t.block_number });
  return { state: "anchored", inForce: true, status: { state: "anchored", anchored_at: time } };
}
