package independentverifier

import (
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"time"
)

// Section 2.1 / section 3: how each JSON field becomes one EIP-712 word.
type fieldKind int

const (
	fNumber  fieldKind = iota // JSON number -> uintN
	fDecimal                  // decimal string -> uintN
	fBytes32                  // 0x + 64 lower-case hex
	fBytes3                   // ISO 4217 code -> bytes3, left-aligned
	fDate                     // YYYY-MM-DD -> uint40 unix time of UTC midnight
	fEnum                     // lower-case name -> uint8 index
	fMask                     // sorted list of restriction names -> uint16 bitmask
)

type field struct {
	json string
	kind fieldKind
	bits int      // width of the uint for fNumber/fDecimal/fDate/fEnum/fMask
	enum []string // names in value order, for fEnum
}

type structType struct {
	signature string
	fields    []field
}

var groundNames = []string{"none", "able_but_refuses", "obstructs_by_forgery_or_violence",
	"evades_by_false_litigation_or_hiding_assets", "violates_property_report",
	"violates_consumption_restriction", "refuses_settlement"}

var actionKindNames = []string{"notice", "property_report_order", "asset_inquiry", "freeze", "seal",
	"seize", "deduction", "valuation", "auction_listed", "auction_sold", "auction_failed",
	"payment_received", "disbursement", "settlement", "consumption_restriction",
	"defaulter_listing", "termination_no_assets", "resumption", "conclusion"}

var restrictionBits = map[string]uint64{"flights": 1, "rail": 2, "high_consumption": 4,
	"property_and_cars": 8, "loans_and_cards": 16, "company_office": 32, "public_office": 64,
	"public_bidding": 128}

var recordTypes = map[string]structType{
	"judgment": {"Judgment(uint32 court,bytes32 caseNumberDigest,bytes32 documentDigest,bytes32 partiesCommitment,uint128 amount,bytes3 currency,uint40 judgmentDate,uint40 effectiveDate)", []field{
		{"court", fNumber, 32, nil}, {"case_number_digest", fBytes32, 0, nil},
		{"document_digest", fBytes32, 0, nil}, {"parties_commitment", fBytes32, 0, nil},
		{"amount", fDecimal, 128, nil}, {"currency", fBytes3, 0, nil},
		{"judgment_date", fDate, 40, nil}, {"effective_date", fDate, 40, nil}}},
	"enforcement_case": {"Filing(uint32 court,bytes32 judgmentId,bytes32 caseNumberDigest,uint128 amountDue,uint40 filedAt)", []field{
		{"court", fNumber, 32, nil}, {"judgment_id", fBytes32, 0, nil},
		{"case_number_digest", fBytes32, 0, nil}, {"amount_due", fDecimal, 128, nil},
		{"filed_at", fDate, 40, nil}}},
	"defaulter_status": {"Listing(uint32 court,bytes32 subject,bytes32 caseId,uint8 ground,uint16 restrictions,uint40 listedAt,uint40 until)", []field{
		{"court", fNumber, 32, nil}, {"subject", fBytes32, 0, nil}, {"case_id", fBytes32, 0, nil},
		{"ground", fEnum, 8, groundNames}, {"restrictions", fMask, 16, nil},
		{"listed_at", fNumber, 40, nil}, {"until", fNumber, 40, nil}}},
	"notarized_digest": {"Anchor(uint32 court,bytes32 root,uint32 size,bytes32 metadataDigest)", []field{
		{"court", fNumber, 32, nil}, {"root", fBytes32, 0, nil}, {"size", fNumber, 32, nil},
		{"metadata_digest", fBytes32, 0, nil}}},
}

var actionType = structType{"Action(bytes32 caseId,uint32 sequence,uint8 kind,uint128 amount,uint64 detail,bytes32 documentDigest,uint8 flags)", []field{
	{"case_id", fBytes32, 0, nil}, {"sequence", fNumber, 32, nil}, {"kind", fEnum, 8, actionKindNames},
	{"amount", fDecimal, 128, nil}, {"detail", fDecimal, 64, nil},
	{"document_digest", fBytes32, 0, nil}, {"flags", fNumber, 8, nil}}}

func uintWord(n *big.Int, bits int, name string) ([]byte, error) {
	if n.Sign() < 0 || n.BitLen() > bits {
		return nil, fmt.Errorf("%s out of range for uint%d", name, bits)
	}
	return n.FillBytes(make([]byte, 32)), nil
}

// dateUnix: ISO date, 1970-01-01 or later, as the unix time of UTC midnight.
func dateUnix(s string) (int64, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return 0, fmt.Errorf("date %q is not a calendar date", s)
	}
	if t.Unix() < 0 {
		return 0, fmt.Errorf("date %q is before 1970-01-01", s)
	}
	return t.Unix(), nil
}

func encodeField(f field, v any) ([]byte, error) {
	switch f.kind {
	case fNumber:
		num, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%s must be a JSON number", f.json)
		}
		n, _ := new(big.Int).SetString(string(num), 10)
		return uintWord(n, f.bits, f.json)
	case fDecimal:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s must be a decimal string", f.json)
		}
		n, ok := new(big.Int).SetString(s, 10)
		if !ok || n.String() != s {
			return nil, fmt.Errorf("%s is not a decimal string without sign or leading zeros", f.json)
		}
		return uintWord(n, f.bits, f.json)
	case fBytes32:
		s, _ := v.(string)
		b, err := hexBytes(s, 32)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", f.json, err)
		}
		return b, nil
	case fBytes3:
		s, _ := v.(string)
		if len(s) != 3 {
			return nil, fmt.Errorf("%s is not 3 letters", f.json)
		}
		w := make([]byte, 32)
		copy(w, s)
		return w, nil
	case fDate:
		s, _ := v.(string)
		t, err := dateUnix(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", f.json, err)
		}
		return uintWord(big.NewInt(t), f.bits, f.json)
	case fEnum:
		s, _ := v.(string)
		for i, name := range f.enum {
			if name == s {
				return uintWord(big.NewInt(int64(i)), f.bits, f.json)
			}
		}
		return nil, fmt.Errorf("%s: unknown name", f.json)
	case fMask:
		list, _ := v.([]any)
		var mask uint64
		names := make([]string, 0, len(list))
		for _, e := range list {
			s, _ := e.(string)
			bit, ok := restrictionBits[s]
			if !ok {
				return nil, fmt.Errorf("%s: unknown restriction", f.json)
			}
			if mask&bit != 0 {
				return nil, fmt.Errorf("%s: a restriction is repeated", f.json)
			}
			mask |= bit
			names = append(names, s)
		}
		// "sorted ascending": by name (see DOUBTS.md, restrictions order).
		if !sort.StringsAreSorted(names) {
			return nil, fmt.Errorf("%s are not sorted", f.json)
		}
		return uintWord(new(big.Int).SetUint64(mask), f.bits, f.json)
	}
	return nil, fmt.Errorf("unknown field kind")
}

// hashStruct = keccak256(typeHash || encodeData), one word per field.
func hashStruct(t structType, obj map[string]any) ([]byte, error) {
	parts := [][]byte{keccak([]byte(t.signature))}
	for _, f := range t.fields {
		w, err := encodeField(f, obj[f.json])
		if err != nil {
			return nil, err
		}
		parts = append(parts, w)
	}
	return keccak(parts...), nil
}

// domainSeparator of section 3.
func domainSeparator(name string, chainID json.Number, contract []byte) []byte {
	typeHash := keccak([]byte("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"))
	cid, _ := new(big.Int).SetString(string(chainID), 10)
	return keccak(typeHash, keccak([]byte(name)), keccak([]byte("1")),
		cid.FillBytes(make([]byte, 32)), append(make([]byte, 12), contract...))
}
