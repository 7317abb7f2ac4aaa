package directory

import (
	"fmt"
	"strings"
)

// FormatGUID returns the canonical string form of an AD objectGUID: 16 raw
// bytes whose first three fields are little-endian, printed as
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx in lower case (what `<GUID=...>`
// base DNs and PowerShell show).
func FormatGUID(b []byte) (string, error) {
	if len(b) != 16 {
		return "", fmt.Errorf("directory: objectGUID has %d bytes, want 16", len(b))
	}
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]), nil
}

// ParseGUID is the inverse of FormatGUID: the 16 raw bytes of a GUID string.
func ParseGUID(s string) ([]byte, error) {
	hex := strings.ReplaceAll(s, "-", "")
	if len(hex) != 32 {
		return nil, fmt.Errorf("directory: %q is not a GUID", s)
	}
	var raw [16]byte
	for i := range raw {
		if _, err := fmt.Sscanf(hex[2*i:2*i+2], "%02x", &raw[i]); err != nil {
			return nil, fmt.Errorf("directory: %q is not a GUID", s)
		}
	}
	b := raw[:]
	return []byte{b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]}, nil
}
