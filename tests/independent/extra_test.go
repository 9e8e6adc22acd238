package independentverifier

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestMerkleVectorsFoldToTheirRoots(t *testing.T) {
	// tests/golden/merkle_vectors.json: one-bytes32 leaves, the same sorted-pair
	// node rule as section 4.2 (its leaf encoding is not the notary's).
	var file struct {
		Vectors []struct {
			Values []string   `json:"values"`
			Root   string     `json:"root"`
			Proofs [][]string `json:"proofs"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(goldenDir, "merkle_vectors.json")), &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) == 0 {
		t.Fatal("no Merkle vectors")
	}
	for i, vec := range file.Vectors {
		for k, value := range vec.Values {
			raw, _ := hexBytes(value, 32)
			var proof [][]byte
			for _, p := range vec.Proofs[k] {
				b, _ := hexBytes(p, 32)
				proof = append(proof, b)
			}
			root := ProcessProof(keccak(keccak(raw)), proof)
			if "0x"+hex.EncodeToString(root) != vec.Root {
				t.Errorf("vector %d value %d folds to 0x%x, not %s", i, k, root, vec.Root)
			}
		}
	}
}

func goldenCertificate(t *testing.T, name string) []byte {
	return readFile(t, filepath.Join(goldenDir, "certificates", name))
}

func TestAnotherDocumentIsRefusedAtDocument(t *testing.T) {
	v, d := verifier(t), trusted(t)
	other := append(readFile(t, filepath.Join(goldenDir, "certificates", "document.bin")), 'x')
	for _, name := range []string{"judgment.json", "notarized_digest.json"} {
		_, err := v.Verify(goldenCertificate(t, name), d, other)
		if err == nil || err.Step != "document" {
			t.Errorf("%s with another document: %v, want a refusal at document", name, err)
		}
	}
}

func TestADocumentOfferedWithAListingIsRefused(t *testing.T) {
	v, d := verifier(t), trusted(t)
	doc := readFile(t, filepath.Join(goldenDir, "certificates", "document.bin"))
	_, err := v.Verify(goldenCertificate(t, "defaulter_status.json"), d, doc)
	if err == nil || err.Step != "document" {
		t.Fatalf("a listing accepted as certifying a document: %v", err)
	}
}

func TestADuplicatedMemberCannotSmuggleASecondAmount(t *testing.T) {
	v, d := verifier(t), trusted(t)
	cert := string(goldenCertificate(t, "judgment.json"))
	forged := strings.Replace(cert, `"amount": "123456789012345678901",`,
		`"amount": "123456789012345678901", "amount": "999",`, 1)
	if forged == cert {
		t.Fatal("the golden judgment changed: update this test")
	}
	_, err := v.Verify([]byte(forged), d, nil)
	if err == nil || err.Step != "format" {
		t.Fatalf("a duplicated member: %v, want a refusal at format", err)
	}
}

func TestANonIntegerNumberIsRefusedAtFormat(t *testing.T) {
	v, d := verifier(t), trusted(t)
	cert := goldenCertificate(t, "judgment.json")
	forged := bytes.Replace(cert, []byte(`"court": 110105`), []byte(`"court": 110105.0`), 1)
	_, err := v.Verify(forged, d, nil)
	if err == nil || err.Step != "format" {
		t.Fatalf("court 110105.0: %v, want a refusal at format", err)
	}
}

func TestACertificateWithoutATrustedDescriptorIsRefusedAtNetwork(t *testing.T) {
	_, err := verifier(t).Verify(goldenCertificate(t, "judgment.json"), nil, nil)
	if err == nil || err.Step != "network" {
		t.Fatalf("no descriptor: %v, want a refusal at network", err)
	}
}

func TestMinusZeroIsRefusedAtFormat(t *testing.T) {
	cert := goldenCertificate(t, "judgment.json")
	forged := bytes.Replace(cert, []byte(`"block_number": 101`), []byte(`"block_number": -0`), 1)
	_, err := verifier(t).Verify(forged, trusted(t), nil)
	if err == nil || err.Step != "format" {
		t.Fatalf("block_number -0: %v, want a refusal at format", err)
	}
}

func TestADateThatIsNotOnTheCalendarIsRefusedAtFormat(t *testing.T) {
	cert := goldenCertificate(t, "judgment.json")
	forged := bytes.Replace(cert, []byte(`"effective_date": "2016-06-15"`), []byte(`"effective_date": "2016-06-31"`), 1)
	_, err := verifier(t).Verify(forged, trusted(t), nil)
	if err == nil || err.Step != "format" || !strings.Contains(err.Msg, "calendar") {
		t.Fatalf("2016-06-31: %v, want a refusal at format naming the calendar", err)
	}
}

func TestAHundredThousandDeepDocumentIsRefusedAtFormat(t *testing.T) {
	cert := string(goldenCertificate(t, "judgment.json"))
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	forged := strings.Replace(cert, `"version": 2`, `"version": 2, "padding": `+deep, 1)
	_, err := verifier(t).Verify([]byte(forged), trusted(t), nil)
	if err == nil || err.Step != "format" {
		t.Fatalf("a 100,000-deep member: %v, want a refusal at format", err)
	}
}

func TestMalformedUTF8AndLoneSurrogateEscapesAreRefusedAtFormat(t *testing.T) {
	v, d := verifier(t), trusted(t)
	golden := readFile(t, filepath.Join(goldenDir, "certificates", "judgment.json"))
	for name, bad := range map[string][]byte{
		"malformed UTF-8":      bytes.Replace(golden, []byte("京"), []byte{0xff}, 1),
		"an encoded surrogate": bytes.Replace(golden, []byte("京"), []byte{0xed, 0xa0, 0x80}, 1),
		"a lone low escape":    bytes.Replace(golden, []byte("京"), []byte(`\udc00`), 1),
		"a high escape alone":  bytes.Replace(golden, []byte("京"), []byte(`\ud800x`), 1),
	} {
		if _, err := v.Verify(bad, d, nil); err == nil || err.Step != "format" {
			t.Errorf("%s: %v, want a refusal at format", name, err)
		}
	}
	pair := bytes.Replace(golden, []byte("京"), []byte(`\ud83d\ude00`), 1)
	if _, err := v.Verify(pair, d, nil); err == nil || err.Step != "case_number" {
		t.Errorf("a surrogate pair escape must parse (then fail to open the digest): %v", err)
	}
}
