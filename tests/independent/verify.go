package independentverifier

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Offline steps, in the order of section 4.
var OfflineSteps = []string{"format", "network", "signature", "case_number", "dossier", "proof", "document"}

// StepError is a refusal at one step of section 4.
type StepError struct {
	Step string
	Msg  string
}

func (e *StepError) Error() string { return e.Step + ": " + e.Msg }

func refuse(step, format string, args ...any) *StepError {
	return &StepError{step, fmt.Sprintf(format, args...)}
}

// Result of an offline verification: the steps passed. authentic and
// in_force stay unknown offline (section 4.3).
type Result struct {
	Passed []string
}

type Verifier struct {
	schema *jsonschema.Schema
}

func NewVerifier(certificateSchemaPath string) (*Verifier, error) {
	sch, err := compileSchema(certificateSchemaPath)
	if err != nil {
		return nil, err
	}
	return &Verifier{sch}, nil
}

var contractNameOfKind = map[string]string{"judgment": "JudgmentRegistry",
	"enforcement_case": "EnforcementRegistry", "defaulter_status": "DefaulterRegistry",
	"notarized_digest": "NotaryAnchor"}

// Verify runs the offline steps. document is the file, or nil when none is given.
func (v *Verifier) Verify(certificate []byte, trusted *Descriptor, document []byte) (*Result, *StepError) {
	res := &Result{}
	cert, err := v.checkFormat(certificate)
	if err != nil {
		return res, err
	}
	res.Passed = append(res.Passed, "format")
	for _, step := range []func(map[string]any) *StepError{
		func(c map[string]any) *StepError { return checkNetwork(c, trusted) },
		checkSignature,
		checkCaseNumber,
		checkDossier,
		checkProof,
		func(c map[string]any) *StepError { return checkDocument(c, document) },
	} {
		if err := step(cert); err != nil {
			return res, err
		}
	}
	res.Passed = append(res.Passed, "network", "signature")
	kind := cert["kind"].(string)
	if _, ok := cert["case_number"]; ok {
		res.Passed = append(res.Passed, "case_number")
	}
	if _, ok := cert["dossier"]; ok {
		res.Passed = append(res.Passed, "dossier")
	}
	if kind == "notarized_digest" {
		res.Passed = append(res.Passed, "proof")
	}
	if document != nil {
		res.Passed = append(res.Passed, "document")
	}
	return res, nil
}

func (v *Verifier) checkFormat(certificate []byte) (map[string]any, *StepError) {
	parsed, err := ParseStrict(certificate)
	if err != nil {
		return nil, refuse("format", "%v", err)
	}
	cert, ok := parsed.(map[string]any)
	if !ok {
		return nil, refuse("format", "a certificate is a JSON object")
	}
	if cert["version"] == json.Number("1") {
		return nil, refuse("format", "certificate format 1 is no longer accepted: ask the court for a v2 certificate")
	}
	if err := v.schema.Validate(cert); err != nil {
		return nil, refuse("format", "does not follow certificate-v2.schema.json: %v", err)
	}
	network := cert["network"].(map[string]any)
	if _, err := parseChecksummed(network["contract"].(string)); err != nil {
		return nil, refuse("format", "network.contract: %v", err)
	}
	if _, err := parseChecksummed(cert["signature"].(map[string]any)["signer"].(string)); err != nil {
		return nil, refuse("format", "signature.signer: %v", err)
	}
	kind := cert["kind"].(string)
	if network["contract_name"] != contractNameOfKind[kind] {
		return nil, refuse("format", "a %s lives in %s", kind, contractNameOfKind[kind])
	}
	record := cert["record"].(map[string]any)
	id, err := hashStruct(recordTypes[kind], record)
	if err != nil {
		return nil, refuse("format", "record: %v", err)
	}
	if err := recordRules(kind, record); err != nil {
		return nil, err
	}
	if "0x"+fmt.Sprintf("%x", id) != cert["record_id"] {
		return nil, refuse("format", "record_id is not hashStruct(record)")
	}
	if asOf, ok := cert["as_of"].(map[string]any); ok {
		tx := cert["transaction"].(map[string]any)
		if num(asOf["block_number"]).Cmp(num(tx["block_number"])) < 0 {
			return nil, refuse("format", "as_of is a block before the record's transaction")
		}
	}
	if err := checkDossierFormat(cert); err != nil {
		return nil, err
	}
	switch kind {
	case "enforcement_case":
		if err := checkCase(id, cert["case"].(map[string]any)); err != nil {
			return nil, err
		}
	case "defaulter_status":
		blockTime := num(cert["transaction"].(map[string]any)["block_time"])
		if err := checkListing(record, cert["defaulter"].(map[string]any), blockTime); err != nil {
			return nil, err
		}
	}
	return cert, nil
}

func num(v any) *big.Int {
	n, _ := new(big.Int).SetString(fmt.Sprint(v), 10)
	return n
}

// recordRules: section 3, "Besides the schema".
func recordRules(kind string, r map[string]any) *StepError {
	switch kind {
	case "judgment":
		j, _ := dateUnix(r["judgment_date"].(string))
		e, _ := dateUnix(r["effective_date"].(string))
		if e < j {
			return refuse("format", "effective_date is before judgment_date")
		}
	case "enforcement_case":
		if num(r["amount_due"]).Sign() <= 0 {
			return refuse("format", "amount_due must be positive")
		}
	case "defaulter_status":
		d := new(big.Int).Sub(num(r["until"]), num(r["listed_at"]))
		if d.Sign() <= 0 || d.Cmp(big.NewInt(730*86400)) > 0 {
			return refuse("format", "the listing period must be more than 0 and at most 730 days")
		}
		if r["ground"] == "none" {
			return refuse("format", "ground none is refused")
		}
	}
	return nil
}

// checkCase: section 2.3, offline.
func checkCase(recordID []byte, c map[string]any) *StepError {
	h := recordID
	state := "open"
	recovered := new(big.Int)
	maxU128 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	for i, a := range c["actions"].([]any) {
		action := a.(map[string]any)
		if action["case_id"] != "0x"+fmt.Sprintf("%x", recordID) {
			return refuse("format", "action %d belongs to another case", i)
		}
		if num(action["sequence"]).Cmp(big.NewInt(int64(i))) != 0 {
			return refuse("format", "action %d has sequence %v", i, action["sequence"])
		}
		aid, err := hashStruct(actionType, action)
		if err != nil {
			return refuse("format", "action %d: %v", i, err)
		}
		h = keccak(h, aid)
		switch action["kind"] {
		case "deduction", "payment_received":
			recovered.Add(recovered, num(action["amount"]))
			if recovered.Cmp(maxU128) > 0 {
				return refuse("format", "amount recovered exceeds uint128")
			}
		case "termination_no_assets":
			state = "terminated"
		case "resumption":
			state = "open"
		case "conclusion":
			state = "concluded"
		}
	}
	if "0x"+fmt.Sprintf("%x", h) != c["history_hash"] {
		return refuse("format", "the actions do not hash to history_hash")
	}
	if c["state"] != state {
		return refuse("format", "the actions replay to state %s, not %v", state, c["state"])
	}
	if recovered.String() != c["amount_recovered"] {
		return refuse("format", "the actions replay to amount_recovered %s, not %v", recovered, c["amount_recovered"])
	}
	return nil
}

// checkListing: section 2.4, offline.
// An extension moves until by 365 to 1,095 days (DefaulterRegistry's
// MIN_EXTENSION and MAX_EXTENSION); at, removed_at and as_of lie between the
// listing's block and the as_of block.
func checkListing(record, d map[string]any, blockTime *big.Int) *StepError {
	until, signedUntil := num(d["until"]), num(record["until"])
	if until.Cmp(signedUntil) != 0 {
		low := new(big.Int).Add(signedUntil, big.NewInt(365*86400))
		high := new(big.Int).Add(signedUntil, big.NewInt(1095*86400))
		if until.Cmp(low) < 0 || until.Cmp(high) > 0 {
			return refuse("format", "defaulter.until is neither the signed until nor one extension of it")
		}
	}
	at, listedAt := num(d["at"]), num(record["listed_at"])
	if at.Cmp(blockTime) < 0 {
		return refuse("format", "defaulter.at is before the listing's block time")
	}
	end := until
	if removed, ok := d["removed_at"]; ok {
		r := num(removed)
		if r.Cmp(blockTime) < 0 || r.Cmp(at) > 0 {
			return refuse("format", "defaulter.removed_at is not between the listing's block time and at")
		}
		if r.Cmp(end) < 0 {
			end = r
		}
	}
	restricted := listedAt.Cmp(at) <= 0 && at.Cmp(end) < 0
	if d["restricted"] != restricted {
		return refuse("format", "defaulter.restricted does not follow from listed_at, at, until and removed_at")
	}
	return nil
}

func checkNetwork(cert map[string]any, trusted *Descriptor) *StepError {
	network := cert["network"].(map[string]any)
	if trusted == nil {
		return refuse("network", "no trusted network descriptor")
	}
	if fmt.Sprint(network["chain_id"]) != trusted.ChainID {
		return refuse("network", "chain %v is not the trusted network's", network["chain_id"])
	}
	name := network["contract_name"].(string)
	if trusted.Contracts[name] != network["contract"] {
		return refuse("network", "%v is not the trusted network's %s", network["contract"], name)
	}
	return nil
}

func checkSignature(cert map[string]any) *StepError {
	network := cert["network"].(map[string]any)
	contract, _ := parseChecksummed(network["contract"].(string))
	recordID, _ := hexBytes(cert["record_id"].(string), 32)
	sep := domainSeparator(network["contract_name"].(string), network["chain_id"].(json.Number), contract)
	digest := keccak([]byte{0x19, 0x01}, sep, recordID)
	s := cert["signature"].(map[string]any)
	sig, _ := hexBytes(s["value"].(string), 65)
	signer, err := recoverCanonical(sig, digest)
	if err != nil {
		return refuse("signature", "%v", err)
	}
	if signer != s["signer"] {
		return refuse("signature", "the signature was not made by signature.signer over this record")
	}
	return nil
}

func checkCaseNumber(cert map[string]any) *StepError {
	open, ok := cert["case_number"].(map[string]any)
	if !ok {
		return nil
	}
	text := open["text"].(string)
	normal, err := NormaliseCaseNumber(text)
	if err != nil {
		return refuse("case_number", "%v", err)
	}
	if normal != text {
		return refuse("case_number", "the case number is not in normal form")
	}
	salt, _ := hexBytes(open["salt"].(string), 32)
	digest := "0x" + fmt.Sprintf("%x", keccak(salt, []byte(text)))
	if digest != cert["record"].(map[string]any)["case_number_digest"] {
		return refuse("case_number", "the case number and salt do not open case_number_digest")
	}
	return nil
}

// NotaryLeaf is section 4.2's leaf of (digest, nonce).
func NotaryLeaf(digest, nonce []byte) []byte {
	return keccak(keccak(digest, nonce))
}

// ProcessProof folds the sorted-pair Merkle proof.
func ProcessProof(leaf []byte, proof [][]byte) []byte {
	node := leaf
	for _, sib := range proof {
		if bytes.Compare(node, sib) <= 0 {
			node = keccak(node, sib)
		} else {
			node = keccak(sib, node)
		}
	}
	return node
}

func checkProof(cert map[string]any) *StepError {
	n, ok := cert["notary"].(map[string]any)
	if !ok {
		return nil
	}
	digest, _ := hexBytes(n["digest"].(string), 32)
	nonce, _ := hexBytes(n["nonce"].(string), 32)
	var proof [][]byte
	for _, p := range n["proof"].([]any) {
		b, _ := hexBytes(p.(string), 32)
		proof = append(proof, b)
	}
	root := ProcessProof(NotaryLeaf(digest, nonce), proof)
	if "0x"+fmt.Sprintf("%x", root) != cert["record"].(map[string]any)["root"] {
		return refuse("proof", "the Merkle proof does not lead to record.root")
	}
	return nil
}

func checkDocument(cert map[string]any, document []byte) *StepError {
	if document == nil {
		return nil
	}
	var certified any
	switch cert["kind"] {
	case "judgment":
		certified = cert["record"].(map[string]any)["document_digest"]
	case "notarized_digest":
		certified = cert["notary"].(map[string]any)["digest"]
	default:
		return refuse("document", "a %v certifies no document", cert["kind"])
	}
	sum := sha256.Sum256(document)
	if "0x"+fmt.Sprintf("%x", sum[:]) != certified {
		return refuse("document", "the document's SHA-256 is not the certified digest")
	}
	return nil
}
