package independentverifier

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// integerText is the only number spelling accepted: no fraction, no exponent,
// no leading zeros (see DOUBTS.md, "integers written 1.0 or 1e3").
var integerText = regexp.MustCompile(`^(0|-?[1-9][0-9]*)$`)

// ParseStrict decodes one JSON value into map[string]any, []any, string,
// json.Number, bool or nil. It refuses duplicate member names, numbers that
// are not plain integers, and anything after the value.
//
// It also refuses text that is not well-formed UTF-8 and any \uD800-\uDFFF
// escape not in a high-low pair (section 2.6): Go's decoder would replace
// both with U+FFFD silently.
func ParseStrict(data []byte) (any, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("not well-formed UTF-8")
	}
	if err := checkSurrogateEscapes(data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

func parseValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := map[string]any{}
			for dec.More() {
				keyTok, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("not JSON: %v", err)
				}
				key := keyTok.(string)
				if _, dup := obj[key]; dup {
					return nil, fmt.Errorf("member %q appears twice", key)
				}
				val, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				obj[key] = val
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("not JSON: %v", err)
			}
			return obj, nil
		case '[':
			arr := []any{}
			for dec.More() {
				val, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, val)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("not JSON: %v", err)
			}
			return arr, nil
		}
		return nil, fmt.Errorf("not JSON: unexpected %v", t)
	case json.Number:
		if !integerText.MatchString(string(t)) {
			return nil, fmt.Errorf("number %s is not a plain integer", t)
		}
		return t, nil
	default:
		return t, nil
	}
}

// checkSurrogateEscapes walks the JSON text's strings and refuses a \uXXXX
// escape of a surrogate that is not a high surrogate followed at once by a
// low one.
func checkSurrogateEscapes(data []byte) error {
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c == '\\' && i+1 < len(data) && data[i+1] == 'u' && i+5 < len(data):
			v, err := strconv.ParseUint(string(data[i+2:i+6]), 16, 16)
			if err != nil {
				return fmt.Errorf("not JSON: a bad \\u escape")
			}
			switch {
			case v >= 0xDC00 && v <= 0xDFFF:
				return fmt.Errorf("a lone surrogate escape in a string")
			case v >= 0xD800 && v <= 0xDBFF:
				if i+11 >= len(data) || data[i+6] != '\\' || data[i+7] != 'u' {
					return fmt.Errorf("a lone surrogate escape in a string")
				}
				low, err := strconv.ParseUint(string(data[i+8:i+12]), 16, 16)
				if err != nil || low < 0xDC00 || low > 0xDFFF {
					return fmt.Errorf("a lone surrogate escape in a string")
				}
				i += 11
				continue
			}
			i += 5
		case c == '\\':
			i++
		}
	}
	return nil
}
