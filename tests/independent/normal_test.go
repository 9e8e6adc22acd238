package independentverifier

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestTheDocumentsTwoSpellingsHaveOneNormalForm(t *testing.T) {
	a, err := NormaliseCaseNumber("（2016）京0102民初 1234号")
	if err != nil {
		t.Fatal(err)
	}
	b, err := NormaliseCaseNumber("(2016)京0102民初1234号")
	if err != nil {
		t.Fatal(err)
	}
	if a != b || b != "(2016)京0102民初1234号" {
		t.Fatalf("%q and %q", a, b)
	}
}

func TestEveryListedWhiteSpaceIsDeleted(t *testing.T) {
	listed := []rune{0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680,
		0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
		0x2028, 0x2029, 0x202F, 0x205F, 0x3000}
	for _, r := range listed {
		got, err := NormaliseCaseNumber("A" + string(r) + "1")
		if err != nil || got != "A1" {
			t.Errorf("U+%04X: got %q, %v; want it deleted", r, got, err)
		}
	}
}

func TestControlFormatAndUnassignedCodePointsAreRefusedNotDeleted(t *testing.T) {
	refused := []rune{0x00, 0x1C, 0x1D, 0x1E, 0x1F, 0x7F, 0xFEFF, 0x200B, 0x200D, 0x180E,
		0xE000, 0x0378, 0x10FFFF}
	for _, r := range refused {
		text := "A" + string(r) + "1"
		_, err := NormaliseCaseNumber(text)
		if err == nil {
			t.Errorf("U+%04X accepted", r)
			continue
		}
		if !strings.Contains(err.Error(), "position 1") {
			t.Errorf("U+%04X: the error does not name the position: %v", r, err)
		}
		if strings.Contains(err.Error(), "A") || strings.Contains(err.Error(), fmt.Sprintf("%c", r)) {
			t.Errorf("U+%04X: the error echoes the text: %v", r, err)
		}
	}
}

func TestOnlyWhiteSpaceIsEmptyAndRefused(t *testing.T) {
	if _, err := NormaliseCaseNumber(" \u3000\t"); err == nil {
		t.Fatal("a case number of white space only was accepted")
	}
}

// tests/golden/case_numbers.json: the vectors every verifier runs.
func TestCaseNumberVectors(t *testing.T) {
	data, err := os.ReadFile("../golden/case_numbers.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct {
		Case    string `json:"case"`
		Input   string `json:"input"`
		Normal  string `json:"normal"`
		Refused bool   `json:"refused"`
	}
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	for _, v := range vectors {
		got, err := NormaliseCaseNumber(v.Input)
		switch {
		case v.Refused && err == nil:
			t.Errorf("%s: accepted as %q", v.Case, got)
		case !v.Refused && (err != nil || got != v.Normal):
			t.Errorf("%s: got %q, %v; want %q", v.Case, got, err, v.Normal)
		case !v.Refused:
			if again, err := NormaliseCaseNumber(got); err != nil || again != got {
				t.Errorf("%s: not idempotent: %q then %q, %v", v.Case, got, again, err)
			}
		}
	}
	if len(vectors) < 10 {
		t.Fatalf("only %d case-number vectors", len(vectors))
	}
}
