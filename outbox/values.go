package outbox

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Attributes are directory attribute values as the server sent them. They
// are often binary (objectGUID, objectSid, thumbnailPhoto), and JSON strings
// cannot carry bytes that are not UTF-8 (encoding/json replaces them with
// U+FFFD, which silently changed every objectGUID-based anchor), so a value
// that is not valid UTF-8 is stored as {"b64": "..."}.
type Attributes map[string][]string

type binaryValue struct {
	B64 string `json:"b64"`
}

// MarshalJSON keeps text as JSON strings and bytes as base64.
func (a Attributes) MarshalJSON() ([]byte, error) {
	out := make(map[string][]any, len(a))
	for name, vals := range a {
		enc := make([]any, len(vals))
		for i, v := range vals {
			if utf8.ValidString(v) {
				enc[i] = v
			} else {
				enc[i] = binaryValue{B64: base64.StdEncoding.EncodeToString([]byte(v))}
			}
		}
		out[name] = enc
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (a *Attributes) UnmarshalJSON(b []byte) error {
	var raw map[string][]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(Attributes, len(raw))
	for name, vals := range raw {
		dec := make([]string, len(vals))
		for i, v := range vals {
			s, err := decodeValue(v)
			if err != nil {
				return fmt.Errorf("attribute %s: %w", name, err)
			}
			dec[i] = s
		}
		out[name] = dec
	}
	*a = out
	return nil
}

func decodeValue(v json.RawMessage) (string, error) {
	if len(v) > 0 && v[0] == '"' {
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	}
	var bv binaryValue
	if err := json.Unmarshal(v, &bv); err != nil {
		return "", err
	}
	b, err := base64.StdEncoding.DecodeString(bv.B64)
	return string(b), err
}
