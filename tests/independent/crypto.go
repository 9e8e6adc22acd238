package independentverifier

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"golang.org/x/crypto/sha3"
)

func keccak(parts ...[]byte) []byte {
	h := sha3.NewLegacyKeccak256()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// checksumAddress is EIP-55 of 20 bytes.
func checksumAddress(addr []byte) string {
	lower := hex.EncodeToString(addr)
	hash := hex.EncodeToString(keccak([]byte(lower)))
	out := []byte(lower)
	for i, c := range out {
		if c >= 'a' && c <= 'f' && hash[i] >= '8' {
			out[i] = c - 32
		}
	}
	return "0x" + string(out)
}

// parseChecksummed accepts exactly the EIP-55 spelling of an address.
func parseChecksummed(s string) ([]byte, error) {
	if len(s) != 42 || !strings.HasPrefix(s, "0x") {
		return nil, fmt.Errorf("not an address")
	}
	raw, err := hex.DecodeString(s[2:])
	if err != nil {
		return nil, fmt.Errorf("not an address")
	}
	if checksumAddress(raw) != s {
		return nil, fmt.Errorf("address %s is not EIP-55 checksummed", s)
	}
	return raw, nil
}

func hexBytes(s string, n int) ([]byte, error) {
	if !strings.HasPrefix(s, "0x") || len(s) != 2+2*n || strings.ToLower(s) != s {
		return nil, fmt.Errorf("not 0x + %d lower-case hex bytes", n)
	}
	return hex.DecodeString(s[2:])
}

var (
	curveN     = mustBig("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141")
	curveHalfN = new(big.Int).Rsh(curveN, 1)
)

func mustBig(h string) *big.Int {
	n, ok := new(big.Int).SetString(h, 16)
	if !ok {
		panic(h)
	}
	return n
}

// recoverCanonical checks section 4.1 (0<r<n, 0<s<=n/2, v in {27,28}) and
// returns the EIP-55 address that signed digest.
func recoverCanonical(sig []byte, digest []byte) (string, error) {
	if len(sig) != 65 {
		return "", fmt.Errorf("signature is not 65 bytes")
	}
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:64])
	v := sig[64]
	if r.Sign() == 0 || r.Cmp(curveN) >= 0 {
		return "", fmt.Errorf("signature r out of range")
	}
	if s.Sign() == 0 || s.Cmp(curveHalfN) > 0 {
		return "", fmt.Errorf("signature s is not low (not canonical)")
	}
	if v != 27 && v != 28 {
		return "", fmt.Errorf("signature v is not 27 or 28")
	}
	compact := append([]byte{v}, sig[:64]...)
	pub, _, err := ecdsa.RecoverCompact(compact, digest)
	if err != nil {
		return "", fmt.Errorf("signature does not recover: %v", err)
	}
	return checksumAddress(keccak(pub.SerializeUncompressed()[1:])[12:]), nil
}
