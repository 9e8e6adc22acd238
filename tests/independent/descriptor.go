package independentverifier

import (
	"fmt"
	"strconv"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Descriptor is a network descriptor (section 5) whose signature recovered to
// the pinned governor.
type Descriptor struct {
	ChainID   string            // decimal
	Contracts map[string]string // name -> EIP-55 address
	Body      string            // the RFC 8785 body that was signed
}

func compileSchema(path string) (*jsonschema.Schema, error) {
	return jsonschema.NewCompiler().Compile(path)
}

// personalSignDigest is EIP-191 version 0x45 over body.
func personalSignDigest(body []byte) []byte {
	prefix := "\x19Ethereum Signed Message:\n" + strconv.Itoa(len(body))
	return keccak([]byte(prefix), body)
}

// TrustDescriptor checks a descriptor against its schema, EIP-55 addresses,
// and its signature against pinnedGovernor (obtained out of band).
func TrustDescriptor(schemaPath string, descriptorJSON []byte, pinnedGovernor string) (*Descriptor, error) {
	sch, err := compileSchema(schemaPath)
	if err != nil {
		return nil, err
	}
	v, err := ParseStrict(descriptorJSON)
	if err != nil {
		return nil, fmt.Errorf("descriptor: %v", err)
	}
	if err := sch.Validate(v); err != nil {
		return nil, fmt.Errorf("descriptor does not follow its schema: %v", err)
	}
	obj := v.(map[string]any)
	if _, err := parseChecksummed(pinnedGovernor); err != nil {
		return nil, fmt.Errorf("pinned governor: %v", err)
	}
	if obj["governor"] != pinnedGovernor {
		return nil, fmt.Errorf("descriptor names governor %v, not the pinned one", obj["governor"])
	}
	d := &Descriptor{ChainID: fmt.Sprint(obj["chain_id"]), Contracts: map[string]string{}}
	for name, c := range obj["contracts"].(map[string]any) {
		addr := c.(map[string]any)["address"].(string)
		if _, err := parseChecksummed(addr); err != nil {
			return nil, fmt.Errorf("descriptor contract %s: %v", name, err)
		}
		d.Contracts[name] = addr
	}
	sigHex := obj["signature"].(string)
	body := map[string]any{}
	for k, val := range obj {
		if k != "signature" {
			body[k] = val
		}
	}
	d.Body, err = Canonical(body)
	if err != nil {
		return nil, fmt.Errorf("descriptor body: %v", err)
	}
	sig, err := hexBytes(sigHex, 65)
	if err != nil {
		return nil, fmt.Errorf("descriptor signature: %v", err)
	}
	signer, err := recoverCanonical(sig, personalSignDigest([]byte(d.Body)))
	if err != nil {
		return nil, fmt.Errorf("descriptor signature: %v", err)
	}
	if signer != pinnedGovernor {
		return nil, fmt.Errorf("descriptor is signed by %s, not by the pinned governor", signer)
	}
	return d, nil
}
