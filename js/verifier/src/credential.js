// Certificates as W3C Verifiable Credentials (docs/verification.md section 9), the mirror of ledger/vc.py:
// a credential is accepted only when it is exactly the credential its embedded certificate determines,
// so no claim of a credential can say other than what the court signed.
const VC_CONTEXT = "https://www.w3.org/ns/credentials/v2";
const EIP712_CONTEXT = "https://w3id.org/security/suites/eip712sig-2021/v1";
const EVIDENCE_TYPE = "LedgerCertificate";
export const CREDENTIAL_TYPES = { judgment: "CourtJudgmentCredential", enforcement_case: "EnforcementCaseCredential",
  defaulter_status: "DefaulterListingCredential", notarized_digest: "NotarizedDigestCredential" };
export const STATUS_PURPOSES = { judgment: ["revocation", "suspension"], defaulter_status: ["revocation"],
  enforcement_case: [], notarized_digest: [] };
export const STATUS_LIST_SIZE = 131072;
const MAX_SAFE = 2n ** 53n;
const GROUNDS = ["none", "able_but_refuses", "obstructs_by_forgery_or_violence",
  "evades_by_false_litigation_or_hiding_assets", "violates_property_report", "violates_consumption_restriction",
  "refuses_settlement"];
const RESTRICTIONS = { flights: 1, rail: 2, high_consumption: 4, property_and_cars: 8, loans_and_cards: 16,
  company_office: 32, public_office: 64, public_bidding: 128 };
// kind -> [EIP-712 type name, [field name, solidity type, value from the JSON record]]
const day = (s) => Date.parse(`${s}T00:00:00Z`) / 1000;
const big = (s) => (BigInt(s) >= MAX_SAFE ? String(BigInt(s)) : Number(s));
const FIELDS = {
  judgment: ["Judgment", [["court", "uint32", (r) => r.court], ["caseNumberDigest", "bytes32", (r) => r.case_number_digest],
    ["documentDigest", "bytes32", (r) => r.document_digest], ["partiesCommitment", "bytes32", (r) => r.parties_commitment],
    ["amount", "uint128", (r) => big(r.amount)],
    ["currency", "bytes3", (r) => "0x" + [...r.currency].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("")],
    ["judgmentDate", "uint40", (r) => day(r.judgment_date)], ["effectiveDate", "uint40", (r) => day(r.effective_date)]]],
  enforcement_case: ["Filing", [["court", "uint32", (r) => r.court], ["judgmentId", "bytes32", (r) => r.judgment_id],
    ["caseNumberDigest", "bytes32", (r) => r.case_number_digest], ["amountDue", "uint128", (r) => big(r.amount_due)],
    ["filedAt", "uint40", (r) => day(r.filed_at)]]],
  defaulter_status: ["Listing", [["court", "uint32", (r) => r.court], ["subject", "bytes32", (r) => r.subject],
    ["caseId", "bytes32", (r) => r.case_id], ["ground", "uint8", (r) => GROUNDS.indexOf(r.ground)],
    ["restrictions", "uint16", (r) => r.restrictions.reduce((acc, n) => acc | RESTRICTIONS[n], 0)],
    ["listedAt", "uint40", (r) => r.listed_at], ["until", "uint40", (r) => r.until]]],
  notarized_digest: ["Anchor", [["court", "uint32", (r) => r.court], ["root", "bytes32", (r) => r.root],
    ["size", "uint32", (r) => r.size], ["metadataDigest", "bytes32", (r) => r.metadata_digest]]],
};

export const iso = (unix) => new Date(unix * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
export const issuerDid = (chainId, signer) => `did:ethr:0x${chainId.toString(16)}:${signer}`;

function subject(cert) {
  const out = { id: `urn:judicial-trust-ledger:${cert.network.chain_id}:${cert.record_id}`,
    type: CREDENTIAL_TYPES[cert.kind].replace(/Credential$/, ""), record_id: cert.record_id, ...cert.record };
  if (cert.case_number) out.case_number = cert.case_number.text;
  if (cert.case && cert.as_of) {
    out.as_of = { block_number: cert.as_of.block_number, state: cert.case.state,
      amount_recovered: cert.case.amount_recovered, actions: cert.case.actions.length };
  }
  if (cert.defaulter && cert.as_of) {
    const d = cert.defaulter;
    out.as_of = { block_number: cert.as_of.block_number, at: iso(d.at), restricted: d.restricted, until: iso(d.until) };
    if (d.removed_at != null) out.as_of.removed_at = iso(d.removed_at);
  }
  if (cert.notary) out.digest = cert.notary.digest;
  if (cert.dossier) out.dossier = dossierClaims(cert.dossier);
  return out;
}

/** The dossier as claims (its signature and transaction stay in the certificate, in evidence). */
function dossierClaims(d) {
  const claims = { version: d.sequence, filed_by: d.court, filed_at: iso(d.transaction.block_time),
    by_default: d.by_default, complete_copy: d.complete_copy,
    translations: d.translations.map((t) => ({ language: t.language, digest: t.digest })),
    latest_as_of_block: d.as_of.block_number };
  if (d.proof_of_service !== undefined) claims.proof_of_service = d.proof_of_service;
  return claims;
}

function proof(cert, did, created) {
  const [typeName, fields] = FIELDS[cert.kind];
  return { type: "EthereumEip712Signature2021", created, proofPurpose: "assertionMethod",
    verificationMethod: `${did}#controller`, proofValue: cert.signature.value,
    eip712: {
      domain: { name: cert.network.contract_name, version: "1", chainId: cert.network.chain_id,
        verifyingContract: cert.network.contract },
      types: { EIP712Domain: [{ name: "name", type: "string" }, { name: "version", type: "string" },
        { name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" }],
      [typeName]: fields.map(([name, type]) => ({ name, type })) },
      primaryType: typeName,
      message: Object.fromEntries(fields.map(([name, , value]) => [name, value(cert.record)])),
    } };
}

/** The Verifiable Credential of a (parsed, checked) format-2 certificate with its status-list entries. */
export function credential(cert, status) {
  const did = issuerDid(cert.network.chain_id, cert.signature.signer);
  const validFrom = iso(cert.transaction.block_time);
  const vc = { "@context": [VC_CONTEXT, EIP712_CONTEXT], type: ["VerifiableCredential", CREDENTIAL_TYPES[cert.kind]],
    issuer: { id: did, court: cert.record.court }, validFrom };
  if (cert.defaulter) vc.validUntil = iso(cert.defaulter.until);
  vc.credentialSubject = subject(cert);
  if (status && status.length) vc.credentialStatus = status;
  vc.evidence = [{ type: [EVIDENCE_TYPE], certificate: cert }];
  vc.proof = proof(cert, did, validFrom);
  return vc;
}

export const isCredential = (data) => data !== null && typeof data === "object" && !Array.isArray(data) && "@context" in data;

/** The certificate a credential carries as evidence, or null when it carries none in the one accepted shape. */
export function embeddedCertificate(vc) {
  const e = vc.evidence;
  const ok = Array.isArray(e) && e.length === 1 && e[0] && typeof e[0] === "object" &&
    JSON.stringify(e[0].type) === JSON.stringify([EVIDENCE_TYPE]) && e[0].certificate &&
    typeof e[0].certificate === "object" && !Array.isArray(e[0].certificate);
  return ok ? e[0].certificate : null;
}

/** Whether credentialStatus is not one well-formed BitstringStatusListEntry per purpose of the kind. */
export function statusProblem(kind, status) {
  if (status === undefined) return false;
  const purposes = STATUS_PURPOSES[kind];
  if (!Array.isArray(status) || JSON.stringify(status.map((e) => (e && typeof e === "object" ? e.statusPurpose : null))) !==
      JSON.stringify(purposes)) return true;
  const keys = ["id", "statusListCredential", "statusListIndex", "statusPurpose", "type"];
  return status.some((e) => JSON.stringify(Object.keys(e).sort()) !== JSON.stringify(keys) ||
    e.type !== "BitstringStatusListEntry" || typeof e.statusListIndex !== "string" || !/^\d+$/.test(e.statusListIndex) ||
    Number(e.statusListIndex) >= STATUS_LIST_SIZE || typeof e.statusListCredential !== "string" ||
    e.id !== `${e.statusListCredential}#${e.statusListIndex}`);
}

/** The first path where ``given`` differs from ``expected`` (keys in sorted order), or null. */
export function firstDifference(given, expected, path = "") {
  const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObj(given) && isObj(expected)) {
    for (const key of [...new Set([...Object.keys(given), ...Object.keys(expected)])].sort()) {
      if (!(key in expected)) return `${path}/${key} (not certified)`;
      if (!(key in given)) return `${path}/${key} (missing)`;
      const found = firstDifference(given[key], expected[key], `${path}/${key}`);
      if (found) return found;
    }
    return null;
  }
  if (Array.isArray(given) && Array.isArray(expected) && given.length === expected.length) {
    for (let i = 0; i < given.length; i++) {
      const found = firstDifference(given[i], expected[i], `${path}/${i}`);
      if (found) return found;
    }
    return null;
  }
  return given === expected ? null : path || "(credential)";
}
