// A second implementation of the certificate checks of docs/verification.md (format, signature, proof,
// document), with ethers v6 only: no code of the ledger is used.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { ethers } from "ethers";

const golden = new URL("../golden/certificates/", import.meta.url);
const load = (kind) => JSON.parse(readFileSync(new URL(`${kind}.json`, golden), "utf8"));
const document = readFileSync(new URL("document.bin", golden));
const midnight = (d) => Date.parse(`${d}T00:00:00Z`) / 1000;
const GROUND = { able_but_refuses: 1 };
const KIND = { asset_inquiry: 2, payment_received: 11, conclusion: 18 };
const RESTRICTION = { flights: 1, rail: 2, high_consumption: 4, property_and_cars: 8, loans_and_cards: 16,
  company_office: 32, public_office: 64, public_bidding: 128 };

const TYPES = {
  Judgment: [["court", "uint32"], ["caseNumberDigest", "bytes32"], ["documentDigest", "bytes32"],
    ["partiesCommitment", "bytes32"], ["amount", "uint128"], ["currency", "bytes3"], ["judgmentDate", "uint40"],
    ["effectiveDate", "uint40"]],
  Filing: [["court", "uint32"], ["judgmentId", "bytes32"], ["caseNumberDigest", "bytes32"], ["amountDue", "uint128"],
    ["filedAt", "uint40"]],
  Action: [["caseId", "bytes32"], ["sequence", "uint32"], ["kind", "uint8"], ["amount", "uint128"], ["detail", "uint64"],
    ["documentDigest", "bytes32"], ["flags", "uint8"]],
  Listing: [["court", "uint32"], ["subject", "bytes32"], ["caseId", "bytes32"], ["ground", "uint8"],
    ["restrictions", "uint16"], ["listedAt", "uint40"], ["until", "uint40"]],
  Anchor: [["court", "uint32"], ["root", "bytes32"], ["size", "uint32"], ["metadataDigest", "bytes32"]],
};
const types = (name) => ({ [name]: TYPES[name].map(([n, t]) => ({ name: n, type: t })) });

const VALUES = {
  judgment: ["Judgment", (r) => ({ court: r.court, caseNumberDigest: r.case_number_digest, documentDigest: r.document_digest,
    partiesCommitment: r.parties_commitment, amount: r.amount, currency: ethers.hexlify(ethers.toUtf8Bytes(r.currency)),
    judgmentDate: midnight(r.judgment_date), effectiveDate: midnight(r.effective_date) })],
  enforcement_case: ["Filing", (r) => ({ court: r.court, judgmentId: r.judgment_id, caseNumberDigest: r.case_number_digest,
    amountDue: r.amount_due, filedAt: midnight(r.filed_at) })],
  defaulter_status: ["Listing", (r) => ({ court: r.court, subject: r.subject, caseId: r.case_id, ground: GROUND[r.ground],
    restrictions: r.restrictions.reduce((acc, name) => acc | RESTRICTION[name], 0), listedAt: r.listed_at, until: r.until })],
  notarized_digest: ["Anchor", (r) => ({ court: r.court, root: r.root, size: r.size, metadataDigest: r.metadata_digest })],
};

for (const kind of Object.keys(VALUES)) {
  test(`${kind}: record id, signature and attachments`, () => {
    const cert = load(kind);
    const [typeName, toValue] = VALUES[kind];
    const value = toValue(cert.record);
    assert.equal(ethers.TypedDataEncoder.hashStruct(typeName, types(typeName), value), cert.record_id);
    const domain = { name: cert.network.contract_name, version: "1", chainId: cert.network.chain_id,
      verifyingContract: cert.network.contract };
    assert.equal(ethers.verifyTypedData(domain, types(typeName), value, cert.signature.value), cert.signature.signer);
    if (kind === "judgment") {
      assert.equal("0x" + createHash("sha256").update(document).digest("hex"), cert.record.document_digest);
    }
    if (kind === "enforcement_case") {
      let history = cert.record_id;
      for (const a of cert.case.actions) {
        const action = { caseId: a.case_id, sequence: a.sequence, kind: KIND[a.kind], amount: a.amount, detail: a.detail,
          documentDigest: a.document_digest, flags: a.flags };
        const h = ethers.TypedDataEncoder.hashStruct("Action", types("Action"), action);
        history = ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes32"], [history, h]));
      }
      assert.equal(history, cert.case.history_hash);
    }
    if (kind === "notarized_digest") {
      let node = ethers.keccak256(ethers.keccak256(cert.notary.digest));
      for (const sibling of cert.notary.proof) {
        const [a, b] = BigInt(node) < BigInt(sibling) ? [node, sibling] : [sibling, node];
        node = ethers.keccak256(ethers.concat([a, b]));
      }
      assert.equal(node, cert.record.root);
      assert.equal("0x" + createHash("sha256").update(document).digest("hex"), cert.notary.digest);
    }
  });
}
