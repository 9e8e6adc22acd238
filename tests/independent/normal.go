package independentverifier

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// isListedWhiteSpace is the list of docs/verification.md section 2.5, verbatim.
func isListedWhiteSpace(r rune) bool {
	switch {
	case r >= 0x09 && r <= 0x0D, r == 0x20, r == 0x85, r == 0xA0, r == 0x1680,
		r >= 0x2000 && r <= 0x200A, r == 0x2028, r == 0x2029, r == 0x202F,
		r == 0x205F, r == 0x3000:
		return true
	}
	return false
}

// assigned: any general category but Cn (Go's tables have no Cn table).
var assignedTables = []*unicode.RangeTable{unicode.L, unicode.M, unicode.N, unicode.P,
	unicode.S, unicode.Z, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs}

func isRefused(r rune) bool {
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Cs, unicode.Co) {
		return true
	}
	return !unicode.In(r, assignedTables...)
}

// NormaliseCaseNumber is the normal form of section 2.5: NFKC, delete the
// listed White_Space code points, refuse Cc/Cf/Cs/Co/Cn (naming the position,
// never the text), refuse an empty result.
func NormaliseCaseNumber(text string) (string, error) {
	nfkc := norm.NFKC.String(text)
	var b strings.Builder
	pos := 0
	for _, r := range nfkc {
		if isListedWhiteSpace(r) {
			continue
		}
		if isRefused(r) {
			return "", fmt.Errorf("case number: a control, format, private-use or unassigned code point at position %d (after normalisation)", pos)
		}
		b.WriteRune(r)
		pos++
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("case number: empty after normalisation")
	}
	return b.String(), nil
}
