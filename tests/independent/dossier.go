package independentverifier

import (
	"encoding/json"
	"fmt"
	"math/big"
)

// Section 2.7: a judgment's dossier. Its EIP-712 type, in the judgment's domain.
const dossierType = "Dossier(bytes32 judgmentId,bool byDefault,bytes32 completeCopy,bytes32 proofOfService,bytes32 translationsRoot,uint32 sequence)"

// checkDossierFormat: section 2.7's rules checked at step format (the schema
// has already run): the signer EIP-55 (section 2.1); translations in ascending language order, each once; a
// default judgment has a proof of service; the dossier's block is not before
// the judgment's, and as_of not before the dossier's.
func checkDossierFormat(cert map[string]any) *StepError {
	d, ok := cert["dossier"].(map[string]any)
	if !ok {
		return nil
	}
	if _, err := parseChecksummed(d["signature"].(map[string]any)["signer"].(string)); err != nil {
		return refuse("format", "dossier.signature.signer: %v", err)
	}
	previous := ""
	for i, t := range d["translations"].([]any) {
		language := t.(map[string]any)["language"].(string)
		if i > 0 && !(previous < language) {
			return refuse("format", "dossier translations are not sorted by language, or a language appears twice")
		}
		previous = language
	}
	if _, present := d["proof_of_service"]; d["by_default"] == true && !present {
		return refuse("format", "a default judgment's dossier has no proof of service")
	}
	tx := cert["transaction"].(map[string]any)
	dtx := d["transaction"].(map[string]any)
	if num(dtx["block_number"]).Cmp(num(tx["block_number"])) < 0 {
		return refuse("format", "the dossier's block is before the judgment's")
	}
	if num(d["as_of"].(map[string]any)["block_number"]).Cmp(num(dtx["block_number"])) < 0 {
		return refuse("format", "the dossier's as_of is before its own transaction")
	}
	return nil
}

// TranslationsRoot is section 2.7's root: 32 zero bytes for none, else
// keccak256 over keccak256(utf8(language)) || digest per translation, in the
// listed (ascending) order.
func TranslationsRoot(translations []any) []byte {
	if len(translations) == 0 {
		return make([]byte, 32)
	}
	var parts [][]byte
	for _, t := range translations {
		m := t.(map[string]any)
		digest, _ := hexBytes(m["digest"].(string), 32)
		parts = append(parts, keccak([]byte(m["language"].(string))), digest)
	}
	return keccak(parts...)
}

// checkDossier: step dossier (section 4), the filing court's canonical
// signature over the Dossier struct recovers to dossier.signature.signer.
func checkDossier(cert map[string]any) *StepError {
	d, ok := cert["dossier"].(map[string]any)
	if !ok {
		return nil
	}
	recordID, _ := hexBytes(cert["record_id"].(string), 32)
	copyDigest, _ := hexBytes(d["complete_copy"].(string), 32)
	service := make([]byte, 32)
	if s, present := d["proof_of_service"].(string); present {
		service, _ = hexBytes(s, 32)
	}
	byDefault := big.NewInt(0)
	if d["by_default"] == true {
		byDefault = big.NewInt(1)
	}
	sequence, _ := new(big.Int).SetString(string(d["sequence"].(json.Number)), 10)
	structHash := keccak(keccak([]byte(dossierType)), recordID, byDefault.FillBytes(make([]byte, 32)), copyDigest,
		service, TranslationsRoot(d["translations"].([]any)), sequence.FillBytes(make([]byte, 32)))
	network := cert["network"].(map[string]any)
	contract, _ := parseChecksummed(network["contract"].(string))
	sep := domainSeparator(network["contract_name"].(string), network["chain_id"].(json.Number), contract)
	s := d["signature"].(map[string]any)
	sig, _ := hexBytes(s["value"].(string), 65)
	signer, err := recoverCanonical(sig, keccak([]byte{0x19, 0x01}, sep, structHash))
	if err != nil {
		return refuse("dossier", "%v", err)
	}
	if signer != s["signer"] {
		return refuse("dossier", "%s", fmt.Sprintf("the dossier signature recovers to %s, not to its signer", signer))
	}
	return nil
}
