package independentverifier

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
)

// integerText is the only number spelling accepted: no fraction, no exponent,
// no leading zeros (see DOUBTS.md, "integers written 1.0 or 1e3").
var integerText = regexp.MustCompile(`^(0|-?[1-9][0-9]*)$`)

// ParseStrict decodes one JSON value into map[string]any, []any, string,
// json.Number, bool or nil. It refuses duplicate member names, numbers that
// are not plain integers, and anything after the value.
func ParseStrict(data []byte) (any, error) {
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
