package independentverifier

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const (
	goldenDir  = "../golden"
	schemasDir = "../../docs/schemas"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// goldenNetwork is tests/golden/certificates/network.json: the descriptor and
// the governor the verifier pinned out of band (see DOUBTS.md, network.json).
func goldenNetwork(t *testing.T) (descriptor []byte, governor string) {
	t.Helper()
	var wrapper struct {
		GovernorPinned string          `json:"governor_pinned"`
		Descriptor     json.RawMessage `json:"descriptor"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(goldenDir, "certificates", "network.json")), &wrapper); err != nil {
		t.Fatal(err)
	}
	if wrapper.GovernorPinned == "" || len(wrapper.Descriptor) == 0 {
		t.Fatal("network.json has no governor_pinned or descriptor")
	}
	return wrapper.Descriptor, wrapper.GovernorPinned
}

// vectorFiles lists the JSON files of tests/golden/<dir> but the one named skip.
func vectorFiles(t *testing.T, dir, skip string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(goldenDir, dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors in %s: %v", dir, err)
	}
	var out []string
	for _, f := range files {
		if filepath.Base(f) != skip {
			out = append(out, f)
		}
	}
	return out
}

func trusted(t *testing.T) *Descriptor {
	t.Helper()
	descriptor, governor := goldenNetwork(t)
	d, err := TrustDescriptor(filepath.Join(schemasDir, "network-descriptor.schema.json"), descriptor, governor)
	if err != nil {
		t.Fatalf("the golden descriptor is not trusted: %v", err)
	}
	return d
}

func verifier(t *testing.T) *Verifier {
	t.Helper()
	v, err := NewVerifier(filepath.Join(schemasDir, "certificate-v2.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestGoldenDescriptorIsSignedByThePinnedGovernor(t *testing.T) {
	d := trusted(t)
	if d.ChainID != "31337" || d.Contracts["JudgmentRegistry"] != "0x1111111111111111111111111111111111111111" {
		t.Fatalf("unexpected descriptor content %+v", d)
	}
}

func TestDescriptorSignedByAnotherKeyIsRefused(t *testing.T) {
	descriptor, _ := goldenNetwork(t)
	// The descriptor's own governor field must equal the pin, and the
	// signature must recover to it: pinning the golden certificates' court
	// signer instead must fail.
	_, err := TrustDescriptor(filepath.Join(schemasDir, "network-descriptor.schema.json"), descriptor,
		"0xdB00079cad3e665853Bf766eFe26F4C38cdbdCDA")
	if err == nil {
		t.Fatal("a descriptor was trusted under a governor that did not sign it")
	}
}

func TestRenamedDescriptorNoLongerRecoversTheGovernor(t *testing.T) {
	descriptor, governor := goldenNetwork(t)
	renamed := strings.Replace(string(descriptor), "中国法院网络 golden", "中国法院网络 golden2", 1)
	if renamed == string(descriptor) {
		t.Fatal("the golden descriptor's name changed: update this test")
	}
	if _, err := TrustDescriptor(filepath.Join(schemasDir, "network-descriptor.schema.json"), []byte(renamed), governor); err == nil {
		t.Fatal("a descriptor with a changed name kept the governor's signature")
	}
}

func TestGoldenDescriptorBodyIsRFC8785(t *testing.T) {
	descriptor, _ := goldenNetwork(t)
	v, err := ParseStrict(descriptor)
	if err != nil {
		t.Fatal(err)
	}
	obj := v.(map[string]any)
	delete(obj, "signature")
	body, err := Canonical(obj)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(body, `{"chain_id":31337,"contracts":{"CourtRegistry":{"address":"0x5555555555555555555555555555555555555555","artifact_digest":"0x`) {
		t.Fatalf("members not sorted or not compact: %s", body[:120])
	}
	if !strings.Contains(body, `"name":"中国法院网络 golden"`) {
		t.Fatal("the name is not written as its UTF-8 bytes")
	}
	if strings.ContainsAny(body, " \n") && !strings.Contains(body, "网络 golden") {
		t.Fatal("white space outside strings")
	}
}

func TestCanonicalJSONOrdersByUTF16AndEscapesOnlyControls(t *testing.T) {
	// RFC 8785 section 3.2.3: ordering by UTF-16 code units puts U+1D11E
	// (surrogates D834 DD1E) before U+FB33, although it is the larger code point.
	v, err := ParseStrict([]byte(`{"\ufb33":1,"\ud834\udd1e":2,"a\u0001\n\"\\/é":3}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Canonical(v)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\"a\\u0001\\n\\\"\\\\/é\":3,\"\U0001D11E\":2,\"\uFB33\":1}"
	if got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestGoldenCertificatesVerifyOffline(t *testing.T) {
	v, d := verifier(t), trusted(t)
	document := readFile(t, filepath.Join(goldenDir, "certificates", "document.bin"))
	expected := map[string][]string{
		"judgment.json":              {"format", "network", "signature", "case_number", "document"},
		"judgment_with_dossier.json": {"format", "network", "signature", "case_number", "dossier", "document"},
		"enforcement_case.json":      {"format", "network", "signature"},
		"defaulter_status.json":      {"format", "network", "signature"},
		"notarized_digest.json":      {"format", "network", "signature", "proof", "document"},
	}
	seen := 0
	for _, f := range vectorFiles(t, "certificates", "network.json") {
		name := filepath.Base(f)
		seen++
		want, known := expected[name]
		if !known {
			t.Errorf("%s: a golden certificate this test does not know", name)
			continue
		}
		var doc []byte
		if want[len(want)-1] == "document" {
			doc = document
		}
		res, err := v.Verify(readFile(t, f), d, doc)
		if err != nil {
			t.Errorf("%s refused: %v", name, err)
			continue
		}
		if strings.Join(res.Passed, ",") != strings.Join(want, ",") {
			t.Errorf("%s passed %v, want %v", name, res.Passed, want)
		}
	}
	if seen != len(expected) {
		t.Fatalf("found %d golden certificates, expected %d", seen, len(expected))
	}
}

type forgedVector struct {
	Forgery     string          `json:"forgery"`
	Mode        string          `json:"mode"`
	Step        string          `json:"step"`
	Document    bool            `json:"document"`
	Certificate json.RawMessage `json:"certificate"`
	// CertificateText, when present, is the exact text to verify (a JSON
	// text a parsed object cannot hold: a duplicate member, 1.0, -0).
	CertificateText *string `json:"certificate_text"`
}

func TestEveryOfflineForgeryIsRefusedAtItsStep(t *testing.T) {
	v, d := verifier(t), trusted(t)
	document := readFile(t, filepath.Join(goldenDir, "certificates", "document.bin"))
	count := 0
	for _, f := range vectorFiles(t, "forged", "online.json") {
		name := filepath.Base(f)
		var vec forgedVector
		if err := json.Unmarshal(readFile(t, f), &vec); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if vec.Mode != "offline" {
			t.Errorf("%s: mode %q in a file of offline vectors", name, vec.Mode)
			continue
		}
		count++
		var doc []byte
		if vec.Document {
			doc = document
		}
		text := []byte(vec.Certificate)
		if vec.CertificateText != nil {
			text = []byte(*vec.CertificateText)
		}
		_, err := v.Verify(text, d, doc)
		if err == nil {
			t.Errorf("%s (%s) was accepted", name, vec.Forgery)
			continue
		}
		if err.Step != vec.Step {
			t.Errorf("%s (%s) refused at %s, the vector says %s: %v", name, vec.Forgery, err.Step, vec.Step, err)
			continue
		}
		t.Logf("%s refused at %s: %s", name, err.Step, err.Msg)
	}
	if count < 17 {
		t.Fatalf("only %d offline forged vectors found", count)
	}
}

// online.json holds transformations that need a live chain; this verifier is
// offline, so each is listed here and must say so itself.
func TestOnlineForgeriesAreListedAndOnlineOnly(t *testing.T) {
	listed := []string{"block_time_plus_one", "case_omits_actions", "case_points_at_action",
		"dossier_points_at_judgment_transaction", "dossier_signed_by_another_courts_key",
		"dossier_superseded_presented_as_latest",
		"judgment_points_at_status_change", "listing_claims_extension", "listing_hides_removal",
		"retired_key_block_time_moved_back", "rewritten_history_after_later_actions"}
	onlineSteps := map[string]bool{"chain": true, "signer": true, "record": true, "dossier_chain": true,
		"status": true}
	var vectors map[string]struct {
		Mode string `json:"mode"`
		Step string `json:"step"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(goldenDir, "forged", "online.json")), &vectors); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(vectors))
	for name, vec := range vectors {
		names = append(names, name)
		if vec.Mode != "online" || !onlineSteps[vec.Step] {
			t.Errorf("%s: mode %q step %q is not an online-only vector", name, vec.Mode, vec.Step)
		}
	}
	sort.Strings(names)
	if strings.Join(names, ",") != strings.Join(listed, ",") {
		t.Fatalf("online vectors %v, this verifier skips exactly %v", names, listed)
	}
}

func TestDescriptorVectors(t *testing.T) {
	files := vectorFiles(t, "descriptors", "")
	for _, f := range files {
		var vec struct {
			GovernorPinned string          `json:"governor_pinned"`
			Descriptor     json.RawMessage `json:"descriptor"`
			Trusted        bool            `json:"trusted"`
		}
		if err := json.Unmarshal(readFile(t, f), &vec); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		_, err := TrustDescriptor(filepath.Join(schemasDir, "network-descriptor.schema.json"), vec.Descriptor, vec.GovernorPinned)
		if vec.Trusted && err != nil {
			t.Errorf("%s: refused: %v", filepath.Base(f), err)
		}
		if !vec.Trusted && err == nil {
			t.Errorf("%s: trusted, the vector says refused", filepath.Base(f))
		}
	}
	if len(files) < 4 {
		t.Fatalf("only %d descriptor vectors", len(files))
	}
}
